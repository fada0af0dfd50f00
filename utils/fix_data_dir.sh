#!/usr/bin/env bash
# Sorts every table of a Kaldi data dir (LC_ALL=C) and keeps only the utterances present in all
# of utt2spk, text, feats.scp, utt2dur, utt2num_frames and wav.scp/segments; spk2utt, cmvn.scp and
# wav.scp are reduced to what remains. The originals are kept in <data-dir>/.backup/.
# Logic: dgmm/data/datadir.py (fix_data_dir).

usage="Usage: $0 <data-dir>
e.g.: $0 data/train"
[ $# -eq 1 ] || { echo "$usage" >&2; exit 1; }
[ -f "$1/utt2spk" ] || { echo "$0: no such file $1/utt2spk" >&2; exit 1; }
. "$(dirname "$(readlink -f "$0")")/../path.sh"
exec python3 -m dgmm.bin.fix_data_dir "$1"
