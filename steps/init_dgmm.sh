#!/usr/bin/env bash
# Builds the initial model <exp-dir>/init.pt of a GMM-family experiment from a config
# (conf/dgmm.yaml: type dgmm | dsgmm | shallow_gmm, bottleneck d, Gaussians g, prior): for a DGMM or
# DSGMM from a trained DNN (its first hidden layers copied, the paper's 7 of 8) or from scratch
# (<dnn-dir> = none); the GMM layer initialised by per-state EM on the bottleneck outputs of
# training frames; a counts prior from <ali-dir>/pdf_counts. Then run steps/train_dgmm.sh.

# Begin configuration section.
nnet_config=conf/dgmm.yaml  # model/data/train configuration (YAML)
num_hidden_to_copy=0     # DNN hidden layers to copy (0: all but the last)
init_frames=100000       # frames for the data-driven GMM initialisation (0: random)
seed=777                 # random seed
num_threads=1            # torch threads (0: torch's default; more than 1 was 10x slower on 2 shared cores)
# End configuration section.

echo "$0 $@"  # Print the command line for logging.

[ -f ./path.sh ] && . ./path.sh
help_message="Usage: $0 [options] <data-dir> <ali-dir> <dnn-dir|none> <exp-dir>
Options:
  --nnet-config <yaml>         # ($nnet_config)
  --num-hidden-to-copy <n>     # DNN hidden layers copied ($num_hidden_to_copy)
  --init-frames <n>            # frames for the GMM initialisation ($init_frames)
  --seed <n>                   # ($seed)
  --num-threads <n>            # ($num_threads)
e.g.: $0 --nnet-config conf/dgmm.yaml data/train exp/tri1_ali_dgmm exp/dnn exp/dgmm"
. utils/parse_options.sh || exit 1

if [ $# -ne 4 ]; then
  echo "$help_message" >&2
  exit 1
fi
data=$1
alidir=$2
dnndir=$3
dir=$4
set -euo pipefail

dnn_opt=()
if [ "$dnndir" != none ]; then
  dnn_opt=(--dnn "$dnndir/final.pt")
fi
for f in "$data/feats.scp" "$data/utt2spk" "$alidir/pdf_ali.scp" "$alidir/num_pdfs" "$nnet_config" \
         ${dnn_opt[1]:+"${dnn_opt[1]}"}; do
  if [ ! -f "$f" ]; then echo "$0: expected file $f to exist" >&2; exit 1; fi
done
if [ -f "$dir/init.pt" ]; then
  echo "$0: $dir/init.pt exists, nothing to do (remove it to rebuild)"
  exit 0
fi
mkdir -p "$dir/log"
# as Kaldi's nnet1: the model dir carries the HMM side (decoding needs final.mdl, graphs need tree)
for f in final.mdl tree phones.txt; do
  if [ -f "$alidir/$f" ]; then cp "$alidir/$f" "$dir/$f"; fi
done
python3 -m dgmm.bin.init_dgmm --config "$nnet_config" --num-hidden-to-copy "$num_hidden_to_copy" \
  --init-frames "$init_frames" --seed "$seed" --num-threads "$num_threads" "${dnn_opt[@]}" \
  "$data" "$alidir" "$dir/init.pt" 2>"$dir/log/init.log" || {
  echo "$0: failed, see $dir/log/init.log:" >&2
  grep -h ERROR "$dir/log/init.log" >&2 || tail -n 5 "$dir/log/init.log" >&2
  exit 1
}
echo "$0: wrote $dir/init.pt"
