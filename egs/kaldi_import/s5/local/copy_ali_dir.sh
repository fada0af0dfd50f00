#!/usr/bin/env bash
# Copies a Kaldi alignment dir (ali.*.gz, final.mdl, tree, num_jobs, cmvn_opts, ...: its files, not its
# subdirs) to <dir>, following symbolic links, so the recipe never writes into the user's Kaldi tree.
# A final.mdl that is a small text file naming the model (what a copy tool leaves of Kaldi's
# "final.mdl -> ../tri3/final.mdl" link) is replaced by a copy of the model it names.

echo "$0 $@"
if [ $# -ne 2 ]; then
  echo "Usage: $0 <kaldi-ali-dir> <dir>
e.g.: $0 /kaldi/egs/wsj/s5/exp/tri3_ali exp/kaldi_ali_train" >&2
  exit 1
fi
src=$1
dir=$2
set -euo pipefail

for f in final.mdl tree ali.1.gz; do
  [ -e "$src/$f" ] || { echo "$0: expected file $src/$f to exist" >&2; exit 1; }
done
rm -rf "$dir"
mkdir -p "$dir"
for f in "$src"/*; do
  [ -f "$f" ] && cp -L "$f" "$dir/"
done
mdl=$dir/final.mdl
if [ "$(stat -c %s "$mdl")" -lt 1024 ] && ! LC_ALL=C grep -q '[^[:print:][:space:]]' "$mdl"; then
  target=$(head -n 1 "$mdl")
  case $target in /*) ;; *) target=$src/$target ;; esac
  [ -f "$target" ] || { echo "$0: $src/final.mdl names $target, which does not exist" >&2; exit 1; }
  cp -L "$target" "$mdl"
  echo "$0: $src/final.mdl is a text file naming $target: copied that model"
fi
echo "$0: copied $src to $dir"
