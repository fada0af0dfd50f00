#!/usr/bin/env bash
# Phone error rate (PER) of a word decode: the best paths' phones against the forced alignments of the
# transcripts, word-position suffixes and SIL removed (as the Kaldi reference run scores PER; its phone
# bigram decoder was too slow there too). Needs <decode-dir>/ali.*.int (steps/decode.sh) and
# <decode-dir>/../final.mdl. Writes <decode-dir>/scoring_per/per.

echo "$0 $@"
[ -f ./path.sh ] && . ./path.sh
if [ $# -ne 3 ]; then
  echo "Usage: $0 <lang-dir> <ref-ali-dir> <decode-dir>
e.g.: $0 data/lang exp/kaldi_ali_dev exp/dgmm/decode_dev" >&2
  exit 1
fi
lang=$1
alidir=$2
dir=$3
set -euo pipefail
for f in "$lang/phones.txt" "$alidir/final.mdl" "$alidir/ali.1.gz" "$dir/../final.mdl"; do
  [ -f "$f" ] || { echo "$0: expected file $f to exist" >&2; exit 1; }
done
mkdir -p "$dir/log"
python3 local/score_per.py "$lang" "$alidir" "$dir" 2> "$dir/log/score_per.log" || {
  echo "$0: failed, see $dir/log/score_per.log:" >&2; tail -n 5 "$dir/log/score_per.log" >&2; exit 1; }
