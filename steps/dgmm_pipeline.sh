#!/usr/bin/env bash
# The corpus-independent stages 3-9 of every recipe (egs/*/s5/run.sh runs its own data, feature and
# lang stages 0-2, then this): the paper's pipeline from a lang dir and data dirs to a results table.
#   3  GMM-HMM bootstrap (monophone, optional triphone), alignments, graph, GMM baseline decode
#      -- or, with --kaldi-ali, a Kaldi system's alignments and model instead of training one
#   4  import of CD-state (pdf-id) alignments for the fbank data dirs
#   5  DNN baseline                     6  Deep GMM initialised from the DNN, joint training
#   7  state priors                     8  WFST-ready log-likelihood archives, decode, score
#   9  test-set state accuracy and the results table (<exp>/RESULTS.<test-set>.md)
# Inputs: data/<set> (wav.scp, text, utt2spk: the GMM stages make MFCCs themselves) and
# data/fbank/<set> (fbank + CMVN for the networks) for the train set and every test set; the lang dir
# and a lang dir with G.fst. A stage is skipped when its outputs are newer than its inputs
# (utils/uptodate.sh): delete an output to redo its stage and the stages after it.

# Begin configuration section.
stage=3
stop_stage=9
force=false              # redo stages even when their outputs are up to date
nj=2                     # parallel jobs (data dirs are split by speaker: at most #speakers)
cmd=run.pl               # job runner
train=train              # training set name (data/<train>, data/fbank/<train>)
test_sets=test           # space-separated test set names; the first one is the results table's
lang=data/lang           # lang dir
lang_test=data/lang_test # lang dir with G.fst
mono_opts="--totgauss 1000"  # steps/train_mono.sh options
tri=                     # "<num-leaves> <tot-gauss>": also train a triphone system (steps/train_deltas.sh)
boost_silence=1.0        # GMM alignment silence boost
kaldi_ali=               # Kaldi alignment dir of <train> (ali.*.gz, final.mdl, tree): no GMM training
kaldi_test_ali=          # with --kaldi-ali: "<set>=<ali-dir> ..." Kaldi alignments of test sets
                         # (default: aligned here with the Kaldi model, which needs MFCC+delta features;
                         # <set>=none: no alignments, so no test-set state accuracy)
graph=                   # an existing decoding graph dir (HCLG.fst, words.txt) to use instead of
                         # building <exp>/graph, e.g. a Kaldi recipe's exp/tri3/graph
gmm_decode=true          # decode the test sets with the GMM (the GMM-HMM baseline row)
gmm_label=               # the baseline row's system name (default: "GMM-HMM (<gmm dir>)"), e.g. when
                         # --kaldi-ali is a copy of a GMM's alignments made for perturbed data
dnn_config=conf/dnn.yaml     # DNN model/data/training configuration
dgmm_config=conf/dgmm.yaml   # Deep GMM configuration
dsgmm_config=            # Deep Subspace GMM configuration (model.type dsgmm): also train exp/dsgmm
num_threads=1            # torch threads per training process
decode_opts=             # extra steps/decode.sh options for all systems, e.g. "--beam 15 --min-lmwt 10"
exp=exp                  # experiment root
# End configuration section.

echo "$0 $@"
[ -f ./path.sh ] && . ./path.sh
help_message="Usage: $0 [options]   (run from a recipe dir, after its data/feature/lang stages)
Options:
  --stage <n> --stop-stage <n>   # stages 3..9 ($stage..$stop_stage)
  --train <set> --test-sets '<set> ...'  # data sets ($train; $test_sets)
  --lang <dir> --lang-test <dir> # ($lang, $lang_test)
  --mono-opts <opts>             # ($mono_opts)
  --tri '<leaves> <gauss>'       # triphone system after the monophone one ($tri)
  --kaldi-ali <dir>              # import a Kaldi system's alignments instead of training GMMs
  --graph <dir>                  # decode with this graph (e.g. Kaldi's exp/tri3/graph) instead of mkgraph
  --gmm-label <name>             # the GMM-HMM row's name in the results table
  --dnn-config <yaml> --dgmm-config <yaml>
  --dsgmm-config <yaml>          # also a Deep Subspace GMM, initialised from the DNN as the DGMM
  --nj <n> --force <true|false>
e.g.: $0 --train train_yesno --test-sets test_yesno --mono-opts '--totgauss 400' --nj 1"
. utils/parse_options.sh || exit 1
set -euo pipefail

