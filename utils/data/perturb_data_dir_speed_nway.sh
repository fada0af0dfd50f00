#!/usr/bin/env bash
# Speed perturbation of a data dir at any set of factors (Kaldi does this with one
# utils/data/perturb_data_dir_speed.sh per factor and utils/combine_data.sh): <destdir> holds <srcdir> at
# each speed, the 1.0 copy with the original ids, the others prefixed sp<factor>- (audio piped through
# "sox ... speed <f>"), with utt2dur and utt2uniq. Make features for it afterwards.
# Differences from Kaldi: utt2dur is measured in memory (not written into <srcdir>); with segments,
# recording ids take the utterance prefix.
# Logic: dgmm/data/perturb.py (python -m dgmm.bin.perturb_data_dir_speed).

# Begin configuration section.
factors="0.9 1.0 1.1"        # speed factors (Kaldi's standard 3-way set)
always_include_prefix=false  # also prefix the 1.0 copy (sp1.0-)
include_spk_prefix=true      # prefix speaker ids too; false keeps each copy with its original speaker
# End configuration section.

help_message="Usage: $0 [options] <srcdir> <destdir>
Speed-perturbs <srcdir> at each of --factors into <destdir>.
Options:
  --factors \"<f1> <f2> ...\"             # speed factors ($factors)
  --always-include-prefix <true|false>  # prefix sp1.0- for the original data ($always_include_prefix)
  --include-spk-prefix <true|false>     # prefix speaker ids ($include_spk_prefix)
e.g.: $0 --factors \"0.9 0.95 1.0 1.05 1.1\" data/train data/train_sp"
utils=$(dirname "$(readlink -f "$0")")/..
. "$utils/parse_options.sh" || exit 1
if [ $# -ne 2 ]; then
  echo "$help_message" >&2
  exit 1
fi
srcdir=$1; destdir=$2
[ -f "$srcdir/wav.scp" ] || { echo "$0: expected $srcdir/wav.scp to exist" >&2; exit 1; }
if [ -f "$destdir/feats.scp" ]; then
  echo "$0: $destdir/feats.scp already exists: refusing to run this (please delete $destdir/feats.scp if you want this to run)" >&2
  exit 1
fi
. "$utils/../path.sh"
set -e
python3 -m dgmm.bin.perturb_data_dir_speed --factors "$(echo $factors | tr ' ' ',')" \
  --always-include-prefix "$always_include_prefix" --include-spk-prefix "$include_spk_prefix" "$srcdir" "$destdir"
echo "$0: generated speed-perturbed version (factors $factors) of data in $srcdir, in $destdir"
if ! "$utils/validate_data_dir.sh" --no-feats --no-text "$destdir"; then
  echo "$0: Validation failed.  If it is a sorting issue, try the option '--always-include-prefix true'." >&2
  exit 1
fi
