#!/usr/bin/env bash
# Computes cepstral mean and variance normalisation statistics of a data dir's features, as Kaldi's
# compute-cmvn-stats: one 2 x (dim+1) double matrix per speaker (default), or the statistics of all
# utterances under every speaker (--global), or identity statistics (--fake). Writes
# <cmvn-dir>/cmvn_<name>.{ark,scp} and <data>/cmvn.scp (readable by Kaldi's apply-cmvn --utt2spk).

# Begin configuration section.
fake=false     # identity stats (mean 0, variance 1): features are used unnormalised
global=false   # one set of stats over all speakers, written under every speaker
# End configuration section.

echo "$0 $@"  # Print the command line for logging.

[ -f ./path.sh ] && . ./path.sh
export LC_ALL=C
help_message="Usage: $0 [options] <data-dir> [<log-dir> [<cmvn-dir>]]
 <log-dir> defaults to <data-dir>/log, <cmvn-dir> to <data-dir>/data.
Options:
  --fake <true|false>     # identity statistics ($fake)
  --global <true|false>   # global instead of per-speaker statistics ($global)
e.g.: $0 data/train exp/make_fbank/train fbank"
# Kaldi's --fake takes no value; accept the bare flags too.
args=()
for a in "$@"; do
  case "$a" in --fake|--global) args+=("$a=true") ;; *) args+=("$a") ;; esac
done
set -- "${args[@]}"
. utils/parse_options.sh || exit 1

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
  echo "$help_message" >&2
  exit 1
fi
data=$1
logdir=${2:-$data/log}
cmvndir=${3:-$data/data}
set -euo pipefail

name=$(basename "$data")
for f in "$data/feats.scp" "$data/spk2utt"; do
  if [ ! -f "$f" ]; then echo "$0: no such file $f" >&2; exit 1; fi
done
mkdir -p "$logdir" "$cmvndir"
cmvndir=$(cd "$cmvndir" && pwd)

opts=()
$fake && opts+=(--fake)
$global && opts+=(--global)
utils/run.pl "$logdir/cmvn_${name}.log" \
  python3 -m dgmm.bin.compute_cmvn_stats "${opts[@]}" "$data" "$cmvndir/cmvn_${name}.ark" "$cmvndir/cmvn_${name}.scp" || {
  echo "$0: error computing CMVN stats for $data (see $logdir/cmvn_${name}.log):" >&2
  grep -h ERROR "$logdir/cmvn_${name}.log" >&2 || true
  exit 1
}
cp "$cmvndir/cmvn_${name}.scp" "$data/cmvn.scp.tmp"   # no pid: a rerun overwrites a killed run's
mv "$data/cmvn.scp.tmp" "$data/cmvn.scp"

nc=$(wc -l < "$data/cmvn.scp"); ns=$(wc -l < "$data/spk2utt")
if [ "$nc" -ne "$ns" ]; then
  echo "$0: cmvn.scp has $nc speakers but spk2utt has $ns" >&2; exit 1
fi
echo "$0: succeeded creating CMVN stats for $name"
