#!/usr/bin/env bash
# From an existing Kaldi recipe to DNN and Deep GMM decodes with the Kaldi system's own graph.
# Give it your Kaldi data dirs, lang dir, the training-set alignments of a GMM system and that system's
# graph; it copies them into data/ and exp/ here (your Kaldi tree is only read) and runs
#   0  copy of the data dirs (wav.scp paths and pipes resolved in --kaldi-dir); consistency checks of
#      lang, alignments and graph (pdf counts, transition-ids, phone sets, test-set alignability)
#   1  40-dim log-mel fbank + per-speaker CMVN stats for the networks (data/fbank/<set>)
#   2  copies of the lang dir, alignment dirs and graph (data/lang, exp/kaldi_ali_<set>, exp/graph)
#   3  test-set alignments with your model where --kaldi-test-ali gives none (MFCC + delta GMMs only)
#   4  import of the alignments as pdf-ids    5  DNN    6  Deep GMM    7  priors
#   8  log-likelihood archives, decode with your HCLG.fst, score    9  state accuracy, results table
#   10 your Kaldi system's WER beside ours (--kaldi-decode-dirs)
# Stages 3-9 are steps/dgmm_pipeline.sh (--kaldi-ali, --graph, --gmm-decode false).
#   K=/kaldi/egs/myrecipe/s5
#   ./run.sh --train-dir $K/data/train --test-dirs $K/data/test --lang-dir $K/data/lang \
#            --ali-dir $K/exp/tri3_ali --graph-dir $K/exp/tri3/graph
# A finished stage is skipped; delete an output (or --force true) to redo it and what follows.

# Begin configuration section.
stage=0
stop_stage=100
train_dir=           # Kaldi data dir of the training set (wav.scp, text, utt2spk), e.g. K/data/train
test_dirs=           # Kaldi data dir(s) of the test sets, space-separated, e.g. "K/data/dev K/data/test"
lang_dir=            # Kaldi lang dir of the alignments and graph, e.g. K/data/lang
ali_dir=             # Kaldi alignments of the training set (ali.*.gz, final.mdl, tree), e.g. K/exp/tri3_ali
graph_dir=           # Kaldi decoding graph of the same model (HCLG.fst, words.txt), e.g. K/exp/tri3/graph
kaldi_dir=           # Kaldi recipe dir: relative wav.scp paths and pipe commands are resolved there
                     # (default: two levels above --train-dir, i.e. K for K/data/train)
kaldi_test_ali=      # "<set>=<ali-dir> ...": Kaldi alignments of test sets (<set> = basename of its data dir);
                     # test sets without them are aligned here with <ali-dir>/final.mdl (MFCC + delta GMMs);
                     # <set>=none: not aligned (no test-set state accuracy, e.g. for an LDA/SAT system)
kaldi_decode_dirs=   # "<set>=<decode-dir> ...": your Kaldi system's decodes, for stage 10
fbank_config=conf/fbank.conf  # fbank options: --sample-frequency must be your audio's rate
dnn_config=conf/dnn.yaml      # DNN configuration
dgmm_config=conf/dgmm.yaml    # Deep GMM configuration
decode_opts=         # steps/decode.sh options for the networks, e.g. "--acwt 0.0833 --beam 13"
num_threads=1        # torch threads per training process
nj=4                 # parallel jobs (test sets: at most one per speaker)
force=false          # redo stages even when their outputs are up to date
# End configuration section.

echo "$0 $@"
. ./cmd.sh || exit 1
. ./path.sh || exit 1
help_message="Usage: $0 [options] --train-dir <data-dir> --test-dirs '<data-dir> ...' --lang-dir <lang-dir> \\
         --ali-dir <ali-dir> --graph-dir <graph-dir>
Runs DNN and Deep GMM training on a Kaldi system's alignments and decodes with its graph.
Options:
  --train-dir <dir>            # Kaldi data dir of the training set (required)
  --test-dirs '<dir> ...'      # Kaldi data dirs of the test sets (required)
  --lang-dir <dir>             # Kaldi lang dir (required)
  --ali-dir <dir>              # Kaldi alignments of the training set, e.g. exp/tri3_ali (required)
  --graph-dir <dir>            # Kaldi graph of the same model, e.g. exp/tri3/graph (required)
  --kaldi-dir <dir>            # where wav.scp's relative paths/pipes run (default: two levels above --train-dir)
  --kaldi-test-ali '<set>=<dir> ...'     # Kaldi alignments of test sets (else aligned here: MFCC+delta GMMs only;
                                         # <set>=none: no test-set state accuracy)
  --kaldi-decode-dirs '<set>=<dir> ...'  # your Kaldi decodes, WER printed beside ours (stage 10)
  --fbank-config <file>        # fbank options; sample rate of your audio ($fbank_config)
  --dnn-config <yaml> --dgmm-config <yaml>  # networks ($dnn_config, $dgmm_config)
  --decode-opts '<opts>'       # steps/decode.sh options for the networks ($decode_opts)
  --stage <n> --stop-stage <n> # stages 0..10 ($stage..$stop_stage)
  --nj <n> --num-threads <n>   # parallel jobs, torch threads per training process ($nj, $num_threads)
  --force <true|false>         # redo stages even when up to date ($force)
