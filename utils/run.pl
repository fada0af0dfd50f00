#!/usr/bin/env bash
# Local parallel job runner with the command line of Kaldi's utils/run.pl (the name is kept so that
# cmd.sh files written for Kaldi work unchanged; this one is written in bash).
#
#   run.pl [options] [JOB=1:N] <log-file> <command> [<args>...]
#
# With JOB=1:N (any variable name works, e.g. TASK=1:4) the command runs N times, JOB replaced by
# the job number in the log-file name and in the command; at most --max-jobs-run jobs run at once.
# Each job writes its own log: the command line, start time, the command's stdout+stderr, its
# exit code and end time. run.pl exits 0 when every job succeeded, else 1 naming the failed logs.
#
# The arguments are joined into one bash command line as Kaldi does: a single-word argument is
# inserted as is (so an escaped \| becomes a pipe), others are quoted.
#
# Options: --max-jobs-run N (default: unlimited). Kaldi's grid options (--num-threads N, --mem M,
# --gpu N, --config F, ...) are accepted and ignored, as by Kaldi's run.pl.

usage="Usage: $0 [--max-jobs-run N] [JOB=1:N] <log-file> <command> [<args>...]
e.g.: $0 JOB=1:4 exp/foo/log/align.JOB.log echo JOB"

max_jobs_run=0
while [ $# -gt 0 ]; do
  case "$1" in
    --max-jobs-run) max_jobs_run="${2:-}"; shift 2 || break ;;
    --max-jobs-run=*) max_jobs_run="${1#*=}"; shift ;;
    --*=*) shift ;;
    --*) shift 2 || break ;;
    -V|-q) shift ;;
    *) break ;;
  esac
done
if ! [[ "$max_jobs_run" =~ ^[0-9]+$ ]]; then
  echo "$0: --max-jobs-run needs a non-negative integer, got '$max_jobs_run'" >&2; exit 1
fi

jobvar=""; first=1; last=1
if [[ "${1:-}" =~ ^([A-Za-z_][A-Za-z0-9_]*)=([0-9]+):([0-9]+)$ ]]; then
  jobvar=${BASH_REMATCH[1]}; first=${BASH_REMATCH[2]}; last=${BASH_REMATCH[3]}; shift
  if [ "$first" -gt "$last" ]; then
    echo "$0: empty job range $jobvar=$first:$last" >&2; exit 1
  fi
elif [[ "${1:-}" =~ ^([A-Za-z_][A-Za-z0-9_]*)=([0-9]+)$ ]]; then
  jobvar=${BASH_REMATCH[1]}; first=${BASH_REMATCH[2]}; last=$first; shift
elif [[ "${1:-}" =~ ^[A-Za-z_][A-Za-z0-9_]*=.*:.*$ ]]; then
  echo "$0: bad job range '$1' (expected e.g. JOB=1:4)" >&2; exit 1
fi
if [ $# -lt 2 ]; then
  echo "$0: no log file and command given" >&2; printf '%s\n' "$usage" >&2; exit 1
fi
logfile=$1; shift
if [ -n "$jobvar" ] && [ "$first" -ne "$last" ] && ! [[ "$logfile" =~ (^|[^A-Za-z0-9_])$jobvar([^A-Za-z0-9_]|$) ]]; then
  echo "$0: $last jobs would share one log file $logfile: put $jobvar in its name" >&2; exit 1
fi

cmd=""
for a in "$@"; do
  if [[ "$a" =~ ^[^[:space:]]+$ ]]; then cmd+="$a "
  elif [[ "$a" == *\"* ]]; then cmd+="'${a//\'/\'\\\'\'}' "
  else cmd+="\"$a\" "
  fi
done

# Replace the job variable as a whole word-ish token, like Kaldi's s/\bJOB\b/n/g.
subst() {
  if [ -n "$jobvar" ]; then
    printf '%s' "$1" | sed -E "s/(^|[^A-Za-z0-9_])$jobvar([^A-Za-z0-9_]|\$)/\\1$2\\2/g; s/(^|[^A-Za-z0-9_])$jobvar([^A-Za-z0-9_]|\$)/\\1$2\\2/g"
  else
    printf '%s' "$1"
  fi
}

run_one() {  # <job-number>
  local n=$1 log jcmd start code end
  log=$(subst "$logfile" "$n"); jcmd=$(subst "$cmd" "$n")
  mkdir -p "$(dirname "$log")" || exit 1
  start=$(date +%s)
  { echo "# $jcmd"; echo "# Started at $(date)"; echo "#"; } > "$log" || exit 1
  ( bash -c "$jcmd" ) >> "$log" 2>&1 </dev/null
  code=$?
  end=$(date +%s)
  { echo "# Accounting: time=$((end - start)) threads=1"
    echo "# Ended (code $code) at $(date), elapsed time $((end - start)) seconds"; } >> "$log"
  exit $code
}

declare -A pid_of
for ((n = first; n <= last; n++)); do
  if [ "$max_jobs_run" -gt 0 ]; then
    while [ "$(jobs -pr | wc -l)" -ge "$max_jobs_run" ]; do wait -n; done
  fi
  run_one "$n" &
  pid_of[$n]=$!
done

failed=()
for ((n = first; n <= last; n++)); do
  wait "${pid_of[$n]}" || failed+=("$(subst "$logfile" "$n")")
done

if [ ${#failed[@]} -gt 0 ]; then
  total=$((last - first + 1))
  if [ "$total" -eq 1 ]; then
    echo "$0: job failed, log is in ${failed[0]}" >&2
  else
    echo "$0: ${#failed[@]} / $total failed, log is in $(subst "$logfile" '*'); failed: ${failed[*]}" >&2
  fi
  exit 1
fi
exit 0
