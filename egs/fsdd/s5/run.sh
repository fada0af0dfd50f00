#!/usr/bin/env bash
# Free Spoken Digit Dataset (isolated digits, 8 kHz, 6 male speakers) through the Deep GMM pipeline.
# Speaker-disjoint, as the compiled-Kaldi reference run (../shared/kaldi_ref/fsdd): test speaker theo,
# the other five train (the networks cross-validate on 10% of the original utterances picked at random,
# each with all its speed-perturbed copies: conf/*.yaml).
# Grammar: exactly one digit per utterance, optional silence around it (from L).
# The networks train on 3-way speed-perturbed data (0.9/1.0/1.1, data/train_sp, as Kaldi's nnet3
# recipes; --sp-factors for others) aligned by the tri1 GMM of data/train: 5 training speakers are too
# few otherwise.
#   ./run.sh --corpus-dir /path/to/free-spoken-digit-dataset            # GMM bootstrap: mono + tri1
#   ./run.sh --corpus-dir DIR --kaldi-ali /path/to/kaldi/exp/tri1_ali    # Kaldi's alignments instead
# A finished stage is skipped; delete an output (or --force true) to redo it and what follows.

# Begin configuration section.
stage=0
stop_stage=100
corpus_dir=          # FSDD repository folder (recordings/*.wav); empty: download into downloads/
kaldi_ali=           # Kaldi alignment dir of data/train to import instead of training GMMs
force=false          # redo stages even when their outputs are up to date
speed_perturb=true   # networks on data/train_sp (speed-perturbed data/train); ignored with --kaldi-ali
sp_factors="0.9 1.0 1.1"   # speeds of data/train_sp (Kaldi's 3-way; 5-way did not help, RESULTS.md)
nj=2                 # parallel jobs
dnn_config=conf/dnn.yaml
dgmm_config=conf/dgmm.yaml
# End configuration section.

. ./cmd.sh || exit 1
. ./path.sh || exit 1
help_message="Usage: $0 [--stage N] [--stop-stage N] [--corpus-dir DIR] [--kaldi-ali DIR] [--force true]
       [--speed-perturb false] [--sp-factors \"0.9 0.95 1.0 1.05 1.1\"] [--dnn-config YAML] [--dgmm-config YAML] [--nj N]
e.g.: $0 --corpus-dir /path/to/free-spoken-digit-dataset"
. utils/parse_options.sh || exit 1
set -euo pipefail

url=https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/tags/v1.0.10.tar.gz
log() { echo "$(date '+%Y-%m-%d %H:%M:%S') ($(basename "$0"):${BASH_LINENO[0]}) $*"; }
todo() { $force || ! utils/uptodate.sh "$@"; }
run_stage() { [ $stage -le $1 ] && [ $stop_stage -ge $1 ]; }
[ -n "$kaldi_ali" ] && speed_perturb=false   # a Kaldi alignment dir covers data/train only

if run_stage 0; then
  log "Stage 0: data/train (5 speakers) and data/test (theo)"
  if todo data/test/.prepared; then
    if [ -z "$corpus_dir" ]; then
      utils/download_and_untar.sh $url downloads
      corpus_dir=downloads/free-spoken-digit-dataset-1.0.10
    fi
    local/prepare_data.py --test-speakers theo "$corpus_dir" data
    for x in train test; do utils/validate_data_dir.sh --no-feats data/$x; done
    touch data/train/.prepared data/test/.prepared
  fi
  # One speaker id for the copies of a speaker (--include-spk-prefix false): speaker CMN pools them.
  # utt2uniq (copied to data/fbank/train_sp) keeps all copies of an utterance on one side of the CV.
  # data/local/sp_factors changes only with --sp-factors, which then redoes train_sp and what follows
  # (a train_sp made before the option existed was 3-way).
  mkdir -p data/local
  if [ -f data/train_sp/.done ] && [ ! -f data/local/sp_factors ]; then
    echo "0.9 1.0 1.1" > data/local/sp_factors; touch -r data/train_sp/.done data/local/sp_factors
  fi
  { [ -f data/local/sp_factors ] && [ "$(cat data/local/sp_factors)" = "$sp_factors" ]; } \
    || echo "$sp_factors" > data/local/sp_factors
  if $speed_perturb && todo data/train_sp/.done data/train/.prepared data/local/sp_factors; then
    rm -rf data/train_sp
    utils/data/perturb_data_dir_speed_nway.sh --factors "$sp_factors" --include-spk-prefix false \
      data/train data/train_sp
    touch data/train_sp/.done
  fi
fi

if run_stage 1; then
  log "Stage 1: fbank features and CMVN stats in data/fbank/ (the GMM stages make MFCCs themselves)"
  for x in train test $($speed_perturb && echo train_sp); do
    steps/make_fbank_cmvn.sh --nj $nj --cmd "$train_cmd" --force $force data/$x data/fbank/$x
  done
fi

if run_stage 2; then
  log "Stage 2: dict, lang and the one-digit grammar"
  if todo data/lang_test/G.fst data/train/.prepared local/lexicon_words.txt; then
    python3 -m dgmm.bin.prepare_dict --lexicon local/lexicon_words.txt --oov "<UNK>" data/train/text data/local/dict
    utils/prepare_lang.sh data/local/dict "<UNK>" data/local/lang data/lang
    utils/format_lm.sh --grammar isolated data/lang data/lang_test
  fi
fi

# Stages 3-9: GMM bootstrap (or --kaldi-ali import) -> DNN -> DGMM -> priors -> archives -> WER.
pipeline=(steps/dgmm_pipeline.sh --force $force --nj $nj --cmd "$train_cmd" --test-sets test
          --dnn-config $dnn_config --dgmm-config $dgmm_config)
if ! $speed_perturb; then
  if [ $stop_stage -ge 3 ]; then
    "${pipeline[@]}" --stage $stage --stop-stage $stop_stage --train train \
      --mono-opts "--totgauss 400" --tri "120 1000" ${kaldi_ali:+--kaldi-ali "$kaldi_ali"}
  fi
else
  # Stage 3 on data/train: mono + tri1, test alignments, graph, GMM baseline. Then tri1 aligns
  # data/train_sp, and stages 4-9 train the networks on those alignments (exp/tri1_ali_sp/final.mdl is
  # tri1's, so the GMM row is tri1's decode of the test set).
  if run_stage 3; then
    "${pipeline[@]}" --stage 3 --stop-stage 3 --train train --mono-opts "--totgauss 400" --tri "120 1000"
    if todo exp/tri1_ali_sp/ali.1.gz exp/tri1/final.mdl data/train_sp/.done; then
      steps/align_si.sh --nj $nj --cmd "$train_cmd" data/train_sp data/lang exp/tri1 exp/tri1_ali_sp
    fi
  fi
  if [ $stop_stage -ge 3 ]; then
    "${pipeline[@]}" --stage $stage --stop-stage $stop_stage --train train_sp --kaldi-ali exp/tri1_ali_sp \
      --graph exp/graph --gmm-label "GMM-HMM (exp/tri1)"
  fi
fi

log "Done (stages $stage..$stop_stage)"
