#!/usr/bin/env bash
# Triphone GMM-HMM training on MFCC + deltas, as Kaldi's steps/train_deltas.sh: tree statistics,
# phone-clustering questions, decision tree to <num-leaves>, alignments converted from <ali-dir>,
# 35 iterations with realignment at 10, 20, 30 and Gaussians mixed up to <tot-gauss>; without
# compiled Kaldi. Writes <exp-dir>/{final.mdl,tree,ali.*.gz,final.occs,num_jobs,cmvn_opts}.

# Begin configuration section.
cmd=run.pl          # job runner (the training runs as one job)
num_iters=35        # number of training iterations
boost_silence=1.0   # factor on optional-silence likelihoods during alignment
cluster_thresh=-1   # leaf-merging threshold after splitting (-1: the smallest split gain)
wav_dir=            # where relative wav.scp paths are resolved when there is no feats.scp
# End configuration section.

echo "$0 $@"  # Print the command line for logging.

[ -f ./path.sh ] && . ./path.sh
help_message="Usage: $0 [options] <num-leaves> <tot-gauss> <data-dir> <lang-dir> <ali-dir> <exp-dir>
Options:
  --cmd <run.pl|queue.pl>   # job runner ($cmd)
  --num-iters <n>           # iterations ($num_iters)
  --boost-silence <f>       # silence boost during alignment ($boost_silence)
  --cluster-thresh <f>      # leaf clustering threshold ($cluster_thresh)
e.g.: $0 2000 10000 data/train data/lang exp/mono_ali exp/tri1"
. utils/parse_options.sh || exit 1

if [ $# -ne 6 ]; then
  echo "$help_message" >&2
  exit 1
fi
numleaves=$1
totgauss=$2
data=$3
lang=$4
alidir=$5
dir=$6
set -euo pipefail

for f in "$alidir/final.mdl" "$alidir/ali.1.gz" "$alidir/num_jobs" "$data/text" "$lang/phones/roots.int" \
         "$lang/phones/sets.int" "$lang/L.fst"; do
  if [ ! -f "$f" ]; then echo "$0: no such file $f" >&2; exit 1; fi
done
nj=$(cat "$alidir/num_jobs")   # as Kaldi: the number of jobs of the source alignments
mkdir -p "$dir/log"
opts="--nj $nj --num-iters $num_iters --boost-silence $boost_silence --cluster-thresh $cluster_thresh"
[ -n "$wav_dir" ] && opts="$opts --wav-dir $wav_dir"
export OPENBLAS_NUM_THREADS=1
$cmd "$dir/log/train.log" \
  python -m dgmm.bin.train_deltas $opts "$numleaves" "$totgauss" "$data" "$lang" "$alidir" "$dir" || exit 1
echo "$0: done training triphone system in $dir"
