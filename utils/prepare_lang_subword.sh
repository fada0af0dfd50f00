#!/usr/bin/env bash
# Makes a lang dir whose "words" are subword pieces (sentencepiece, word-initial pieces marked with
# U+2581) spelled by the grapheme units of a graphemic lang dir (utils/prepare_lang.sh of a
# `prepare_dict --grapheme` dict), sharing its phones.txt, so that a GMM/DNN trained on the grapheme
# lang decodes with the piece graph. Any piece sequence forms words, with Kaldi's word-position markers;
# subword_boundary.txt in the lang dir tells steps/score.sh to join decoded pieces to words.
# Logic: dgmm/lang/subword.py.

# Begin configuration section.
model=            # sentencepiece model: its pieces join the vocabulary; copied as <lang-dir>/subword.model
sil_prob=0.5      # probability of optional silence between words
no_utt_ids=false  # <piece-text> is plain sentences (no utterance ids)
# End configuration section.

echo "$0 $@"  # Print the command line for logging.

. "$(dirname "$(readlink -f "$0")")/../path.sh"
help_message="Usage: $0 [options] <piece-text> <grapheme-lang-dir> <lang-dir>
<piece-text>: segmented text (python -m dgmm.bin.segment_text), a Kaldi text (or --no-utt-ids true).
Options:
  --no-utt-ids <bool>   # ($no_utt_ids)
  --model <spm.model>   # sentencepiece model ($model)
  --sil-prob <p>        # ($sil_prob)
e.g.: $0 --model data/local/subword/spm.model data/local/subword/train_text data/lang_grapheme data/lang_subword"
. "$DGMM_ROOT/utils/parse_options.sh"

if [ $# -ne 3 ]; then
  echo "$help_message" >&2
  exit 1
fi
for f in "$1" "$2/phones.txt" "$2/L.fst" ${model:+"$model"}; do
  [ -f "$f" ] || { echo "$0: expected file $f to exist" >&2; exit 1; }
done
opts=(--sil-prob "$sil_prob")
[ -n "$model" ] && opts+=(--model "$model")
[ "$no_utt_ids" = true ] && opts+=(--no-utt-ids)
exec python -m dgmm.bin.prepare_lang_subword "${opts[@]}" "$@"
