# Environment of this recipe: the dgmm repository root is three levels up (override with DGMM_ROOT).
export DGMM_ROOT=${DGMM_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
if [ ! -f "$DGMM_ROOT/path.sh" ]; then
  echo "path.sh: $DGMM_ROOT/path.sh not found; set DGMM_ROOT to the dgmm repository root" >&2
  return 1
fi
. "$DGMM_ROOT/path.sh"
