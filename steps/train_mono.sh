#!/usr/bin/env bash
# Flat-start monophone GMM-HMM training, as Kaldi's steps/train_mono.sh (equal alignment, 40
# iterations, realignment on iterations 1-10,12,...,20,23,...,38, Gaussians mixed up to --totgauss),
# without compiled Kaldi. Writes <exp-dir>/{final.mdl,tree,ali.*.gz,final.occs,num_jobs,cmvn_opts} in
# Kaldi's formats, so Kaldi's and our later stages (align_si.sh, train_deltas.sh, import_ali.sh,
# mkgraph.sh) read it as Kaldi's own.

# Begin configuration section.
nj=4                # number of alignment files (data split by speaker, as Kaldi)
cmd=run.pl          # job runner (the training runs as one job)
totgauss=1000       # target number of Gaussians
num_iters=40        # number of training iterations
boost_silence=1.0   # factor on optional-silence likelihoods during alignment
cmvn_opts=          # e.g. --norm-vars=true
wav_dir=            # where relative wav.scp paths are resolved when there is no feats.scp
# End configuration section.

echo "$0 $@"  # Print the command line for logging.

[ -f ./path.sh ] && . ./path.sh
help_message="Usage: $0 [options] <data-dir> <lang-dir> <exp-dir>
Options:
  --nj <n>                  # number of jobs / alignment files ($nj)
  --cmd <run.pl|queue.pl>   # job runner ($cmd)
  --totgauss <n>            # target number of Gaussians ($totgauss)
  --num-iters <n>           # iterations ($num_iters)
  --boost-silence <f>       # silence boost during alignment ($boost_silence)
  --cmvn-opts <opts>        # CMVN options ($cmvn_opts)
e.g.: $0 --nj 2 --totgauss 400 data/train data/lang exp/mono"
. utils/parse_options.sh || exit 1

if [ $# -ne 3 ]; then
  echo "$help_message" >&2
  exit 1
fi
data=$1
lang=$2
dir=$3
set -euo pipefail

for f in "$data/text" "$data/utt2spk" "$lang/L.fst" "$lang/topo" "$lang/phones/sets.int"; do
  if [ ! -f "$f" ]; then echo "$0: no such file $f" >&2; exit 1; fi
done
mkdir -p "$dir/log"
export OPENBLAS_NUM_THREADS=1
opts="--nj $nj --totgauss $totgauss --num-iters $num_iters --boost-silence $boost_silence"
[ -n "$wav_dir" ] && opts="$opts --wav-dir $wav_dir"
$cmd "$dir/log/train.log" \
  python -m dgmm.bin.train_mono $opts --cmvn-opts "$cmvn_opts" "$data" "$lang" "$dir" || exit 1
echo "$0: done training monophone system in $dir"
