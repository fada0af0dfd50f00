#!/usr/bin/env bash
# Decodes a data dir with an HCLG graph from per-frame acoustic log-likelihoods (Kaldi's
# latgen-faster-mapped). The log-likelihoods are <decode-dir>/loglikes.scp; when absent they are made
# first with steps/make_loglikes.sh from the model in the parent of <decode-dir> (Kaldi's convention).
#
# With KALDI_ROOT set (and latgen-faster-mapped on PATH) compiled Kaldi decodes and writes lattices
# lat.JOB.gz. Otherwise the pip port of Kaldi's LatticeFasterDecoder decodes: it returns the best path
# only (no lattice), so the 1-best of every scoring setting (LM weight x insertion penalty) is written
# instead, <decode-dir>/onebest/<LMWT>_<WIP>.JOB.int, found by re-decoding with acoustic scale 1/LMWT on a
# graph whose word arcs carry the penalty. Its best path at --acwt is <decode-dir>/hyp.JOB.int; the setting
# LMWT = 1/acwt, WIP 0 reuses it (no re-decode: --acwt 0.0833333333 --min-lmwt 12 --max-lmwt 12
# --word-ins-penalty 0.0 costs one decode).
# Scoring (steps/score.sh) follows unless --skip-scoring true.

# Begin configuration section.
nj=4                  # number of parallel jobs
cmd=run.pl            # job runner
acwt=0.1              # acoustic scale used for decoding (and lattice pruning)
beam=13.0             # decoding beam
lattice_beam=8.0      # lattice beam (Kaldi lattices; the pip port only prunes with it)
max_active=7000       # maximum active states per frame
min_active=200        # minimum active states per frame
model=                # model file; default <decode-dir>/../final.mdl
loglikes_opts=        # options for steps/make_loglikes.sh when the archive is made here
use_kaldi=auto        # auto: compiled Kaldi when KALDI_ROOT is set; true; false (pip port)
skip_scoring=false    # do not score
min_lmwt=7            # scoring: smallest LM weight
max_lmwt=17           # scoring: largest LM weight
word_ins_penalty=0.0,0.5,1.0  # scoring: word insertion penalties
dev_decode_dir=       # scoring: take LMWT/WIP from this (dev) decode dir's best_wer
# End configuration section.

echo "$0 $@"  # Print the command line for logging.

[ -f ./path.sh ] && . ./path.sh
help_message="Usage: $0 [options] <graph-dir> <data-dir> <decode-dir>
 <decode-dir> is normally a subfolder of the model dir (e.g. exp/dgmm/decode_test).
Options:
  --nj <n>                 # parallel jobs ($nj)
  --acwt <float>           # acoustic scale ($acwt)
  --beam <float>           # decoding beam ($beam)
  --lattice-beam <float>   # lattice beam ($lattice_beam)
  --max-active <n>         # max active states ($max_active)
  --model <file>           # model (default: <decode-dir>/../final.mdl)
  --use-kaldi <auto|true|false>  # compiled Kaldi decoder ($use_kaldi)
  --skip-scoring <true|false>    # ($skip_scoring)
  --min-lmwt <n> --max-lmwt <n> --word-ins-penalty <list>  # scoring sweep ($min_lmwt..$max_lmwt; $word_ins_penalty)
  --dev-decode-dir <dir>   # scoring: LMWT/WIP chosen on this dev decode
e.g.: $0 --nj 2 --acwt 0.083333 exp/mono/graph data/test exp/mono/decode_test"
. utils/parse_options.sh || exit 1

if [ $# -ne 3 ]; then
  echo "$help_message" >&2
  exit 1
fi
graphdir=$1
data=$2
dir=$3
set -euo pipefail

srcdir=$(dirname "$dir")
[ -z "$model" ] && model=$srcdir/final.mdl
for f in "$graphdir/HCLG.fst" "$graphdir/words.txt" "$model"; do
  if [ ! -f "$f" ]; then echo "$0: no such file $f" >&2; exit 1; fi
done
mkdir -p "$dir/log"

if [ ! -f "$dir/loglikes.scp" ]; then
  echo "$0: $dir/loglikes.scp not found: making it with steps/make_loglikes.sh"
  steps/make_loglikes.sh --nj "$nj" $loglikes_opts "$data" "$srcdir" "$dir"
fi

if [ "$use_kaldi" = auto ]; then
  if [ -n "${KALDI_ROOT:-}" ] && command -v latgen-faster-mapped >/dev/null; then use_kaldi=true; else use_kaldi=false; fi
fi

if $use_kaldi; then
  command -v latgen-faster-mapped >/dev/null || { echo "$0: latgen-faster-mapped not on PATH (KALDI_ROOT?)" >&2; exit 1; }
  # contiguous split of loglikes.scp, as utils/split_scp.pl does
  n=$(wc -l < "$dir/loglikes.scp")
  for j in $(seq "$nj"); do
    awk -v lo=$(( (j-1)*n/nj )) -v hi=$(( j*n/nj )) 'NR>lo && NR<=hi' "$dir/loglikes.scp" > "$dir/loglikes.$j.scp"
  done
  $cmd JOB=1:"$nj" "$dir/log/decode.JOB.log" \
    latgen-faster-mapped --max-active=$max_active --min-active=$min_active --beam=$beam \
      --lattice-beam=$lattice_beam --acoustic-scale=$acwt --allow-partial=true \
      --word-symbol-table="$graphdir/words.txt" "$model" "$graphdir/HCLG.fst" \
      scp:"$dir/loglikes.JOB.scp" "ark:|gzip -c > $dir/lat.JOB.gz"
else
  $cmd JOB=1:"$nj" "$dir/log/decode.JOB.log" \
    python -m dgmm.bin.decode --nj "$nj" --job JOB --acwt "$acwt" --beam "$beam" \
      --lattice-beam "$lattice_beam" --max-active "$max_active" --min-active "$min_active" \
      --word-symbol-table "$graphdir/words.txt" --lmwt-range "$min_lmwt:$max_lmwt" \
      --word-ins-penalty "$word_ins_penalty" "$model" "$graphdir/HCLG.fst" scp:"$dir/loglikes.scp" "$dir" || {
    echo "$0: decoding failed; see $dir/log/decode.*.log" >&2
    grep -h ERROR "$dir"/log/decode.*.log >&2 || true
    exit 1
  }
fi
echo "$nj" > "$dir/num_jobs"

if ! $skip_scoring; then
  steps/score.sh --cmd "$cmd" --min-lmwt "$min_lmwt" --max-lmwt "$max_lmwt" \
    --word-ins-penalty "$word_ins_penalty" ${dev_decode_dir:+--dev-decode-dir "$dev_decode_dir"} \
    "$data" "$graphdir" "$dir"
fi
echo "$0: done decoding $data into $dir"
