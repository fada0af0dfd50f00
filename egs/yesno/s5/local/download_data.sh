#!/usr/bin/env bash
# Downloads and unpacks the yesno corpus (openslr.org resource 1) into <dir>/waves_yesno,
# unless it is already there.

if [ $# -ne 2 ]; then
  echo "Usage: $0 <url> <dir>" >&2
  echo "e.g.: $0 http://www.openslr.org/resources/1/waves_yesno.tar.gz downloads" >&2
  exit 1
fi
set -euo pipefail
url=$1
dir=$2
[ -d "$dir/waves_yesno" ] && exit 0
mkdir -p "$dir"
part=$dir/waves_yesno.tar.gz.part
if ! { wget -q -T 30 -t 2 -O "$part" "$url" || curl -fsSL --connect-timeout 30 -o "$part" "$url"; }; then
  rm -f "$part"
  echo "$0: cannot download $url (offline?); pass --corpus-dir DIR with the yesno .wav files" >&2
  exit 1
fi
mv "$part" "$dir/waves_yesno.tar.gz"
tar -xzf "$dir/waves_yesno.tar.gz" -C "$dir"
echo "$0: unpacked $url into $dir/waves_yesno"
