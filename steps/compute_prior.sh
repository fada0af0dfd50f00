#!/usr/bin/env bash
# Computes the state prior p(s) that turns a model's posteriors into acoustic scores, and writes it to
# <model-dir>/prior.vec (Kaldi text vector of probabilities) with <model-dir>/prior_method saying how:
#   counts    frames per pdf of the training alignments (<ali-dir>/pdf_counts), floored (a pdf never
#             seen gets --count-floor frames, so its log prior stays finite)
#   posterior mean network posterior over a random subset of frames of <data-dir> (as Kaldi nnet3)
#   online    the GMM-family model's learned prior (the paper's prior module)

# Begin configuration section.
cmd=run.pl            # job runner
method=counts         # counts | posterior | online
count_floor=1.0       # counts: minimum frames per pdf
num_frames=20000      # posterior: frames averaged
seed=777              # posterior: frame sampling seed
model=                # model; default <model-dir>/final.pt
# End configuration section.

echo "$0 $@"  # Print the command line for logging.

[ -f ./path.sh ] && . ./path.sh
help_message="Usage: $0 [options] <ali-dir|data-dir> <model-dir>
 <ali-dir> (imported alignments with pdf_counts) for --method counts, <data-dir> for posterior;
 the first argument is not used by --method online.
Options:
  --method <counts|posterior|online>  # ($method)
  --count-floor <frames>    # ($count_floor)
  --num-frames <n>          # ($num_frames)
e.g.: $0 --method counts exp/tri1_ali_import exp/dnn"
. utils/parse_options.sh || exit 1

if [ $# -ne 2 ]; then
  echo "$help_message" >&2
  exit 1
fi
src=$1
dir=$2
set -euo pipefail

case "$method" in
  counts) req="$src/pdf_counts" ;;
  posterior) req="$src/feats.scp ${model:-$dir/final.pt}" ;;
  online) req="${model:-$dir/final.pt}" ;;
  *) echo "$0: unknown --method $method (counts, posterior or online)" >&2; exit 1 ;;
esac
for f in $req; do
  if [ ! -f "$f" ]; then echo "$0: no such file $f" >&2; exit 1; fi
done
mkdir -p "$dir/log"
$cmd "$dir/log/compute_prior.log" python -m dgmm.bin.compute_prior --method "$method" \
  --count-floor "$count_floor" --num-frames "$num_frames" --seed "$seed" ${model:+--model "$model"} "$src" "$dir" || {
  echo "$0: computing the prior failed; see $dir/log/compute_prior.log" >&2
  grep -h ERROR "$dir/log/compute_prior.log" >&2 || true
  exit 1
}
cat "$dir/prior_method"
