#!/usr/bin/env bash
# Usage: utils/copy_data_dir.sh <src-data-dir> <dest-data-dir>
# Copies a Kaldi data dir's tables (as Kaldi's utils/copy_data_dir.sh without the prefix/suffix
# options), e.g. to make features of another kind for the same utterances (data/fbank/train).
if [ $# -ne 2 ]; then
  echo "Usage: $0 <src-data-dir> <dest-data-dir>" >&2
  echo "e.g.: $0 data/train data/fbank/train" >&2
  exit 1
fi
set -euo pipefail
src=$1; dest=$2
[ -f "$src/utt2spk" ] || { echo "$0: no such file $src/utt2spk" >&2; exit 1; }
mkdir -p "$dest"
for f in wav.scp text utt2spk spk2utt segments utt2dur utt2uniq spk2gender reco2file_and_channel feats.scp cmvn.scp \
         utt2num_frames; do
  if [ -f "$src/$f" ]; then cp "$src/$f" "$dest/$f"; fi
done
echo "$0: copied data from $src to $dest"
