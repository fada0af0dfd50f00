#!/usr/bin/env bash
# Kaldi's yesno task (one speaker saying 8 words "yes"/"no"; 30 train / 30 test utterances) through the
# whole Deep GMM pipeline: data -> fbank -> lang -> GMM-HMM bootstrap (or Kaldi alignments) -> import
# -> DNN -> DGMM initialised from the DNN -> joint training -> priors -> log-likelihood archives ->
# decode -> score. A finished stage is skipped (its output is newer than its inputs); delete an output
# to redo that stage and the stages after it, or pass --force true.
#   ./run.sh                                            # everything, downloading the corpus when online
#   ./run.sh --corpus-dir /path/to/waves_yesno --stop-stage 1
#   ./run.sh --kaldi-ali /path/to/kaldi/egs/yesno/s5/exp/mono0a_ali   # Kaldi's alignments, no GMM training

# Begin configuration section.
stage=0
stop_stage=100
corpus_dir=          # folder with the yesno .wav files; empty: download into downloads/
kaldi_ali=           # Kaldi alignment dir (ali.*.gz, final.mdl, tree) to import instead of our GMM bootstrap
force=false          # redo stages even when their outputs are up to date
nj=1                 # parallel jobs (yesno has one speaker: data dirs split by speaker allow 1)
# End configuration section.

. ./cmd.sh || exit 1
. ./path.sh || exit 1
help_message="Usage: $0 [--stage N] [--stop-stage N] [--corpus-dir DIR] [--kaldi-ali DIR] [--force true]
e.g.: $0 --corpus-dir ../../../../shared/kaldi_ref/yesno/waves_yesno"
. utils/parse_options.sh || exit 1
set -euo pipefail

url=http://www.openslr.org/resources/1/waves_yesno.tar.gz
log() { echo "$(date '+%Y-%m-%d %H:%M:%S') ($(basename "$0"):${BASH_LINENO[0]}) $*"; }
# todo <output> <inputs...>: true when the stage must run (output missing or older than an input)
todo() { $force || ! utils/uptodate.sh "$@"; }
run_stage() { [ $stage -le $1 ] && [ $stop_stage -ge $1 ]; }

train=train_yesno
test=test_yesno

if run_stage 0; then
  log "Stage 0: prepare data/$train and data/$test"
  if ! $force && [ -f data/$train/.prepared ] && [ -f data/$test/.prepared ]; then
    log "Stage 0: already done (remove data/*_yesno/.prepared to redo)"
  else
    if [ -z "$corpus_dir" ]; then
      corpus_dir=downloads/waves_yesno
      [ -d "$corpus_dir" ] || local/download_data.sh "$url" downloads
    fi
    [ -d "$corpus_dir" ] || { echo "$0: corpus dir $corpus_dir not found" >&2; exit 1; }
    local/prepare_data.sh "$corpus_dir"
    for x in $train $test; do
      utils/validate_data_dir.sh --no-feats data/$x
      touch data/$x/.prepared
    done
  fi
fi

if run_stage 1; then
  log "Stage 1: fbank features and CMVN stats in data/fbank/ (the GMM stages make MFCCs themselves)"
  for x in $train $test; do
    steps/make_fbank_cmvn.sh --nj $nj --cmd "$train_cmd" --force $force data/$x data/fbank/$x
  done
fi

if run_stage 2; then
  log "Stage 2: lang dir and a unigram LM of the training transcripts"
  if todo data/lang_test/G.fst data/$train/.prepared; then
    local/prepare_dict.sh
    utils/prepare_lang.sh --position-dependent-phones false data/local/dict "<SIL>" data/local/lang data/lang
    mkdir -p data/local/lm
    python3 -m dgmm.bin.make_ngram_lm --order 1 data/$train/text data/local/lm/lm_1g.arpa
    utils/format_lm.sh data/lang data/local/lm/lm_1g.arpa data/lang_test
  fi
fi

# Stages 3-9: GMM bootstrap (or --kaldi-ali import) -> DNN -> DGMM -> priors -> archives -> WER.
if [ $stop_stage -ge 3 ]; then
  steps/dgmm_pipeline.sh --stage $stage --stop-stage $stop_stage --force $force --nj $nj --cmd "$train_cmd" \
    --train $train --test-sets $test --mono-opts "--totgauss 400" ${kaldi_ali:+--kaldi-ali "$kaldi_ali"}
fi

log "Done (stages $stage..$stop_stage)"
