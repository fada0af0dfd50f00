#!/usr/bin/env bash
# Usage: utils/download_and_untar.sh <url> <dir>
# Downloads a .tar.gz/.tgz to <dir> and unpacks it there, once: <dir>/.<archive>.complete marks it done.
# Offline, it fails with a message asking for the corpus dir option instead.
if [ $# -ne 2 ]; then
  echo "Usage: $0 <url> <dir>" >&2
  echo "e.g.: $0 https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/tags/v1.0.10.tar.gz downloads" >&2
  exit 1
fi
set -euo pipefail
url=$1; dir=$2
name=$(basename "$url")
[ -f "$dir/.$name.complete" ] && exit 0
mkdir -p "$dir"
part=$dir/$name.part
if ! { wget -q -T 30 -t 2 -O "$part" "$url" || curl -fsSL --connect-timeout 30 -o "$part" "$url"; }; then
  rm -f "$part"
  echo "$0: cannot download $url (offline?); download it yourself or pass the recipe's --corpus-dir" >&2
  exit 1
fi
mv "$part" "$dir/$name"
tar -xzf "$dir/$name" -C "$dir"
touch "$dir/.$name.complete"
