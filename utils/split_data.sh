#!/usr/bin/env bash
# Splits a Kaldi data dir into <num-to-split> parts <data>/split<N>/{1..N}, whole speakers per part
# (balanced by utterance count), or with --per-utt into <data>/split<N>utt/{1..N}. Every table is
# split consistently (spk2utt regenerated, cmvn.scp and wav.scp reduced). The parts are reused while
# the data dir's tables have the contents they were made from (sha1s in <data>/split<N>[utt]/.sources;
# stricter than Kaldi's mtime test); a table the data dir no longer has is removed from the parts.
# Logic: dgmm/data/datadir.py (split_data_dir).

usage="Usage: $0 [--per-utt] <data-dir> <num-to-split>
e.g.: $0 data/train 4"
opts=()
while [ $# -gt 0 ]; do
  case "$1" in
    --per-utt) opts+=(--per-utt); shift ;;
    --*) echo "$0: unknown option $1" >&2; echo "$usage" >&2; exit 1 ;;
    *) break ;;
  esac
done
[ $# -eq 2 ] || { echo "$usage" >&2; exit 1; }
[ -f "$1/utt2spk" ] || { echo "$0: no such file $1/utt2spk" >&2; exit 1; }
. "$(dirname "$(readlink -f "$0")")/../path.sh"
exec python3 -m dgmm.bin.split_data "${opts[@]}" "$1" "$2"
