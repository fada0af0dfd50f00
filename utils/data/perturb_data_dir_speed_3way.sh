#!/usr/bin/env bash
# Standard 3-way speed perturbation of a data dir, as Kaldi's utils/data/perturb_data_dir_speed_3way.sh:
# <destdir> holds <srcdir> at speeds 1.0 (original ids), 0.9 and 1.1 (ids prefixed sp0.9- / sp1.1-,
# audio piped through "sox ... speed <f>"), with utt2dur and utt2uniq. Make features for it afterwards.
# Options as perturb_data_dir_speed_nway.sh (--always-include-prefix, --include-spk-prefix).
usage="Usage: $0 [--always-include-prefix <true|false>] [--include-spk-prefix <true|false>] <srcdir> <destdir>
Applies standard 3-way speed perturbation using factors of 0.9, 1.0 and 1.1.
e.g.: $0 data/train data/train_sp"
for a in "$@"; do
  [ "$a" = --factors ] && { echo "$0: --factors is not an option here (use perturb_data_dir_speed_nway.sh)" >&2; exit 1; }
done
[ $# -ge 2 ] && [ $(( $# % 2 )) -eq 0 ] || { echo "$usage" >&2; exit 1; }
exec "$(dirname "$(readlink -f "$0")")/perturb_data_dir_speed_nway.sh" --factors "0.9 1.0 1.1" "$@"
