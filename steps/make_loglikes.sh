#!/usr/bin/env bash
# Runs a trained model (DNN or GMM family) over a data dir in N parallel jobs and writes per
# utterance a float32 [frames, num_pdfs] matrix of acoustic log-likelihoods as a Kaldi archive,
# <out-dir>/data/loglikes.JOB.ark, indexed by <out-dir>/loglikes.scp: "decoding into a WFST-ready
# archive". Column j is pdf-id j of the final.mdl the training alignments came from, so Kaldi can decode
# it directly:  latgen-faster-mapped --acoustic-scale=0.1 final.mdl HCLG.fst scp:loglikes.scp ark:lat.ark
# DNN rows: log p(s|x) - prior_scale * log p(s) (prior <model-dir>/prior.vec, steps/compute_prior.sh).
# GMM-family rows: the GMM layer's log p(x|s) (default, --gmm-output loglik: a real likelihood, as
# gmm-compute-likes gives, needing no prior), or log p(s|x) - prior_scale * log p(s) (--gmm-output posterior).

# Begin configuration section.
nj=4                  # number of parallel jobs
cmd=run.pl            # job runner
prior_scale=1.0       # scale of log p(s) subtracted from log-posteriors
compress=false        # Kaldi-compressed matrices (smaller, lossy)
gmm_output=loglik     # GMM family: loglik (log p(x|s)) or posterior (log p(s|x) - scaled log prior)
model=                # model; default <model-dir>/final.pt
prior=                # prior vector; default <model-dir>/prior.vec when it exists
num_threads=1         # torch threads per job
# End configuration section.

echo "$0 $@"  # Print the command line for logging.

[ -f ./path.sh ] && . ./path.sh
help_message="Usage: $0 [options] <data-dir> <model-dir> <out-dir>
Options:
  --nj <n>                  # parallel jobs ($nj)
  --prior-scale <float>     # ($prior_scale)
  --compress <true|false>   # ($compress)
  --gmm-output <loglik|posterior>  # GMM family output ($gmm_output)
  --model <file>            # default <model-dir>/final.pt
  --prior <file>            # default <model-dir>/prior.vec
e.g.: $0 --nj 4 data/test exp/dgmm exp/dgmm/decode_test"
. utils/parse_options.sh || exit 1

if [ $# -ne 3 ]; then
  echo "$help_message" >&2
  exit 1
fi
data=$1
srcdir=$2
dir=$3
set -euo pipefail

[ -z "$model" ] && model=$srcdir/final.pt
[ -z "$prior" ] && [ -f "$srcdir/prior.vec" ] && prior=$srcdir/prior.vec
for f in "$data/feats.scp" "$model" ${prior:+"$prior"}; do
  if [ ! -f "$f" ]; then echo "$0: no such file $f" >&2; exit 1; fi
done
mkdir -p "$dir/log" "$dir/data"
adir=$(cd "$dir/data" && pwd)

opts=(--nj "$nj" --prior-scale "$prior_scale" --gmm-output "$gmm_output" --compress "$compress"
      --num-threads "$num_threads")
[ -n "$prior" ] && opts+=(--prior "$prior")
[ -f "$srcdir/final.mdl" ] && opts+=(--transition-model "$srcdir/final.mdl")
$cmd JOB=1:"$nj" "$dir/log/make_loglikes.JOB.log" \
  python -m dgmm.bin.make_loglikes --job JOB "${opts[@]}" "$model" "$data" \
    "$adir/loglikes.JOB.ark" "$adir/loglikes.JOB.scp" || {
  echo "$0: making log-likelihoods failed; see $dir/log/make_loglikes.*.log" >&2
  grep -h ERROR "$dir"/log/make_loglikes.*.log >&2 || true
  exit 1
}
# no pid in the temporary's name: a rerun overwrites a killed run's
for j in $(seq "$nj"); do cat "$adir/loglikes.$j.scp"; done > "$dir/loglikes.scp.tmp"
mv "$dir/loglikes.scp.tmp" "$dir/loglikes.scp"
nu=$(wc -l < "$dir/loglikes.scp"); nf=$(wc -l < "$data/feats.scp")
[ "$nu" -eq "$nf" ] || { echo "$0: $dir/loglikes.scp has $nu utterances, $data/feats.scp $nf" >&2; exit 1; }
echo "$0: wrote $dir/loglikes.scp ($nu utterances)"
