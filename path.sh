# Environment for dgmm recipes and tools; source it, do not run it:  . ./path.sh
#
# - activates <repo>/.venv when it exists (the Python package dgmm and its dependencies)
# - puts <repo>/utils and <repo>/steps on PATH (run.pl, parse_options.sh, make_fbank.sh, ...)
# - adds Debian's sclite directory (/usr/lib/sctk/bin) when present
# - when KALDI_ROOT is set, puts Kaldi's src/*bin and tools/openfst/bin on PATH, so Kaldi
#   binaries can be mixed with ours (e.g. for cross-checks)
# - LC_ALL=C (Kaldi's sort order for every table), PYTHONUNBUFFERED=1 (timely logs)
# - OPENBLAS_NUM_THREADS=1 unless set: jobs are parallel already (run.pl), and numpy's BLAS threads
#   made the GMM tools 6-13x slower on 2 cores; torch threads are set per tool (--num-threads)
#
# A recipe's path.sh (egs/<corpus>/s5/path.sh) sets DGMM_ROOT to the repository root and sources
# this file; sourced from the root itself, DGMM_ROOT defaults to this file's folder.

if [ -z "${DGMM_ROOT:-}" ]; then
  DGMM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fi
export DGMM_ROOT

if [ -f "$DGMM_ROOT/.venv/bin/activate" ] && [ "${VIRTUAL_ENV:-}" != "$DGMM_ROOT/.venv" ]; then
  # activate uses unset variables; keep the caller's "set -u" from tripping on it
  case $- in *u*) set +u; . "$DGMM_ROOT/.venv/bin/activate"; set -u ;; *) . "$DGMM_ROOT/.venv/bin/activate" ;; esac
fi

export PATH="$DGMM_ROOT/utils:$DGMM_ROOT/steps:$PATH"
[ -d /usr/lib/sctk/bin ] && export PATH="$PATH:/usr/lib/sctk/bin"

if [ -n "${KALDI_ROOT:-}" ]; then
  [ -d "$KALDI_ROOT/src" ] || echo "path.sh: WARNING: KALDI_ROOT=$KALDI_ROOT has no src/ folder" >&2
  for _d in "$KALDI_ROOT"/src/*bin "$KALDI_ROOT/tools/openfst/bin"; do
    [ -d "$_d" ] && PATH="$PATH:$_d"
  done
  unset _d
  export PATH
fi

export LC_ALL=C
export PYTHONUNBUFFERED=1
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
