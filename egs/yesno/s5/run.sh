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
gmm=${kaldi_ali:-exp/mono}       # the GMM system: graph, GMM baseline decode and test alignments

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
    if todo data/fbank/$x/.done data/$x/.prepared; then
      utils/copy_data_dir.sh data/$x data/fbank/$x
      steps/make_fbank.sh --nj $nj --cmd "$train_cmd" --fbank-config conf/fbank.conf \
        data/fbank/$x exp/make_fbank/$x fbank
      steps/compute_cmvn_stats.sh data/fbank/$x exp/make_fbank/$x fbank
      utils/validate_data_dir.sh data/fbank/$x
      touch data/fbank/$x/.done
    fi
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

if run_stage 3; then
  log "Stage 3: GMM-HMM system ($gmm): monophone training, alignment, graph, GMM baseline decode"
  if [ -z "$kaldi_ali" ] && todo exp/mono/final.mdl data/lang_test/G.fst; then
    steps/train_mono.sh --nj $nj --cmd "$train_cmd" --totgauss 400 data/$train data/lang exp/mono
  fi
  if [ -z "$kaldi_ali" ] && todo exp/mono_ali/ali.1.gz exp/mono/final.mdl; then
    steps/align_si.sh --nj $nj --cmd "$train_cmd" data/$train data/lang exp/mono exp/mono_ali
  fi
  if todo exp/gmm_ali_test/ali.1.gz $gmm/final.mdl; then  # test alignments: test-set state accuracy
    steps/align_si.sh --nj $nj --cmd "$train_cmd" data/$test data/lang $gmm exp/gmm_ali_test
  fi
  if todo exp/graph/HCLG.fst $gmm/final.mdl data/lang_test/G.fst; then
    utils/mkgraph.sh data/lang_test $gmm exp/graph
  fi
  if todo exp/gmm_decode_$test/scoring_kaldi/best_wer exp/graph/HCLG.fst; then
    steps/decode_gmm.sh --nj $nj --cmd "$decode_cmd" --model $gmm/final.mdl \
      exp/graph data/$test exp/gmm_decode_$test
  fi
fi

if run_stage 4; then
  log "Stage 4: import CD-state alignments (pdf-ids) for the fbank data"
  ali_src=${kaldi_ali:-exp/mono_ali}
  if todo exp/ali_train/pdf_ali.scp $ali_src/final.mdl data/fbank/$train/.done; then
    steps/import_ali.sh --lang data/lang $ali_src data/fbank/$train exp/ali_train
  fi
  if todo exp/ali_test/pdf_ali.scp exp/gmm_ali_test/ali.1.gz data/fbank/$test/.done; then
    steps/import_ali.sh --lang data/lang exp/gmm_ali_test data/fbank/$test exp/ali_test
  fi
fi

if run_stage 5; then
  log "Stage 5: DNN baseline"
  if todo exp/dnn/final.pt exp/ali_train/pdf_ali.scp; then
    steps/train_dnn.sh --nnet-config conf/dnn.yaml --num-threads 1 data/fbank/$train exp/ali_train exp/dnn
  fi
fi

if run_stage 6; then
  log "Stage 6: Deep GMM initialised from the DNN, then joint training"
  if todo exp/dgmm/init.pt exp/dnn/final.pt; then
    rm -f exp/dgmm/final.pt exp/dgmm/checkpoint.pt
    steps/init_dgmm.sh --nnet-config conf/dgmm.yaml --num-threads 1 data/fbank/$train exp/ali_train exp/dnn exp/dgmm
  fi
  if todo exp/dgmm/final.pt exp/dgmm/init.pt; then
    steps/train_dgmm.sh --nnet-config conf/dgmm.yaml --num-threads 1 data/fbank/$train exp/ali_train exp/dgmm
  fi
fi

if run_stage 7; then
  log "Stage 7: state priors (DNN: training counts; the DGMM's GMM layer gives likelihoods itself)"
  if todo exp/dnn/prior.vec exp/dnn/final.pt; then
    steps/compute_prior.sh --method counts exp/ali_train exp/dnn
  fi
fi

if run_stage 8; then
  log "Stage 8: WFST-ready log-likelihood archives, decoding and scoring"
  for sys in dnn dgmm; do
    d=exp/$sys/decode_$test
    if todo $d/scoring_kaldi/best_wer exp/$sys/final.pt exp/graph/HCLG.fst; then
      rm -f $d/loglikes.scp
      steps/make_loglikes.sh --nj $nj --cmd "$decode_cmd" data/fbank/$test exp/$sys $d
      steps/decode.sh --nj $nj --cmd "$decode_cmd" exp/graph data/fbank/$test $d
    fi
  done
fi

if run_stage 9; then
  log "Stage 9: results"
  for sys in dnn dgmm; do
    if todo exp/$sys/frame_accuracy.$test exp/$sys/final.pt exp/ali_test/pdf_ali.scp; then
      python3 -m dgmm.bin.frame_accuracy data/fbank/$test exp/ali_test exp/$sys > /dev/null
    fi
  done
  python3 -m dgmm.bin.results_table --test-set $test --gmm-model $gmm/final.mdl \
    "GMM-HMM ($gmm)=exp/gmm_decode_$test" exp/dnn exp/dgmm | tee RESULTS.local.md
fi

log "Done (stages $stage..$stop_stage)"
