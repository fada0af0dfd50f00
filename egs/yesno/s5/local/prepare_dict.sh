#!/usr/bin/env bash
# Writes data/local/dict for yesno: two words with one-phone pronunciations and silence, as Kaldi's
# egs/yesno/s5/local/prepare_dict.sh (no spoken-noise phone: the corpus has no out-of-vocabulary words).
set -euo pipefail
dir=data/local/dict
mkdir -p $dir
printf '<SIL> SIL\nYES Y\nNO N\n' > $dir/lexicon.txt
printf 'SIL\n' > $dir/silence_phones.txt
printf 'SIL\n' > $dir/optional_silence.txt
printf 'Y\nN\n' > $dir/nonsilence_phones.txt
: > $dir/extra_questions.txt
echo "$0: wrote $dir"
