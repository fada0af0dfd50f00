#!/usr/bin/env bash
# Reproduces the six experiments of Variani, McDermott, Heigold (ICASSP 2015) on a recipe's data, plus
# the paper's remark on the training order of the variances. Run from a recipe dir after its stages
# 0-4 (data/fbank/<set>, exp/ali_<set> from steps/import_ali.sh, exp/graph). Every system is a model
# dir <exp>/<name>; the tables are <exp>/table{1..6}.md and <exp>/training_order.md, each with the
# verdict on the paper's finding computed from the numbers, and a PNG of CE and state accuracy
# against training steps per table; <exp>/RESULTS.md collects them.
#   0  configs: <exp>/conf/<system>.yaml and <exp>/systems.tsv (dgmm/paper/systems.py; --scale)
#   1  Table 2's engineered features: spliced fbank + LDA estimated on the alignments
#   2  training (DNNs first: GMM-family systems copy the baseline DNN's hidden layers)
#   3  evaluation: priors, log-likelihoods, decoding, test-set CE and state accuracy
#   4  tables and plots
# A system is skipped when its final.pt is newer than its config and the system it is initialised from
# (delete the final.pt to redo it); --tables '1 3' restricts everything to the systems of those tables.

# Begin configuration section.
stage=0
stop_stage=4
scale=small              # network sizes: tiny | small | paper (dgmm/paper/systems.py)
tables="1 2 3 4 5 6 order"  # tables to run
exp=exp/paper            # experiment root
train=train              # training set (data/fbank/<train>, exp/ali_<train>)
test=test                # test set (data/fbank/<test>, exp/ali_<test>)
graph=exp/graph          # decoding graph (HCLG.fst)
dnn_config=conf/dnn.yaml     # base data/train sections of the NN systems
dgmm_config=conf/dgmm.yaml   # base data/train sections of the GMM-family systems
max_epochs=              # overrides the scale's and the configs' train.max_epochs
train_subset=0           # > 0: train on this many utterances (spread over the set; quick runs)
test_subset=0            # > 0: evaluate on this many test utterances
init_frames=100000       # frames for the data-driven GMM initialisation (steps/init_dgmm.sh)
train_opts=              # extra options of steps/train_dnn.sh, e.g. "--set train.lr=0.004"
decode=true              # false: no decoding (no WER column)
decode_opts=             # extra steps/decode.sh options, e.g. "--min-lmwt 10 --max-lmwt 10"
nj=2                     # decoding jobs
num_threads=1            # torch threads per process
cmd=run.pl               # job runner
# End configuration section.

echo "$0 $@"
[ -f ./path.sh ] && . ./path.sh
help_message="Usage: $0 [options]   (run from a recipe dir, after its stages 0-4)
Options:
  --stage <n> --stop-stage <n>   # stages 0..4 ($stage..$stop_stage)
  --scale <tiny|small|paper>     # network sizes ($scale)
  --tables '<t> ...'             # tables among 1 2 3 4 5 6 order ($tables)
  --exp <dir>                    # experiment root ($exp)
  --train <set> --test <set>     # data sets ($train, $test)
  --max-epochs <n>               # override train.max_epochs
  --train-subset <n> --test-subset <n>  # quick runs on fewer utterances (0: all)
  --train-opts <opts>            # extra steps/train_dnn.sh options
  --decode <true|false> --decode-opts <opts>
  --nj <n> --num-threads <n>
e.g.: $0 --scale small
      $0 --scale tiny --tables '1 6' --max-epochs 2"
