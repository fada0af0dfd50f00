#!/usr/bin/env bash
# Trains a network with frame-level cross-entropy on imported alignments (the paper's DNN baseline,
# and, via steps/train_dgmm.sh, the GMM-family models). Kaldi nnet1's recipe: CV held out as
# utils/subset_data_dir_tr_cv.sh, newbob learning-rate schedule, final model = best CV epoch.
# Features: <data-dir>/feats.scp with CMVN (cmvn.scp) and splicing as in the config; labels:
# <ali-dir>/pdf_ali.scp from steps/import_ali.sh. Outputs in <exp-dir>: final.pt, best.pt,
# metrics.tsv, training_curve.png, checkpoint.pt, config.yaml, splice_opts, cmvn_opts, log/train.log.
# Rerunning continues a killed run from its last checkpoint; an existing final.pt means done.
# Data-parallel: --nproc-per-node N (one process per GPU, or CPU processes with gloo) and, for
# several machines, --nnodes/--node-rank/--rdzv-endpoint, run the same command on every node.

# Begin configuration section.
nnet_config=conf/dnn.yaml  # model/data/train hyperparameters (YAML; see dgmm/train/config.py)
device=auto           # auto | cpu | cuda | cuda:N
bf16=                 # true/false: bfloat16 autocast (empty: the config's train.bf16)
seed=                 # random seed for model init and data order (empty: the config's train.seed)
resume=true           # continue from <exp-dir>/checkpoint.pt when it exists
num_threads=1         # torch threads per process (0: torch's default; more than 1 was 10x slower on 2 shared cores)
nproc_per_node=1      # processes per node; > 1 (or nnodes > 1) launches torchrun
nnodes=1              # number of nodes
node_rank=0           # rank of this node (multi-node)
rdzv_endpoint=        # host:port of the rendezvous server (multi-node; empty: this node)
rdzv_id=dgmm          # rendezvous job id, the same on every node
train_opts=           # extra overrides, e.g. "--set train.lr=0.004 --set train.max_epochs=10"
init_model=           # start from this model file (default: <exp-dir>/init.pt, else built from config)
# End configuration section.

echo "$0 $@"  # Print the command line for logging.

[ -f ./path.sh ] && . ./path.sh
help_message="Usage: $0 [options] <data-dir> <ali-dir> <exp-dir>
Options:
  --nnet-config <yaml>             # model/data/train configuration ($nnet_config)
  --device <auto|cpu|cuda|cuda:N>  # ($device)
  --bf16 <true|false>              # bfloat16 autocast (default: config's)
  --seed <n>                       # random seed (default: config's)
  --resume <true|false>            # continue a killed run ($resume)
  --num-threads <n>                # torch threads per process ($num_threads)
  --nproc-per-node <n>             # data-parallel processes per node ($nproc_per_node)
  --nnodes <n>                     # nodes ($nnodes)
  --node-rank <n>                  # this node's rank ($node_rank)
  --rdzv-endpoint <host:port>      # rendezvous for multi-node runs ($rdzv_endpoint)
  --rdzv-id <id>                   # rendezvous id ($rdzv_id)
  --train-opts <opts>              # e.g. \"--set train.lr=0.004\" ($train_opts)
  --init-model <model.pt>          # initial model ($init_model)
e.g.: $0 --nnet-config conf/dnn.yaml data/train exp/tri1_ali_dgmm exp/dnn"
. utils/parse_options.sh || exit 1

if [ $# -ne 3 ]; then
  echo "$help_message" >&2
  exit 1
fi
data=$1
alidir=$2
dir=$3
set -euo pipefail

for f in "$data/feats.scp" "$data/utt2spk" "$alidir/pdf_ali.scp" "$alidir/num_pdfs" "$nnet_config" ${init_model:+"$init_model"}; do
  if [ ! -f "$f" ]; then echo "$0: expected file $f to exist" >&2; exit 1; fi
done
mkdir -p "$dir/log"
# as Kaldi's nnet1: the model dir carries the HMM side (decoding needs final.mdl, graphs need tree)
for f in final.mdl tree phones.txt; do
  if [ -f "$alidir/$f" ]; then cp "$alidir/$f" "$dir/$f"; fi
done

args=(--config "$nnet_config" --device "$device" --resume "$resume" --num-threads "$num_threads"
      ${bf16:+--bf16 "$bf16"} ${seed:+--seed "$seed"} ${init_model:+--init-model "$init_model"})
# shellcheck disable=SC2206
args+=($train_opts)
if [ "$nproc_per_node" -gt 1 ] || [ "$nnodes" -gt 1 ]; then
  if [ "$nnodes" -gt 1 ]; then
    [ -z "$rdzv_endpoint" ] && { echo "$0: --nnodes $nnodes needs --rdzv-endpoint host:port" >&2; exit 1; }
    launch=(python3 -m torch.distributed.run --nnodes "$nnodes" --node-rank "$node_rank" --nproc-per-node "$nproc_per_node"
            --rdzv-backend c10d --rdzv-endpoint "$rdzv_endpoint" --rdzv-id "$rdzv_id")
  else
    launch=(python3 -m torch.distributed.run --standalone --nnodes 1 --nproc-per-node "$nproc_per_node")
  fi
  "${launch[@]}" -m dgmm.bin.train "${args[@]}" "$data" "$alidir" "$dir"
else
  python3 -m dgmm.bin.train "${args[@]}" "$data" "$alidir" "$dir"
fi
echo "$0: trained $dir/final.pt (metrics: $dir/metrics.tsv, log: $dir/log/train.log)"
grep -h "final:" "$dir/log/train.log" | tail -n 1 || true
