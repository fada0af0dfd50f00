#!/usr/bin/env bash
# Makes a lang dir (phones.txt, words.txt, topo, L.fst, L_disambig.fst, oov.*, phones/) from a dict dir,
# file for file as Kaldi's utils/prepare_lang.sh (same arguments and main options).
# Logic: dgmm/lang/prepare_lang.py.

# Begin configuration section.
num_sil_states=5                  # HMM states of silence phones
num_nonsil_states=3               # HMM states of other phones
position_dependent_phones=true    # word-position markers _B _E _I _S on phones
share_silence_phones=false        # one tree root for all silence phones
share_state_roots=true            # one tree root per phone for all its states
sil_prob=0.5                      # probability of optional silence between words
# End configuration section.

echo "$0 $@"  # Print the command line for logging.

. "$(dirname "$(readlink -f "$0")")/../path.sh"
help_message="Usage: $0 [options] <dict-src-dir> <oov-dict-entry> <tmp-dir> <lang-dir>
<dict-src-dir> should contain lexicon.txt (or lexiconp.txt), silence_phones.txt,
nonsilence_phones.txt, optional_silence.txt and extra_questions.txt.
Options:
  --num-sil-states <n>                  # ($num_sil_states)
  --num-nonsil-states <n>               # ($num_nonsil_states)
  --position-dependent-phones <bool>    # ($position_dependent_phones)
  --share-silence-phones <bool>         # ($share_silence_phones)
  --share-state-roots <bool>            # ($share_state_roots)
  --sil-prob <p>                        # ($sil_prob; 0 <= p < 1)
e.g.: $0 data/local/dict \"<UNK>\" data/local/lang data/lang"
. "$DGMM_ROOT/utils/parse_options.sh"

if [ $# -ne 4 ]; then
  echo "$help_message" >&2
  exit 1
fi
for f in silence_phones.txt nonsilence_phones.txt optional_silence.txt; do
  [ -f "$1/$f" ] || { echo "$0: expected file $1/$f to exist" >&2; exit 1; }
done
[ -f "$1/lexicon.txt" ] || [ -f "$1/lexiconp.txt" ] || \
  { echo "$0: expected file $1/lexicon.txt or $1/lexiconp.txt to exist" >&2; exit 1; }

exec python -m dgmm.bin.prepare_lang --num-sil-states "$num_sil_states" --num-nonsil-states "$num_nonsil_states" \
  --position-dependent-phones "$position_dependent_phones" --share-silence-phones "$share_silence_phones" \
  --share-state-roots "$share_state_roots" --sil-prob "$sil_prob" "$@"