. utils/parse_options.sh || exit 1
if [ $# -ne 0 ]; then
  echo "$help_message" >&2
  exit 1
fi
set -euo pipefail

log() { echo "$(date '+%Y-%m-%d %H:%M:%S') ($(basename "$0"):${BASH_LINENO[0]}) $*"; }
run_stage() { [ $stage -le $1 ] && [ $stop_stage -ge $1 ]; }
ali_train=exp/ali_$train
ali_test=exp/ali_$test
for f in data/fbank/$train/feats.scp data/fbank/$test/feats.scp $ali_train/pdf_ali.scp $ali_test/pdf_ali.scp \
         $dnn_config $dgmm_config; do
  [ -f $f ] || { echo "$0: expected file $f to exist (run the recipe's stages 0-4)" >&2; exit 1; }
done
if $decode && [ ! -f $graph/HCLG.fst ]; then
  echo "$0: expected file $graph/HCLG.fst to exist (the recipe's stage 3), or use --decode false" >&2; exit 1
fi
mkdir -p $exp/log

# The data the systems see: the sets themselves, or evenly spread subsets.
data_of() {  # data dir of set $1 (train|test) for features $2 (fbank|lda)
  if [ "$2" = lda ]; then echo $exp/data/lda_$1; elif [ "$1" = train ]; then echo $train_data; else echo $test_data; fi
}
train_data=data/fbank/$train; test_data=data/fbank/$test
[ "$train_subset" -gt 0 ] && train_data=$exp/data/fbank_${train}_$train_subset
[ "$test_subset" -gt 0 ] && test_data=$exp/data/fbank_${test}_$test_subset

if run_stage 0; then
  log "Stage 0: configurations of the systems (scale $scale, tables $tables)"
  for x in $train:$train_subset:$train_data $test:$test_subset:$test_data; do
    IFS=: read -r set n dest <<< "$x"
    if [ "$n" -gt 0 ] && ! utils/uptodate.sh $dest/feats.scp data/fbank/$set/feats.scp; then
      utils/subset_data_dir.sh data/fbank/$set $n $dest
    fi
  done
  python3 -m dgmm.bin.paper_systems --scale $scale --tables "$tables" --dnn-config $dnn_config \
    --dgmm-config $dgmm_config ${max_epochs:+--max-epochs $max_epochs} $train_data $ali_train $exp
fi
[ -f $exp/systems.tsv ] || { echo "$0: expected file $exp/systems.tsv to exist (stage 0)" >&2; exit 1; }
scale_opt() { awk -v k=$1 '$1 == k {print $2}' $exp/scale.txt; }

if run_stage 1 && cut -f3 $exp/systems.tsv | grep -qx lda; then
  log "Stage 1: engineered features (fbank + LDA from the alignments) in $exp/data/lda_{train,test}"
  if ! utils/uptodate.sh $exp/data/lda_test/feats.scp $exp/scale.txt $train_data/feats.scp $test_data/feats.scp; then
    python3 -m dgmm.bin.paper_lda --dim "$(scale_opt lda_dim)" --splice "$(scale_opt lda_splice)" \
      $ali_train $exp/lda $train_data $exp/data/lda_train $test_data $exp/data/lda_test \
      2> $exp/log/lda.log || { echo "$0: LDA failed, see $exp/log/lda.log" >&2; tail -n 3 $exp/log/lda.log >&2; exit 1; }
  fi
fi

if run_stage 2; then
  log "Stage 2: training"
  while IFS=$'\t' read -r -u 3 name kind feats init copy tabs desc; do
    dir=$exp/$name
    deps=($exp/conf/$name.yaml); [ "$init" != none ] && deps+=($exp/$init/final.pt)
    utils/uptodate.sh $dir/final.pt "${deps[@]}" && continue
    # a stale finished system (new config or initial system) trains afresh; an unfinished one resumes
    [ -f $dir/final.pt ] && rm -f $dir/{init,final,best,checkpoint}.pt
    log "training $name: $desc (tables $tabs)"
    # shellcheck disable=SC2086
    if [ $kind = dnn ]; then
      steps/train_dnn.sh --nnet-config $exp/conf/$name.yaml --num-threads $num_threads --train-opts "$train_opts" \
        $(data_of train $feats) $ali_train $dir
    else
      src=none; [ "$init" != none ] && src=$exp/$init
      utils/uptodate.sh $dir/init.pt "${deps[@]}" || rm -f $dir/{init,checkpoint}.pt
      [ -f $dir/init.pt ] || steps/init_dgmm.sh --nnet-config $exp/conf/$name.yaml --num-threads $num_threads --init-frames $init_frames \
        ${copy:+--num-hidden-to-copy $copy} $(data_of train $feats) $ali_train $src $dir
      steps/train_dgmm.sh --nnet-config $exp/conf/$name.yaml --num-threads $num_threads --train-opts "$train_opts" \
        $(data_of train $feats) $ali_train $dir
    fi
  done 3< $exp/systems.tsv
fi

if run_stage 3; then
  log "Stage 3: evaluation on $test"
  acc_args=()
  while IFS=$'\t' read -r -u 3 name kind feats init copy tabs desc; do
    dir=$exp/$name
    data=$(data_of test $feats)
    [ -f $dir/final.pt ] || { echo "$0: expected file $dir/final.pt to exist (stage 2)" >&2; exit 1; }
    if [ $kind = dnn ] && ! utils/uptodate.sh $dir/prior.vec $dir/final.pt; then
      steps/compute_prior.sh --method counts $ali_train $dir
    fi
    if $decode && ! utils/uptodate.sh $dir/decode_$test/scoring_kaldi/best_wer $dir/final.pt $graph/HCLG.fst; then
      rm -f $dir/decode_$test/loglikes.scp
      steps/make_loglikes.sh --nj $nj --cmd "$cmd" $data $dir $dir/decode_$test
      # shellcheck disable=SC2086
      steps/decode.sh --nj $nj --cmd "$cmd" $decode_opts $graph $data $dir/decode_$test
    fi
    acc_args+=("$name=$data")
  done 3< $exp/systems.tsv
  # test-set CE and state accuracy against the GMM alignments (one process for all systems)
  python3 -m dgmm.bin.paper_frame_accuracy --num-threads $num_threads $ali_test $test $exp "${acc_args[@]}" \
    2> $exp/log/frame_accuracy.log || { echo "$0: failed, see $exp/log/frame_accuracy.log" >&2;
                                        tail -n 3 $exp/log/frame_accuracy.log >&2; exit 1; }
fi

if run_stage 4; then
  log "Stage 4: tables and plots in $exp"
  python3 -m dgmm.bin.paper_tables --test-set $test --tables "$tables" $exp
  echo "$0: tables in $exp/table*.md, $exp/training_order.md, all in $exp/RESULTS.md"
fi
