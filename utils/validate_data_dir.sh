#!/usr/bin/env bash
# Checks that a Kaldi data dir is consistent: every table sorted (LC_ALL=C) with unique keys,
# spk2utt the inverse of utt2spk, text / wav.scp (or segments) / feats.scp / utt2dur /
# utt2num_frames covering exactly the utterances of utt2spk, cmvn.scp covering the speakers.
# Logic: dgmm/data/datadir.py (validate_data_dir).

usage="Usage: $0 [--no-feats] [--no-text] [--no-wav] <data-dir>
e.g.: $0 data/train"
opts=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-feats|--no-text|--no-wav) opts+=("$1"); shift ;;
    --non-print|--no-spk-sort) shift ;;   # Kaldi options without an equivalent check here
    --*) echo "$0: unknown option $1" >&2; echo "$usage" >&2; exit 1 ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || { echo "$usage" >&2; exit 1; }
. "$(dirname "$(readlink -f "$0")")/../path.sh"
exec python3 -m dgmm.bin.validate_data_dir "${opts[@]}" "$1"