log() { echo "$(date '+%Y-%m-%d %H:%M:%S') ($(basename "$0"):${BASH_LINENO[0]}) $*"; }
todo() { $force || ! utils/uptodate.sh "$@"; }   # true when <output> is missing or older than an input
run_stage() { [ $stage -le $1 ] && [ $stop_stage -ge $1 ]; }
read -r -a sets <<< "$test_sets"
jobs_for() {  # jobs for data set $1: data dirs are split by speaker, so at most its number of speakers
  local n; n=$(wc -l < data/$1/spk2utt)
  echo $(( n < nj ? n : nj ))
}
main_test=${sets[0]}
gmm_systems=dgmm                              # the networks with a GMM layer, each from the DNN
[ -n "$dsgmm_config" ] && gmm_systems="dgmm dsgmm"
config_of() { if [ "$1" = dsgmm ]; then echo "$dsgmm_config"; else echo "$dgmm_config"; fi; }

for x in $train "${sets[@]}"; do
  for f in data/$x/text data/fbank/$x/feats.scp; do
    [ -f $f ] || { echo "$0: expected file $f to exist (run the recipe's earlier stages)" >&2; exit 1; }
  done
done

# The GMM system whose alignments, graph and baseline row the networks use.
if [ -n "$kaldi_ali" ]; then gmm=$kaldi_ali; elif [ -n "$tri" ]; then gmm=$exp/tri1; else gmm=$exp/mono; fi
train_ali=${kaldi_ali:-${gmm}_ali}
build_graph=false; [ -z "$graph" ] && { build_graph=true; graph=$exp/graph; }
test_ali() {  # the alignment dir of test set $1 ("none": not aligned)
  local kv
  for kv in $kaldi_test_ali; do [ "${kv%%=*}" = "$1" ] && { echo "${kv#*=}"; return; }; done
  echo "$exp/gmm_ali_$1"
}

if run_stage 3; then
  if [ -z "$kaldi_ali" ]; then
    log "Stage 3: GMM-HMM system $gmm: training, alignments, graph, baseline decode"
  else
    log "Stage 3: Kaldi system $gmm: test-set alignments and graph as needed"
  fi
  if [ -z "$kaldi_ali" ]; then
    if todo $exp/mono/final.mdl $lang/L.fst data/$train/text; then
      # shellcheck disable=SC2086
      steps/train_mono.sh --nj $nj --cmd "$cmd" --boost-silence $boost_silence $mono_opts \
        data/$train $lang $exp/mono
    fi
    if [ -n "$tri" ]; then
      if todo $exp/mono_ali/ali.1.gz $exp/mono/final.mdl; then
        steps/align_si.sh --nj $nj --cmd "$cmd" --boost-silence $boost_silence data/$train $lang $exp/mono $exp/mono_ali
      fi
      if todo $exp/tri1/final.mdl $exp/mono_ali/ali.1.gz; then
        # shellcheck disable=SC2086
        steps/train_deltas.sh --cmd "$cmd" --boost-silence $boost_silence $tri data/$train $lang $exp/mono_ali $exp/tri1
      fi
    fi
    if todo ${gmm}_ali/ali.1.gz $gmm/final.mdl; then
      steps/align_si.sh --nj $nj --cmd "$cmd" data/$train $lang $gmm ${gmm}_ali
    fi
  fi
  for x in "${sets[@]}"; do   # test alignments: the test-set state accuracy of the networks
    d=$(test_ali $x)
    if [ "$d" = "$exp/gmm_ali_$x" ] && todo $d/ali.1.gz $gmm/final.mdl; then
      steps/align_si.sh --nj "$(jobs_for $x)" --cmd "$cmd" data/$x $lang $gmm $d
    fi
  done
  if $build_graph && todo $graph/HCLG.fst $gmm/final.mdl $lang_test/G.fst; then
    utils/mkgraph.sh $lang_test $gmm $graph
  fi
  if $gmm_decode; then
    for x in "${sets[@]}"; do
      if todo $exp/gmm_decode_$x/scoring_kaldi/best_wer $graph/HCLG.fst; then
        steps/decode_gmm.sh --nj "$(jobs_for $x)" --cmd "$cmd" --model $gmm/final.mdl --decode-opts "$decode_opts" \
          $graph data/$x $exp/gmm_decode_$x
      fi
    done
  fi
fi

if run_stage 4; then
  log "Stage 4: import CD-state alignments (pdf-ids) for the fbank data"
  if todo $exp/ali_$train/pdf_ali.scp $train_ali/final.mdl data/fbank/$train/feats.scp; then
    steps/import_ali.sh --lang $lang $train_ali data/fbank/$train $exp/ali_$train
  fi
  for x in "${sets[@]}"; do
    d=$(test_ali $x)
    [ "$d" = none ] && continue
    if todo $exp/ali_$x/pdf_ali.scp $d/final.mdl data/fbank/$x/feats.scp; then
      steps/import_ali.sh --lang $lang $d data/fbank/$x $exp/ali_$x
    fi
  done
