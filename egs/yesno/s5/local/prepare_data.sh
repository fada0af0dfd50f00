#!/usr/bin/env bash
# Prepares data/train_yesno and data/test_yesno from the yesno corpus folder, split as Kaldi's
# egs/yesno/s5 does: the sorted listing of the folder (61 entries including README) is cut in
# half, the first half is train, the rest test; entries that are not .wav (README) are dropped, as
# Kaldi's utils/fix_data_dir.sh drops them there. 30 train, 30 test utterances, one speaker
# "global"; the utterance id is the file name, its digits the transcript (1 = YES, 0 = NO).

if [ $# -ne 1 ]; then
  echo "Usage: $0 <waves-dir>" >&2
  echo "e.g.: $0 downloads/waves_yesno" >&2
  exit 1
fi
set -euo pipefail
export LC_ALL=C
waves_dir=$(cd "$1" && pwd)
ls "$waves_dir"/*.wav >/dev/null 2>&1 || { echo "$0: no .wav files in $waves_dir" >&2; exit 1; }

mkdir -p data/local
ls -1 "$waves_dir" | sort > data/local/waves_all.list
n=$(wc -l < data/local/waves_all.list)
head -n $((n / 2)) data/local/waves_all.list > data/local/waves.train
tail -n +$((n / 2 + 1)) data/local/waves_all.list > data/local/waves.test

for x in train test; do
  d=data/${x}_yesno
  rm -rf "$d"; mkdir -p "$d"
  awk -v dir="$waves_dir" '/\.wav$/ { u = $1; sub(/\.wav$/, "", u); print u, dir "/" $1 }' \
    data/local/waves.$x > "$d/wav.scp"
  awk '{ n = split($1, d, "_"); s = $1
         for (i = 1; i <= n; i++) s = s " " (d[i] == "1" ? "YES" : "NO"); print s }' "$d/wav.scp" > "$d/text"
  awk '{ print $1, "global" }' "$d/wav.scp" > "$d/utt2spk"
  utils/utt2spk_to_spk2utt.pl "$d/utt2spk" > "$d/spk2utt"
  echo "$0: $d: $(wc -l < "$d/utt2spk") utterances"
done
