#!/usr/bin/env bash
# Scores a decode directory like Kaldi's steps/scoring/score_kaldi_wer.sh: the WER of every LM weight
# (--min-lmwt..--max-lmwt) and word insertion penalty, wer_<LMWT>_<WIP> files, scoring_kaldi/best_wer
# ("%WER x.xx [ e / n, i ins, d del, s sub ] <dir>/wer_L_W"), and NIST sclite reports (.sys/.pra/.dtl,
# scoring_kaldi/sclite/) for the chosen setting when sclite is installed.
# Hypotheses: Kaldi lattices lat.*.gz (needs KALDI_ROOT: lattice-scale | lattice-add-penalty |
# lattice-best-path) or the 1-best files onebest/<LMWT>_<WIP>.*.int of steps/decode.sh's pip-port path.
# Text filters as Kaldi: local/wer_output_filter (both), local/wer_ref_filter, local/wer_hyp_filter.
# Subword decodes (<lang-or-graph-dir>/subword_boundary.txt, utils/prepare_lang_subword.sh): the decoded
# pieces are joined to words before the filters, so the WER is on words.
# --dev-decode-dir takes LMWT/WIP from the dev set's best_wer instead of tuning on this set.

# Begin configuration section.
cmd=run.pl            # job runner
min_lmwt=7            # smallest LM weight
max_lmwt=17           # largest LM weight
word_ins_penalty=0.0,0.5,1.0  # word insertion penalties
dev_decode_dir=       # choose the setting on this (dev) decode dir
sclite=auto           # auto|true|false: sclite reports
# End configuration section.

echo "$0 $@"  # Print the command line for logging.

[ -f ./path.sh ] && . ./path.sh
help_message="Usage: $0 [options] <data-dir> <lang-or-graph-dir> <decode-dir>
Options:
  --min-lmwt <n>           # ($min_lmwt)
  --max-lmwt <n>           # ($max_lmwt)
  --word-ins-penalty <list>  # ($word_ins_penalty)
  --dev-decode-dir <dir>   # choose LMWT/WIP on a dev decode
  --sclite <auto|true|false> # ($sclite)
e.g.: $0 data/test exp/mono/graph exp/mono/decode_test"
. utils/parse_options.sh || exit 1

if [ $# -ne 3 ]; then
  echo "$help_message" >&2
  exit 1
fi
data=$1
lang_or_graph=$2
dir=$3
set -euo pipefail

for f in "$data/text" "$lang_or_graph/words.txt"; do
  if [ ! -f "$f" ]; then echo "$0: no such file $f" >&2; exit 1; fi
done
if [ -n "$dev_decode_dir" ] && [ ! -f "$dev_decode_dir/scoring_kaldi/best_wer" ]; then
  echo "$0: no such file $dev_decode_dir/scoring_kaldi/best_wer (score the dev set first)" >&2; exit 1
fi
mkdir -p "$dir/log"

ref_filter=cat; hyp_filter=cat
[ -x local/wer_output_filter ] && ref_filter=local/wer_output_filter && hyp_filter=local/wer_output_filter
[ -x local/wer_ref_filter ] && ref_filter=local/wer_ref_filter
[ -x local/wer_hyp_filter ] && hyp_filter=local/wer_hyp_filter

if ls "$dir"/lat.*.gz >/dev/null 2>&1; then
  command -v lattice-best-path >/dev/null || {
    echo "$0: $dir has Kaldi lattices but lattice-best-path is not on PATH (set KALDI_ROOT)" >&2; exit 1; }
  mkdir -p "$dir/onebest"
  for wip in ${word_ins_penalty//,/ }; do
    $cmd LMWT=$min_lmwt:$max_lmwt "$dir/log/best_path.LMWT.$wip.log" \
      lattice-scale --inv-acoustic-scale=LMWT "ark:gunzip -c $dir/lat.*.gz|" ark:- \| \
      lattice-add-penalty --word-ins-penalty=$wip ark:- ark:- \| \
      lattice-best-path ark:- ark,t:"$dir/onebest/LMWT_$wip.1.int"
  done
fi

opts=(--min-lmwt "$min_lmwt" --max-lmwt "$max_lmwt" --word-ins-penalty "$word_ins_penalty"
      --ref-filter "$ref_filter" --hyp-filter "$hyp_filter" --sclite "$sclite")
[ -n "$dev_decode_dir" ] && opts+=(--dev-decode-dir "$dev_decode_dir")
$cmd "$dir/log/score.log" python -m dgmm.bin.score "${opts[@]}" "$data" "$lang_or_graph" "$dir" || {
  echo "$0: scoring failed; see $dir/log/score.log" >&2
  grep -h ERROR "$dir/log/score.log" >&2 || true
  exit 1
}
cat "$dir/scoring_kaldi/best_wer"
