#!/usr/bin/env bash
# Copies a lang dir to <out-lang-dir> and adds G.fst made from an ARPA LM (arpa2fst with #0 as the
# back-off disambiguation symbol), as Kaldi's utils/format_lm.sh. With --grammar isolated|loop,
# G.fst is a one-word (isolated-word task) or word-loop grammar instead and there is no ARPA argument.
# Logic: dgmm/bin/format_lm.py, dgmm/lang/ngram.py.

# Begin configuration section.
grammar=          # isolated | loop: write a word grammar instead of an ARPA LM
words=            # the grammar's words, one per line (default: the lexicon's non-silence words)
# End configuration section.

echo "$0 $@"  # Print the command line for logging.

. "$(dirname "$(readlink -f "$0")")/../path.sh"
help_message="Usage: $0 [options] <lang-dir> <arpa-LM> [<lexicon>] <out-lang-dir>
   or: $0 --grammar isolated|loop [--words <file>] <lang-dir> <out-lang-dir>
(<lexicon> is accepted for compatibility with Kaldi's format_lm.sh and not used.)
e.g.: $0 data/lang data/local/lm/3g.arpa.gz data/local/dict/lexicon.txt data/lang_test_tg
      $0 --grammar isolated data/lang data/lang_test"
. "$DGMM_ROOT/utils/parse_options.sh"

opts=()
[ -n "$words" ] && opts+=(--words "$words")
if [ -n "$grammar" ]; then
  [ $# -eq 2 ] || { echo "$help_message" >&2; exit 1; }
  exec python -m dgmm.bin.format_lm --grammar "$grammar" "${opts[@]}" "$1" "$2"
fi
if [ $# -eq 4 ]; then set -- "$1" "$2" "$4"; fi
[ $# -eq 3 ] || { echo "$help_message" >&2; exit 1; }
[ -f "$2" ] || { echo "$0: expected file $2 to exist" >&2; exit 1; }
exec python -m dgmm.bin.format_lm "$1" "$2" "$3"
