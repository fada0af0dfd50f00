#!/usr/bin/env bash
# Kaldi's yesno task (one speaker saying 8 words "yes"/"no"; 30 train / 30 test utterances) with
# the Deep GMM toolkit. Stages are resumable: a finished stage is skipped when run again.
#   ./run.sh                                     # everything, downloading the corpus when online
#   ./run.sh --corpus-dir /path/to/waves_yesno --stop-stage 1

# Begin configuration section.
stage=0
stop_stage=100
corpus_dir=          # folder with the yesno .wav files; empty: download into downloads/
nj=2                 # parallel jobs for feature extraction
# End configuration section.

. ./cmd.sh || exit 1
. ./path.sh || exit 1
help_message="Usage: $0 [--stage N] [--stop-stage N] [--corpus-dir DIR] [--nj N]
e.g.: $0 --corpus-dir ../../../../shared/kaldi_ref/yesno/waves_yesno --stop-stage 1"
. utils/parse_options.sh || exit 1
set -euo pipefail

url=http://www.openslr.org/resources/1/waves_yesno.tar.gz
log() { echo "$(date '+%Y-%m-%d %H:%M:%S') ($(basename "$0"):${BASH_LINENO[0]}) $*"; }

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  log "Stage 0: prepare data/train_yesno and data/test_yesno"
  if [ -f data/train_yesno/.prepared ] && [ -f data/test_yesno/.prepared ]; then
    log "Stage 0: already done (remove data/*_yesno/.prepared to redo)"
  else
    if [ -z "$corpus_dir" ]; then
      log "Stage 0: downloading $url (if not yet in downloads/)"
      local/download_data.sh $url downloads
      corpus_dir=downloads/waves_yesno
    fi
    [ -d "$corpus_dir" ] || { echo "$0: corpus dir $corpus_dir not found" >&2; exit 1; }
    local/prepare_data.sh "$corpus_dir"
    for x in train_yesno test_yesno; do
      utils/validate_data_dir.sh --no-feats data/$x
      touch data/$x/.prepared
    done
  fi
fi

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  log "Stage 1: fbank features and CMVN stats"
  for x in train_yesno test_yesno; do
    if [ -f data/$x/.feats.done ]; then
      log "Stage 1: data/$x already done (remove data/$x/.feats.done to redo)"
      continue
    fi
    steps/make_fbank.sh --nj $nj --cmd "$train_cmd" --fbank-config conf/fbank.conf \
      data/$x exp/make_fbank/$x fbank
    steps/compute_cmvn_stats.sh data/$x exp/make_fbank/$x fbank
    utils/validate_data_dir.sh data/$x
    touch data/$x/.feats.done
  done
fi

log "Done (stages $stage..$stop_stage)"
