#!/usr/bin/env bash
# Decodes a data dir with a GMM-HMM system (the "GMM-HMM" baseline row), as Kaldi's steps/decode.sh
# for GMMs: GMM log-likelihoods of the CMVN + delta features (gmm-compute-likes) into
# <decode-dir>/loglikes.scp, then steps/decode.sh (HCLG search and scoring).

# Begin configuration section.
nj=4                  # decoding jobs
cmd=run.pl            # job runner
acwt=0.083333         # acoustic scale (Kaldi's GMM default)
beam=13.0             # decoding beam
lattice_beam=6.0      # lattice beam
max_active=7000       # maximum active states
model=                # default <decode-dir>/../final.mdl
wav_dir=              # where relative wav.scp paths are resolved when there is no feats.scp
skip_scoring=false    # do not score
decode_opts=          # more steps/decode.sh options, e.g. the scoring grid "--min-lmwt 10 --max-lmwt 14"
# End configuration section.

echo "$0 $@"  # Print the command line for logging.

[ -f ./path.sh ] && . ./path.sh
help_message="Usage: $0 [options] <graph-dir> <data-dir> <decode-dir>
Options:
  --nj <n>              # decoding jobs ($nj)
  --acwt <float>        # acoustic scale ($acwt)
  --beam <float>        # beam ($beam)
  --model <file>        # model (default <decode-dir>/../final.mdl)
e.g.: $0 --nj 2 exp/mono/graph data/test exp/mono/decode_test"
. utils/parse_options.sh || exit 1

if [ $# -ne 3 ]; then
  echo "$help_message" >&2
  exit 1
fi
graphdir=$1
data=$2
dir=$3
set -euo pipefail

[ -z "$model" ] && model=$(dirname "$dir")/final.mdl
for f in "$graphdir/HCLG.fst" "$model" "$data/utt2spk"; do
  if [ ! -f "$f" ]; then echo "$0: no such file $f" >&2; exit 1; fi
done
mkdir -p "$dir/log"
export OPENBLAS_NUM_THREADS=1
opts=""
[ -n "$wav_dir" ] && opts="--wav-dir $wav_dir"
$cmd "$dir/log/loglikes.log" python -m dgmm.bin.gmm_decode $opts "$model" "$data" "$dir" || exit 1
# shellcheck disable=SC2086
steps/decode.sh --nj "$nj" --cmd "$cmd" --acwt "$acwt" --beam "$beam" --lattice-beam "$lattice_beam" \
  --max-active "$max_active" --model "$model" --skip-scoring "$skip_scoring" $decode_opts "$graphdir" "$data" "$dir"
