#!/usr/bin/env bash
# Aligns a data dir with a GMM system (monophone or triphone), as Kaldi's steps/align_si.sh:
# training graphs from <src-dir>/tree and L.fst, Viterbi alignment with beam 10 / retry 40, without
# compiled Kaldi. Writes <align-dir>/{ali.*.gz,final.mdl,tree,final.occs,num_jobs,cmvn_opts} in
# Kaldi's formats (consumed by steps/train_deltas.sh and steps/import_ali.sh).

# Begin configuration section.
nj=4                # number of alignment files (data split by speaker, as Kaldi)
cmd=run.pl          # job runner (the alignment runs as one job)
beam=10             # alignment beam
retry_beam=40       # beam for utterances that fail at --beam
boost_silence=1.0   # factor on optional-silence likelihoods
wav_dir=            # where relative wav.scp paths are resolved when there is no feats.scp
# End configuration section.

echo "$0 $@"  # Print the command line for logging.

[ -f ./path.sh ] && . ./path.sh
help_message="Usage: $0 [options] <data-dir> <lang-dir> <src-dir> <align-dir>
Options:
  --nj <n>                  # number of jobs / alignment files ($nj)
  --cmd <run.pl|queue.pl>   # job runner ($cmd)
  --beam <f> --retry-beam <f>   # alignment beams ($beam, $retry_beam)
  --boost-silence <f>       # silence boost ($boost_silence)
e.g.: $0 --nj 2 data/train data/lang exp/tri1 exp/tri1_ali"
. utils/parse_options.sh || exit 1

if [ $# -ne 4 ]; then
  echo "$help_message" >&2
  exit 1
fi
data=$1
lang=$2
srcdir=$3
dir=$4
set -euo pipefail

for f in "$data/text" "$data/utt2spk" "$lang/L.fst" "$srcdir/final.mdl" "$srcdir/tree"; do
  if [ ! -f "$f" ]; then echo "$0: no such file $f" >&2; exit 1; fi
done
mkdir -p "$dir/log"
opts="--nj $nj --beam $beam --retry-beam $retry_beam --boost-silence $boost_silence"
[ -n "$wav_dir" ] && opts="$opts --wav-dir $wav_dir"
export OPENBLAS_NUM_THREADS=1
$cmd "$dir/log/align.log" python -m dgmm.bin.align_si $opts "$data" "$lang" "$srcdir" "$dir" || exit 1
echo "$0: done aligning data in $dir using model from $srcdir"
