"""Graphemic lexicons: every word spelled by its letters, for a language without a pronunciation lexicon.

A word's units are its letters, lower-cased (``DON'T`` -> ``d o n t``): lower case keeps them apart from
the upper-case silence phones (``SIL``, ``SPN``). Characters that are not letters (apostrophes, hyphens,
digits) are not spoken as such and are left out of the spelling; a word without any letter has no
spelling. The units then go through ``utils/prepare_lang.sh`` like phones, which adds Kaldi's
word-position markers (``d_B o_I n_I t_E``).
"""

from __future__ import annotations

from typing import Collection, Iterable

from dgmm.lang.lexicon import LexiconEntry


def spell(word: str) -> tuple[str, ...]:
    """The grapheme units of ``word``: its letters (``str.isalpha``), lower-cased, in order."""
    return tuple(c for c in word.lower() if c.isalpha())


def grapheme_lexicon(words: Iterable[str], graphemes: Collection[str] | None = None
                     ) -> tuple[list[LexiconEntry], list[str]]:
    """One spelling per word of ``words``. Returns (entries sorted by word, words without a spelling).

    A word has no spelling when it has no letter, or, with a fixed unit inventory ``graphemes`` (e.g.
    the units an acoustic model was trained on), when one of its letters is outside it.
    """
    entries, missing = [], []
    for w in sorted(set(words)):
        units = spell(w)
        if not units or (graphemes is not None and not set(units) <= set(graphemes)):
            missing.append(w)
        else:
            entries.append(LexiconEntry(w, 1.0, units))
    return entries, missing
