#!/usr/bin/env bash
# Usage: utils/uptodate.sh <output> [<input>...]
# Exit 0 when <output> exists and is newer than every <input> (make's rule), else 1. Recipes use it to
# skip finished stages: delete a stage's output (or touch an input) and that stage, and every stage
# whose inputs it writes, runs again.
[ $# -ge 1 ] || { echo "Usage: $0 <output> [<input>...]" >&2; exit 2; }
out=$1; shift
[ -e "$out" ] || exit 1
for f in "$@"; do
  [ -e "$f" ] || exit 1
  [ "$f" -nt "$out" ] && exit 1
done
exit 0
