#!/usr/bin/env bash
# Phone error rate (PER) of a word decode: the best paths' phones against the forced alignments of the
# transcripts, word-position suffixes and SIL removed (as the Kaldi reference run scores PER; its phone
# bigram decoder was too slow there too). Needs <decode-dir>/ali.*.int (steps/decode.sh) and the
# decode's model (default <decode-dir>/../final.mdl). Writes <decode-dir>/scoring_per/per.

# Begin configuration section.
model=               # model of the decode; default <decode-dir>/../final.mdl
# End configuration section.

echo "$0 $@"
[ -f ./path.sh ] && . ./path.sh
help_message="Usage: $0 [--model <mdl>] <lang-dir> <ref-ali-dir> <decode-dir>
e.g.: $0 data/lang exp/kaldi_ali_dev exp/dgmm/decode_dev"
. utils/parse_options.sh || exit 1
if [ $# -ne 3 ]; then
  echo "$help_message" >&2
  exit 1
fi
lang=$1
alidir=$2
dir=$3
set -euo pipefail
[ -z "$model" ] && model=$dir/../final.mdl
for f in "$lang/phones.txt" "$alidir/final.mdl" "$alidir/ali.1.gz" "$model"; do
  [ -f "$f" ] || { echo "$0: expected file $f to exist" >&2; exit 1; }
done
mkdir -p "$dir/log"
python3 local/score_per.py --model "$model" "$lang" "$alidir" "$dir" 2> "$dir/log/score_per.log" || {
  echo "$0: failed, see $dir/log/score_per.log:" >&2; tail -n 5 "$dir/log/score_per.log" >&2; exit 1; }
