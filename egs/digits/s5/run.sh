#!/usr/bin/env bash
# Synthetic connected digits (the `make demo` recipe): a corpus synthesised here with espeak-ng, no
# download, through the whole Deep GMM pipeline. Each speaker is an espeak-ng accent + voice variant
# with its own speaking rate, pitch and word gap; utterances are 1-7 digit words with additive noise
# at a random SNR; train and test speakers are disjoint (one in five training speakers is held out for
# cross-validation by the networks' configs). Grammar: a loop over the ten digit words with optional
# silence between them (no LM: digit strings are uniformly random).
#   ./run.sh                                              # everything (9 minutes on a busy 2-core machine)
#   ./run.sh --num-train-speakers 8 --utts-per-speaker 10 --stop-stage 2   # a small corpus, data only
# A finished stage is skipped; delete an output (or --force true) to redo it and what follows.
# Changing a synthesis option synthesises a new corpus (and so redoes every later stage).

# Begin configuration section.
stage=0
stop_stage=100
force=false               # redo stages even when their outputs are up to date
nj=2                      # parallel jobs
num_train_speakers=32     # synthetic training speakers (accent + voice variant pairs)
num_test_speakers=10      # synthetic test speakers, disjoint from the training ones
utts_per_speaker=20       # utterances per speaker (1-7 digits each)
snr_range=0,20            # min,max SNR in dB of the additive noise
seed=777                  # synthesis seed (speakers, digit strings, noise)
mono_opts="--totgauss 500"   # steps/train_mono.sh options
tri="200 2000"            # triphone system: <num-leaves> <tot-gauss>; empty: monophone only
num_threads=1            # torch threads per training process (more only help on an idle machine)
dnn_config=conf/dnn.yaml
dgmm_config=conf/dgmm.yaml
decode_opts="--min-lmwt 10 --max-lmwt 14 --word-ins-penalty 0.0,1.0"   # steps/decode.sh scoring grid
# End configuration section.

. ./cmd.sh || exit 1
. ./path.sh || exit 1
help_message="Usage: $0 [--stage N] [--stop-stage N] [--force true] [--num-train-speakers N]
       [--num-test-speakers N] [--utts-per-speaker N] [--snr-range LO,HI] [--seed N]
       [--mono-opts OPTS] [--tri 'LEAVES GAUSS'] [--dnn-config YAML] [--dgmm-config YAML]
       [--nj N] [--num-threads N] [--decode-opts OPTS]
e.g.: $0 --num-train-speakers 10 --num-test-speakers 3 --utts-per-speaker 12"
. utils/parse_options.sh || exit 1
set -euo pipefail

command -v espeak-ng > /dev/null || { echo "$0: espeak-ng not found (apt-get install espeak-ng)" >&2; exit 1; }
log() { echo "$(date '+%Y-%m-%d %H:%M:%S') ($(basename "$0"):${BASH_LINENO[0]}) $*"; }
todo() { $force || ! utils/uptodate.sh "$@"; }
run_stage() { [ $stage -le $1 ] && [ $stop_stage -ge $1 ]; }

synth_opts="--num-train-speakers $num_train_speakers --num-test-speakers $num_test_speakers"
synth_opts+=" --utts-per-speaker $utts_per_speaker --snr-range $snr_range --seed $seed"

if run_stage 0; then
  log "Stage 0: synthesise data/train ($num_train_speakers speakers) and data/test ($num_test_speakers)"
  if $force || ! [ -f data/test/.prepared ] || [ "$(cat data/local/synth_opts 2>/dev/null)" != "$synth_opts" ]; then
    rm -rf data/audio data/train data/test   # a new corpus: no stale audio under the same names
    mkdir -p data/local
    # shellcheck disable=SC2086
    local/synth_digits.py $synth_opts data/audio data
    for x in train test; do utils/validate_data_dir.sh --no-feats data/$x; done
    echo "$synth_opts" > data/local/synth_opts
    touch data/train/.prepared data/test/.prepared
  fi
fi

if run_stage 1; then
  log "Stage 1: fbank features and CMVN stats in data/fbank/ (the GMM stages make MFCCs themselves)"
  for x in train test; do
    steps/make_fbank_cmvn.sh --nj $nj --cmd "$train_cmd" --force $force data/$x data/fbank/$x
  done
fi

if run_stage 2; then
  log "Stage 2: dict, lang and the digit-loop grammar"
  if todo data/lang_test/G.fst data/train/.prepared local/lexicon_words.txt; then
    python3 -m dgmm.bin.prepare_dict --lexicon local/lexicon_words.txt --oov "<UNK>" data/train/text data/local/dict
    utils/prepare_lang.sh data/local/dict "<UNK>" data/local/lang data/lang
    utils/format_lm.sh --grammar loop data/lang data/lang_test
  fi
fi

# Stages 3-9: GMM bootstrap (mono + tri1) -> DNN -> DGMM -> priors -> archives -> WER. The scoring grid
# ($decode_opts) is narrowed for every system: the pip decoder re-decodes once per setting.
if [ $stop_stage -ge 3 ]; then
  steps/dgmm_pipeline.sh --stage $stage --stop-stage $stop_stage --force $force --nj $nj --cmd "$train_cmd" \
    --train train --test-sets test --mono-opts "$mono_opts" ${tri:+--tri "$tri"} --num-threads $num_threads \
    --dnn-config $dnn_config --dgmm-config $dgmm_config --decode-opts "$decode_opts"
fi

log "Done (stages $stage..$stop_stage)"
