#!/usr/bin/env bash
# Creates the virtual environment <venv> (default .venv) and installs dgmm with its test extras.
#
# torch: where a local CPU build of torch is offered to pip (e.g. a wheel in a --find-links folder,
# as on our CI machines), it is taken first with --no-index, so pip never downloads the multi-GB CUDA
# build. Elsewhere pip resolves the range in pyproject.toml as usual. Choose your own build with
#   TORCH_SPEC="torch==2.5.1" make setup      or   TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu make setup
# Debian packages (sctk for sclite, sox, flac, espeak-ng) are installed when running as root and missing;
# otherwise a warning names them and set-up continues.
set -euo pipefail
venv=${1:-.venv}
torch_local=${TORCH_LOCAL:-torch==2.13.0}

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
pip="$venv/bin/python -m pip"
if [ -n "${TORCH_SPEC:-}" ]; then
  $pip install ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} "$TORCH_SPEC"
elif ! $venv/bin/python -c 'import torch' 2>/dev/null; then
  # A local build is one pip can fetch with --no-index (its dependencies may come from the index).
  if $pip download -q --no-index --no-deps -d "$(mktemp -d)" "$torch_local" >/dev/null 2>&1; then
    echo "setup_env.sh: installing local CPU build $torch_local"
    $pip install "$torch_local"
  else
    echo "setup_env.sh: no local $torch_local; pip will resolve torch from the index"
  fi
fi
$pip install -e ".[test]"

missing=()
command -v sclite >/dev/null || [ -x /usr/lib/sctk/bin/sclite ] || missing+=(sctk)
command -v sox >/dev/null || missing+=(sox)
command -v flac >/dev/null || missing+=(flac)
command -v espeak-ng >/dev/null || missing+=(espeak-ng)   # synthesises egs/digits
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup_env.sh: installing Debian packages: ${missing[*]}"
    (apt-get install -y -q "${missing[@]}" || { apt-get update -q && apt-get install -y -q "${missing[@]}"; }) \
      || echo "setup_env.sh: WARNING: could not install ${missing[*]}; continuing"
  else
    echo "setup_env.sh: WARNING: missing Debian packages ${missing[*]} (install them for sclite/sox/flac); continuing"
  fi
fi
