#!/usr/bin/env bash
# Copies a Kaldi data dir restricted to a subset of its utterances (all tables kept consistent); a
# table that an existing <dest-data> has and <src-data> does not is removed from <dest-data>.
# Logic: dgmm/data/datadir.py (subset_data_dir).

usage="Usage: $0 [--first|--last|--shortest] <src-data> <num-utts> <dest-data>
   or: $0 --utt-list <utt-list> <src-data> <dest-data>
Without --first/--last/--shortest the utterances are spread evenly over the data dir.
e.g.: $0 --shortest data/train 500 data/train_500short"
opts=()
while [ $# -gt 0 ]; do
  case "$1" in
    --first|--last|--shortest) opts+=("$1"); shift ;;
    --utt-list) opts+=(--utt-list "$2"); shift 2 ;;
    --*) echo "$0: unknown option $1" >&2; echo "$usage" >&2; exit 1 ;;
    *) break ;;
  esac
done
[ $# -eq 2 ] || [ $# -eq 3 ] || { echo "$usage" >&2; exit 1; }
[ -f "$1/utt2spk" ] || { echo "$0: no such file $1/utt2spk" >&2; exit 1; }
. "$(dirname "$(readlink -f "$0")")/../path.sh"
exec python3 -m dgmm.bin.subset_data_dir "${opts[@]}" "$@"
