#!/usr/bin/env bash
# Makes <dir> a view of a Kaldi alignment dir (ali.*.gz, final.mdl, tree, num_jobs, ...) made of absolute
# symbolic links, so the pipeline reads it without copying. A final.mdl that is a small text file naming
# the model (e.g. "../tri2b/final.mdl", as a symbolic link flattened by a copy) becomes a link to that model.

echo "$0 $@"
if [ $# -ne 2 ]; then
  echo "Usage: $0 <kaldi-ali-dir> <dir>
e.g.: $0 /path/to/kaldi/egs/mini_librispeech/s5/exp/tri2b_ali_train exp/kaldi_ali_train" >&2
  exit 1
fi
src=$(readlink -f "$1")
dir=$2
set -euo pipefail

for f in final.mdl tree ali.1.gz; do
  [ -e "$src/$f" ] || { echo "$0: expected file $src/$f to exist" >&2; exit 1; }
done
mkdir -p "$dir"
for f in "$src"/*; do
  [ -f "$f" ] || continue
  ln -sfn "$(readlink -f "$f")" "$dir/$(basename "$f")"
done
mdl=$src/final.mdl
if [ "$(stat -L -c %s "$mdl")" -lt 1024 ] && LC_ALL=C grep -qv '[^[:print:]]' "$mdl"; then
  target=$(head -n 1 "$mdl")
  case $target in /*) ;; *) target=$src/$target ;; esac
  [ -f "$target" ] || { echo "$0: $mdl names $target, which does not exist" >&2; exit 1; }
  ln -sfn "$(readlink -f "$target")" "$dir/final.mdl"
  echo "$0: $mdl is a text file naming $target: linked that model instead"
fi
