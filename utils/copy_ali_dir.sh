#!/usr/bin/env bash
# Copies a Kaldi alignment dir (ali.*.gz, final.mdl, tree, num_jobs, cmvn_opts, ...: its files, not its
# subdirs) to <dir>, following symbolic links, so a recipe never writes into the user's Kaldi tree; with
# --link true, <dir> is made of absolute symbolic links instead (no copy). A final.mdl that is a small
# text file naming the model (what a copy tool leaves of Kaldi's "final.mdl -> ../tri3/final.mdl" link)
# is replaced by the model it names.

link=false   # true: symbolic links instead of copies

echo "$0 $@"
. "$(dirname "$0")/parse_options.sh" || exit 1
if [ $# -ne 2 ]; then
  echo "Usage: $0 [--link <true|false>] <kaldi-ali-dir> <dir>
e.g.: $0 /kaldi/egs/wsj/s5/exp/tri3_ali exp/kaldi_ali_train" >&2
  exit 1
fi
src=$(readlink -f "$1")
dir=$2
set -euo pipefail

put() { if $link; then ln -sfn "$(readlink -f "$1")" "$2"; else cp -L "$1" "$2"; fi; }

for f in final.mdl tree ali.1.gz; do
  [ -e "$src/$f" ] || { echo "$0: expected file $src/$f to exist" >&2; exit 1; }
done
rm -rf "$dir"
mkdir -p "$dir"
for f in "$src"/*; do
  [ -f "$f" ] && put "$f" "$dir/$(basename "$f")"
done
mdl=$src/final.mdl
if [ "$(stat -L -c %s "$mdl")" -lt 1024 ] && ! LC_ALL=C grep -q '[^[:print:][:space:]]' "$mdl"; then
  target=$(head -n 1 "$mdl")
  case $target in /*) ;; *) target=$src/$target ;; esac
  [ -f "$target" ] || { echo "$0: $mdl names $target, which does not exist" >&2; exit 1; }
  rm -f "$dir/final.mdl"
  put "$target" "$dir/final.mdl"
  echo "$0: $mdl is a text file naming $target: used that model"
fi
echo "$0: $($link && echo linked || echo copied) $src to $dir"
