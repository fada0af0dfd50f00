# Kaldi-style option parsing for bash scripts; source it after the script's defaults:
#
#   nj=4                # number of jobs
#   compress=true       # compress the archives
#   . utils/parse_options.sh
#
# Semantics (as Kaldi's utils/parse_options.sh):
#   --foo-bar value and --foo-bar=value set the shell variable foo_bar, which must already be set
#   (an unknown option is an error that prints $help_message, the script's usage);
#   a variable whose default is true/false accepts only true or false;
#   --config FILE sources FILE (shell assignments such as nj=8) before any other option is applied,
#   so options on the command line override the config file wherever they appear;
#   --help / -h prints $help_message and exits 0;
#   parsing stops at the first argument not starting with "--" (or after a lone "--").
# The remaining positional arguments are left in "$@".

__po_usage() {
  if [ -n "${help_message:-}" ]; then printf '%s\n' "$help_message" >&2; fi
}

# Config files first (lower priority than every command-line option).
__po_i=1
while [ $__po_i -le $# ]; do
  eval "__po_arg=\${$__po_i}"
  case "$__po_arg" in
    --config=*) __po_cfg="${__po_arg#--config=}" ;;
    --config) __po_i=$((__po_i + 1)); eval "__po_cfg=\${$__po_i:-}" ;;
    --) break ;;
    --*=*) __po_i=$((__po_i + 1)); continue ;;
    --*) __po_i=$((__po_i + 2)); continue ;;
    *) break ;;
  esac
  if [ -z "$__po_cfg" ] || [ ! -r "$__po_cfg" ]; then
    echo "$0: config file '$__po_cfg' not found (--config)" >&2; exit 1
  fi
  . "$__po_cfg" || { echo "$0: error sourcing config file $__po_cfg" >&2; exit 1; }
  __po_i=$((__po_i + 1))
done

while true; do
  [ $# -eq 0 ] && break
  case "$1" in
    --) shift; break ;;
    --help|-h) if [ -n "${help_message:-}" ]; then printf '%s\n' "$help_message"; else echo "No help found." >&2; fi
               exit 0 ;;
    --*=*) __po_opt="${1%%=*}"; __po_val="${1#*=}"; shift ;;
    --*) __po_opt="$1"
         if [ $# -lt 2 ]; then
           echo "$0: option $1 needs a value" >&2; __po_usage; exit 1
         fi
         __po_val="$2"; shift 2 ;;
    *) break ;;
  esac
  __po_name=$(printf '%s' "${__po_opt#--}" | tr '-' '_')
  [ "$__po_name" = config ] && continue   # already sourced above
  case "$__po_name" in
    ''|[0-9]*|*[!A-Za-z0-9_]*) echo "$0: invalid option $__po_opt" >&2; __po_usage; exit 1 ;;
  esac
  if eval "[ -z \"\${$__po_name+set}\" ]"; then
    echo "$0: invalid option $__po_opt" >&2; __po_usage; exit 1
  fi
  eval "__po_old=\${$__po_name}"
  if [ "$__po_old" = true ] || [ "$__po_old" = false ]; then
    if [ "$__po_val" != true ] && [ "$__po_val" != false ]; then
      echo "$0: expected \"true\" or \"false\" for $__po_opt, got \"$__po_val\"" >&2
      __po_usage; exit 1
    fi
  fi
  eval "$__po_name=\"\$__po_val\""
done
unset __po_opt __po_val __po_name __po_old __po_i __po_arg __po_cfg
unset -f __po_usage
true