e.g.: $0 --train-dir /kaldi/egs/wsj/s5/data/train_si284 --test-dirs /kaldi/egs/wsj/s5/data/test_eval92 \\
        --lang-dir /kaldi/egs/wsj/s5/data/lang --ali-dir /kaldi/egs/wsj/s5/exp/tri2b_ali_si284 \\
        --graph-dir /kaldi/egs/wsj/s5/exp/tri2b/graph_tgpr \\
        --kaldi-test-ali 'test_eval92=/kaldi/egs/wsj/s5/exp/tri2b_ali_eval92'"
. utils/parse_options.sh || exit 1
set -euo pipefail

log() { echo "$(date '+%Y-%m-%d %H:%M:%S') ($(basename "$0"):${BASH_LINENO[0]}) $*"; }
die() { echo "$0: $*" >&2; exit 1; }
todo() { $force || ! utils/uptodate.sh "$@"; }
run_stage() { [ $stage -le $1 ] && [ $stop_stage -ge $1 ]; }
value_of() {  # value_of <key> "<k>=<v> ...": the v of k, empty when absent
  local kv
  for kv in $2; do [ "${kv%%=*}" = "$1" ] && { echo "${kv#*=}"; return; }; done
  return 0
}

# Inputs: absolute paths (the recipe also runs steps in subshells), set names = basenames.
for opt in train_dir test_dirs lang_dir ali_dir graph_dir; do
  if [ -z "${!opt}" ]; then echo "$0: --${opt//_/-} is required" >&2; echo "$help_message" >&2; exit 1; fi
done
abs() { [ -e "$1" ] || die "$2 $1: no such file or directory"; readlink -f "$1"; }
train_dir=$(abs "$train_dir" --train-dir); lang_dir=$(abs "$lang_dir" --lang-dir)
ali_dir=$(abs "$ali_dir" --ali-dir); graph_dir=$(abs "$graph_dir" --graph-dir)
kaldi_dir=$(abs "${kaldi_dir:-$(dirname "$(dirname "$train_dir")")}" --kaldi-dir)
train=$(basename "$train_dir")
declare -A src_of=([$train]=$train_dir)
test_sets=
for d in $test_dirs; do
  d=$(abs "$d" --test-dirs); x=$(basename "$d")
  [ -z "${src_of[$x]:-}" ] || die "--test-dirs: two data sets are named $x (${src_of[$x]} and $d)"
  src_of[$x]=$d; test_sets="$test_sets $x"
done
test_sets=${test_sets# }
declare -A test_ali_of=()
for kv in $kaldi_test_ali; do
  x=${kv%%=*}
  [[ " $test_sets " == *" $x "* ]] || die "--kaldi-test-ali: $x is not a test set (test sets: $test_sets)"
  if [ "${kv#*=}" = none ]; then test_ali_of[$x]=none; else test_ali_of[$x]=$(abs "${kv#*=}" "--kaldi-test-ali $x="); fi
done

# The checks of stage 0 (the user's dirs) and 2 (the copies): lang + alignments + graph belong together.
check_dirs() {  # check_dirs <lang> <ali-dir> <graph> <log-name> <test-ali-dir>...: in the order of $test_sets
  local lang=$1 ali=$2 graph=$3 log=$4 x opts=()
  shift 4
  for x in $test_sets; do
    case ${test_ali_of[$x]:-} in
      none) ;;
      "") opts+=(--align-data data/$x) ;;
      *) opts+=(--test-ali "$1"); shift ;;
    esac
  done
  mkdir -p exp/kaldi_import/log
  python3 local/check_kaldi_dirs.py --lang "$lang" --ali-dir "$ali" --graph "$graph" "${opts[@]}" \
    2>&1 | tee exp/kaldi_import/log/$log
}
test_ali_dirs() {  # the test alignment dirs, in the order of $test_sets: "user" (yours) or "copy" (exp/kaldi_ali_<set>)
  local x
  for x in $test_sets; do
    case ${test_ali_of[$x]:-} in ""|none) continue ;; esac
    if [ $1 = user ]; then echo "${test_ali_of[$x]}"; else echo exp/kaldi_ali_$x; fi
  done
}

