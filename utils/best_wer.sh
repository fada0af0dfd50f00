#!/usr/bin/env bash
# Prints the line with the lowest %WER (or %SER) of its input, as Kaldi's utils/best_wer.sh; input lines
# are compute-wer lines, optionally prefixed "<file>:" by grep, and the file name is moved to the end:
#   grep WER exp/mono/decode_test/wer_* | utils/best_wer.sh
#   -> %WER 1.40 [ 7 / 500, 0 ins, 0 del, 7 sub ] exp/mono/decode_test/wer_17_0.0
# The first of equal WERs wins.

if [ $# -ne 0 ]; then
  echo "Usage: grep WER <decode-dir>/wer_* | $0" >&2
  echo "e.g.: for x in exp/*/decode*; do grep WER \$x/wer_* | $0; done" >&2
  exit 1
fi
awk '{
  line = $0; file = "";
  if (match(line, /^[^ ]*:%[WS]ER /)) { i = index(line, ":%"); file = substr(line, 1, i - 1); line = substr(line, i + 1); }
  if (line !~ /^%[WS]ER /) next;
  split(line, f, " ");
  if (!seen || f[2] + 0 < best) { best = f[2] + 0; seen = 1; out = (file == "" ? line : line " " file); }
} END { if (seen) print out; }'