fi

if run_stage 5; then
  log "Stage 5: DNN baseline"
  if todo $exp/dnn/final.pt $exp/ali_$train/pdf_ali.scp $dnn_config; then
    # an out-of-date finished DNN (new config or alignments) is retrained from scratch; an
    # unfinished one (no final.pt) resumes from its checkpoint
    [ -f $exp/dnn/final.pt ] && rm -f $exp/dnn/{final,best,checkpoint}.pt
    steps/train_dnn.sh --nnet-config $dnn_config --num-threads $num_threads \
      data/fbank/$train $exp/ali_$train $exp/dnn
  fi
fi

if run_stage 6; then
  log "Stage 6: Deep GMM initialised from the DNN, then joint training ($gmm_systems)"
  for sys in $gmm_systems; do
    conf=$(config_of $sys)
    if todo $exp/$sys/init.pt $exp/dnn/final.pt $conf; then
      rm -f $exp/$sys/{init,final,best,checkpoint}.pt   # a new initial model starts training afresh
      steps/init_dgmm.sh --nnet-config $conf --num-threads $num_threads \
        data/fbank/$train $exp/ali_$train $exp/dnn $exp/$sys
    fi
    if todo $exp/$sys/final.pt $exp/$sys/init.pt; then
      steps/train_dgmm.sh --nnet-config $conf --num-threads $num_threads \
        data/fbank/$train $exp/ali_$train $exp/$sys
    fi
  done
fi

if run_stage 7; then
  log "Stage 7: state priors (DNN: training counts; the DGMM's GMM layer gives likelihoods itself)"
  if todo $exp/dnn/prior.vec $exp/dnn/final.pt; then
    steps/compute_prior.sh --method counts $exp/ali_$train $exp/dnn
  fi
fi

if run_stage 8; then
  log "Stage 8: WFST-ready log-likelihood archives, decoding and scoring"
  for sys in dnn $gmm_systems; do
    for x in "${sets[@]}"; do
      d=$exp/$sys/decode_$x
      if todo $d/scoring_kaldi/best_wer $exp/$sys/final.pt $graph/HCLG.fst; then
        rm -f $d/loglikes.scp
        steps/make_loglikes.sh --nj "$(jobs_for $x)" --cmd "$cmd" data/fbank/$x $exp/$sys $d
        # shellcheck disable=SC2086
        steps/decode.sh --nj "$(jobs_for $x)" --cmd "$cmd" $decode_opts $graph data/fbank/$x $d
      fi
    done
  done
fi

if run_stage 9; then
  log "Stage 9: test-set state accuracy and results"
  for x in "${sets[@]}"; do
    for sys in dnn $gmm_systems; do
      [ "$(test_ali $x)" = none ] && continue
      if todo $exp/$sys/frame_accuracy.$x $exp/$sys/final.pt $exp/ali_$x/pdf_ali.scp; then
        python3 -m dgmm.bin.frame_accuracy data/fbank/$x $exp/ali_$x $exp/$sys > /dev/null
      fi
    done
    gmm_row=
    if $gmm_decode; then gmm_row="${gmm_label:-GMM-HMM ($gmm)}=$exp/gmm_decode_$x"; fi
    # the GMM row's label, rewritten only when it changes: a new --gmm-label redoes the table
    { [ -f $exp/.gmm_row.$x ] && [ "$(cat $exp/.gmm_row.$x)" = "$gmm_row" ]; } || echo "$gmm_row" > $exp/.gmm_row.$x
    systems=()
    for sys in dnn $gmm_systems; do systems+=($exp/$sys); done
    if todo $exp/RESULTS.$x.md $exp/.gmm_row.$x \
        $(for d in "${systems[@]}"; do echo $d/decode_$x/scoring_kaldi/best_wer; \
          [ "$(test_ali $x)" = none ] || echo $d/frame_accuracy.$x; done); then
      python3 -m dgmm.bin.results_table --test-set $x --gmm-model $gmm/final.mdl \
        ${gmm_row:+"$gmm_row"} "${systems[@]}" > $exp/RESULTS.$x.md.tmp   # a killed run leaves no table
      mv $exp/RESULTS.$x.md.tmp $exp/RESULTS.$x.md
    fi
    echo "Results on $x ($exp/RESULTS.$x.md):"
    cat $exp/RESULTS.$x.md
  done
fi
