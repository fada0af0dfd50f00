#!/usr/bin/env bash
# Imports the alignments of a Kaldi experiment dir (any steps/align_*.sh or training output:
# ali.*.gz, final.mdl, tree, num_jobs) as frame labels for dgmm training: pdf_ali.{ark,scp}
# (pdf-id per frame, as ali-to-pdf), phone_ali.{ark,scp} (phone per frame, as
# ali-to-phones --per-frame=true), copies of final.mdl, tree and phones.txt, num_pdfs, pdf_counts
# (frames per pdf, Kaldi text vector) and import_report.txt. Frame counts must match
# <data-dir>/utt2num_frames. On any error nothing half-written is left in <dest-dir>.

# Begin configuration section.
cmd=utils/run.pl      # job runner
length_tolerance=0   # trim/edge-pad alignments differing from utt2num_frames by up to N frames
pdf_ali=false        # true: the --ali alignments hold pdf-ids (ali-to-pdf output), not transition-ids
lang=                # lang dir for phones.txt when <kaldi-ali-dir> has none
ali=                 # rspecifier to read instead of <kaldi-ali-dir>/ali.*.gz
# End configuration section.

echo "$0 $@"  # Print the command line for logging.

[ -f ./path.sh ] && . ./path.sh
help_message="Usage: $0 [options] <kaldi-ali-dir> <data-dir> <dest-dir>
Options:
  --length-tolerance <N>     # trim/pad up to N frames per utterance, reported ($length_tolerance)
  --pdf-ali <true|false>     # alignments are pdf-ids already ($pdf_ali)
  --lang <lang-dir>          # take phones.txt from here if <kaldi-ali-dir> has none
  --cmd <run.pl|queue.pl <opts>>  # how to run the job ($cmd)
  --ali <rspecifier>         # e.g. \"ark:gunzip -c exp/tri3_ali/pdf_ali.1.gz|\"
e.g.: $0 --lang data/lang exp/tri3_ali data/train exp/tri3_ali_dgmm"
. utils/parse_options.sh || exit 1

if [ $# -ne 3 ]; then
  echo "$help_message" >&2
  exit 1
fi
alidir=$1
data=$2
dir=$3
set -euo pipefail

for f in "$alidir/final.mdl" "$alidir/tree" "$data/utt2num_frames"; do
  if [ ! -f "$f" ]; then echo "$0: expected file $f to exist" >&2; exit 1; fi
done

opts=(--length-tolerance "$length_tolerance")
$pdf_ali && opts+=(--pdf-ali)
[ -n "$lang" ] && opts+=(--lang "$lang")
[ -n "$ali" ] && opts+=(--ali "$ali")

mkdir -p "$dir/log"
$cmd "$dir/log/import_ali.log" \
  python -m dgmm.bin.import_ali "${opts[@]}" "$alidir" "$data" "$dir" || {
  echo "$0: importing $alidir failed:" >&2
  grep -h ERROR "$dir/log/import_ali.log" >&2 || true
  exit 1
}
grep -h WARNING "$dir/log/import_ali.log" >&2 || true
echo "$0: imported the alignments of $alidir into $dir (report: $dir/import_report.txt)"
