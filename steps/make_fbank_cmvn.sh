#!/usr/bin/env bash
# Makes the network-input copy of a data dir, as Kaldi nnet1 recipes do (data-fbank/): copies
# <src-data-dir>'s tables to <dest-data-dir>, computes 40-dim log-mel fbank there (steps/make_fbank.sh)
# and per-speaker CMVN stats (steps/compute_cmvn_stats.sh), validates it and marks it <dest>/.done.
# Skipped when <dest>/.done is newer than the source wav.scp/utt2spk and the fbank config.

# Begin configuration section.
nj=4                           # parallel jobs
cmd=run.pl                     # job runner
fbank_config=conf/fbank.conf   # Kaldi-style fbank options
force=false                    # redo even when up to date
# End configuration section.

echo "$0 $@"  # Print the command line for logging.
[ -f ./path.sh ] && . ./path.sh
help_message="Usage: $0 [options] <src-data-dir> <dest-data-dir> [<log-dir> [<fbank-dir>]]
 <log-dir> defaults to exp/make_fbank/<name of dest>, <fbank-dir> (archives) to fbank.
Options:
  --nj <n>                   # parallel jobs ($nj)
  --cmd <run.pl|queue.pl>    # job runner ($cmd)
  --fbank-config <file>      # ($fbank_config)
  --force <true|false>       # ($force)
e.g.: $0 --nj 2 data/train data/fbank/train"
. utils/parse_options.sh || exit 1

if [ $# -lt 2 ] || [ $# -gt 4 ]; then
  echo "$help_message" >&2
  exit 1
fi
src=$1
dest=$2
logdir=${3:-exp/make_fbank/$(basename "$dest")}
fbankdir=${4:-fbank}
set -euo pipefail

for f in "$src/wav.scp" "$src/utt2spk" "$fbank_config"; do
  [ -f "$f" ] || { echo "$0: expected file $f to exist" >&2; exit 1; }
done
if ! $force && utils/uptodate.sh "$dest/.done" "$src/wav.scp" "$src/utt2spk" "$fbank_config"; then
  echo "$0: $dest is up to date"
  exit 0
fi
rm -f "$dest/.done"
utils/copy_data_dir.sh "$src" "$dest"
steps/make_fbank.sh --nj "$nj" --cmd "$cmd" --fbank-config "$fbank_config" "$dest" "$logdir" "$fbankdir"
steps/compute_cmvn_stats.sh "$dest" "$logdir" "$fbankdir"
utils/validate_data_dir.sh "$dest"
touch "$dest/.done"