if run_stage 0; then
  log "Stage 0: copies of the data dirs ($train $test_sets; audio resolved in $kaldi_dir), checks"
  for x in $train $test_sets; do
    src=${src_of[$x]}
    if todo data/$x/.imported "$src/wav.scp" "$src/text" "$src/utt2spk"; then
      mkdir -p exp/kaldi_import/log
      python3 local/import_data_dir.py --kaldi-dir "$kaldi_dir" "$src" data/$x 2>&1 \
        | tee exp/kaldi_import/log/import_data_dir.$x.log
      touch data/$x/.imported
    fi
  done
  check_dirs "$lang_dir" "$ali_dir" "$graph_dir" check_kaldi_dirs.log $(test_ali_dirs user)
fi

if run_stage 1; then
  log "Stage 1: fbank features and CMVN stats in data/fbank/ ($fbank_config)"
  for x in $train $test_sets; do
    steps/make_fbank_cmvn.sh --nj $nj --cmd "$train_cmd" --fbank-config $fbank_config --force $force \
      data/$x data/fbank/$x
  done
fi

if run_stage 2; then
  log "Stage 2: copies of the lang dir, alignment dirs and graph; checks"
  if todo data/lang/.imported "$lang_dir/L.fst" "$lang_dir/phones.txt" "$lang_dir/words.txt"; then
    rm -rf data/lang && cp -rL "$lang_dir" data/lang && touch data/lang/.imported
  fi
  if todo exp/graph/.imported "$graph_dir/HCLG.fst" "$graph_dir/words.txt"; then
    rm -rf exp/graph && cp -rL "$graph_dir" exp/graph && touch exp/graph/.imported
  fi
  declare -A ali_src=([$train]="$ali_dir")
  for x in "${!test_ali_of[@]}"; do [ "${test_ali_of[$x]}" = none ] || ali_src[$x]=${test_ali_of[$x]}; done
  for x in "${!ali_src[@]}"; do
    a=${ali_src[$x]}
    if todo exp/kaldi_ali_$x/.imported "$a/final.mdl" "$a/tree" "$a/ali.1.gz"; then
      utils/copy_ali_dir.sh "$a" exp/kaldi_ali_$x && touch exp/kaldi_ali_$x/.imported
    fi
  done
  check_dirs data/lang exp/kaldi_ali_$train exp/graph check_copies.log $(test_ali_dirs copy)
fi
pipeline_test_ali=
for x in "${!test_ali_of[@]}"; do
  a=exp/kaldi_ali_$x; [ "${test_ali_of[$x]}" = none ] && a=none
  pipeline_test_ali="$pipeline_test_ali $x=$a"
done

# Stages 3-9: test alignments (where none given) -> import -> DNN -> DGMM -> priors -> archives ->
# decode with the copy of your graph -> score -> table.
if [ $stop_stage -ge 3 ] && [ $stage -le 9 ]; then
  steps/dgmm_pipeline.sh --stage $stage --stop-stage $stop_stage --force $force --nj $nj --cmd "$train_cmd" \
    --train $train --test-sets "$test_sets" --lang data/lang --lang-test data/lang \
    --kaldi-ali exp/kaldi_ali_$train --kaldi-test-ali "${pipeline_test_ali# }" --graph exp/graph \
    --gmm-decode false --num-threads $num_threads --decode-opts "$decode_opts" \
    --dnn-config $dnn_config --dgmm-config $dgmm_config
fi

if run_stage 10 && [ -n "$kaldi_decode_dirs" ]; then
  log "Stage 10: WER of your Kaldi decodes beside ours (same graph)"
  for x in $test_sets; do
    d=$(value_of $x "$kaldi_decode_dirs")
    [ -n "$d" ] || continue
    if [ -f "$d/scoring_kaldi/best_wer" ]; then kaldi_wer=$(cat "$d/scoring_kaldi/best_wer")
    elif ls "$d"/wer_* >/dev/null 2>&1; then kaldi_wer=$(grep WER "$d"/wer_* | utils/best_wer.sh)
    else die "--kaldi-decode-dirs: $d has no scoring_kaldi/best_wer or wer_* files (score it with local/score.sh)"; fi
    { echo "$x: Kaldi ($d): $kaldi_wer"
      for sys in dnn dgmm; do echo "$x: $sys: $(cat exp/$sys/decode_$x/scoring_kaldi/best_wer)"; done
    } | tee exp/wer_vs_kaldi.$x.txt
  done
fi

log "Done (stages $stage..$stop_stage)"
