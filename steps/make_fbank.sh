#!/usr/bin/env bash
# Computes log-mel filterbank features (Kaldi's compute-fbank-feats arithmetic, via
# kaldi-native-fbank) for a data dir: <fbank-dir>/raw_fbank_<name>.JOB.{ark,scp}, then
# <data>/feats.scp, <data>/utt2num_frames and <data>/utt2dur. Options are read from a Kaldi-style
# config file (--name=value lines). If any job fails (bad audio: the log names the utterance and
# file), feats.scp is left untouched. A truncated WAVE file is used with a warning, as by Kaldi, and
# listed in <log-dir>/truncated_<name>; more than --max-truncated-percent of them fails the stage.

# Begin configuration section.
nj=4                          # number of parallel jobs (split by utterance)
cmd=run.pl                    # job runner, e.g. "run.pl --max-jobs-run 2"
fbank_config=conf/fbank.conf  # Kaldi-style options for compute-fbank-feats
compress=true                 # write Kaldi compressed matrices (as copy-feats --compress=true)
write_utt2num_frames=true     # write <data>/utt2num_frames
write_utt2dur=true            # write <data>/utt2dur
max_truncated_percent=5       # fail when more utterances than this have truncated audio files
                              # (each is used with a warning, as Kaldi; listed in <log-dir>/truncated_<name>)
# End configuration section.

echo "$0 $@"  # Print the command line for logging.

[ -f ./path.sh ] && . ./path.sh
export LC_ALL=C
help_message="Usage: $0 [options] <data-dir> [<log-dir> [<fbank-dir>]]
 <log-dir> defaults to <data-dir>/log, <fbank-dir> to <data-dir>/data.
Options:
  --nj <nj>                        # number of parallel jobs ($nj)
  --cmd <run.pl|queue.pl <opts>>   # how to run jobs ($cmd)
  --fbank-config <config-file>     # fbank options ($fbank_config)
  --compress <true|false>          # compress the archives ($compress)
  --write-utt2num-frames <true|false>  # ($write_utt2num_frames)
  --write-utt2dur <true|false>     # ($write_utt2dur)
  --max-truncated-percent <p>      # most utterances with truncated audio, in % ($max_truncated_percent)
e.g.: $0 --nj 2 --fbank-config conf/fbank.conf data/train exp/make_fbank/train fbank"
. utils/parse_options.sh || exit 1

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
  echo "$help_message" >&2
  exit 1
fi
data=$1
logdir=${2:-$data/log}
fbankdir=${3:-$data/data}
set -euo pipefail

name=$(basename "$data")
for f in "$data/utt2spk" "$data/wav.scp" "$fbank_config"; do
  if [ ! -f "$f" ]; then echo "$0: no such file $f" >&2; exit 1; fi
done
utils/validate_data_dir.sh --no-text --no-feats "$data" >/dev/null || exit 1

mkdir -p "$logdir" "$fbankdir"
fbankdir=$(cd "$fbankdir" && pwd)   # absolute paths in feats.scp, as Kaldi
# The old features and the tables this script rewrites go to .backup/ before the split: split_data
# copies every table of $data into the job dirs, so a rerun after a kill (or a redo) would otherwise
# split the old utt2num_frames/utt2dur there and its job dirs would differ from a first run's.
# utt2num_frames describes the old features even when not rewritten; utt2dur stays unless rewritten.
old=(feats.scp utt2num_frames)
if $write_utt2dur; then old+=(utt2dur); fi
for f in "${old[@]}"; do
  if [ -f "$data/$f" ]; then
    mkdir -p "$data/.backup"
    echo "$0: moving $data/$f to $data/.backup"
    mv "$data/$f" "$data/.backup/"
  fi
done

num_utts=$(wc -l < "$data/utt2spk")
[ "$nj" -gt "$num_utts" ] && nj=$num_utts
utils/split_data.sh --per-utt "$data" "$nj"
sdata=$data/split${nj}utt

$cmd JOB=1:$nj "$logdir/make_fbank_${name}.JOB.log" \
  python3 -m dgmm.bin.make_fbank --config "$fbank_config" --compress "$compress" \
    --write-utt2num-frames "$fbankdir/utt2num_frames_${name}.JOB" \
    --write-utt2dur "$fbankdir/utt2dur_${name}.JOB" --write-truncated "$logdir/truncated_${name}.JOB" \
    "$sdata/JOB" "$fbankdir/raw_fbank_${name}.JOB.ark" "$fbankdir/raw_fbank_${name}.JOB.scp" || {
  echo "$0: feature extraction failed for $data; the ERROR lines of the logs:" >&2
  grep -h ERROR "$logdir"/make_fbank_"${name}".*.log >&2 || true
  exit 1
}

# Merge only when every job succeeded; each merged file appears atomically.
merge() {  # <out> <in-files...>
  local out=$1; shift
  sort -k1,1 "$@" > "$out.tmp" && mv "$out.tmp" "$out"   # no pid: a rerun overwrites a killed run's
}
# The report of truncated audio (Kaldi warns and uses the samples present); too many is a broken corpus.
parts=(); for n in $(seq "$nj"); do parts+=("$logdir/truncated_${name}.$n"); done
merge "$logdir/truncated_${name}" "${parts[@]}"
rm -f "${parts[@]}"
nt=$(wc -l < "$logdir/truncated_${name}")
if [ "$nt" -gt 0 ]; then
  echo "$0: WARNING: $nt of $num_utts utterances have truncated audio files (the samples present were used);" \
    "they are listed in $logdir/truncated_${name}" >&2
  if awk -v n="$nt" -v t="$num_utts" -v p="$max_truncated_percent" 'BEGIN { exit !(n * 100 > p * t) }'; then
    echo "$0: more than $max_truncated_percent% of the utterances have truncated audio: probably a serious" \
      "error (an incomplete copy of the corpus?); no $data/feats.scp written (--max-truncated-percent)" >&2
    exit 1
  fi
fi
scps=(); for n in $(seq "$nj"); do scps+=("$fbankdir/raw_fbank_${name}.$n.scp"); done
merge "$data/feats.scp" "${scps[@]}"
for f in utt2num_frames utt2dur; do
  parts=(); for n in $(seq "$nj"); do parts+=("$fbankdir/${f}_${name}.$n"); done
  want=write_$f
  if ${!want}; then
    merge "$data/$f" "${parts[@]}"
  fi
  rm -f "${parts[@]}"
done

nf=$(wc -l < "$data/feats.scp")
if [ "$nf" -ne "$num_utts" ]; then
  echo "$0: only $nf of $num_utts utterances have features (see $logdir)" >&2
  exit 1
fi
echo "$0: succeeded making fbank features for $name ($nf utterances, $nt with truncated audio)"
