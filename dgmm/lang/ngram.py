"""Word n-gram language models without an LM toolkit: interpolated Witten-Bell estimation to ARPA,
word-loop grammars for isolated-word tasks, and ``G.fst`` from an ARPA file (kaldilm's arpa2fst).

Witten-Bell, interpolated (as used for ``../shared/kaldi_ref/mini_librispeech``'s LMs), with N tokens
(incl. ``</s>``), T1 distinct seen words and vocabulary V (incl. ``</s>``, excl. ``<s>``)::

    p1(w)   = (c(w) + T1 / |V|) / (N + T1)                       unigrams: unseen vocabulary words
    p(w|h)  = (c(h,w) + T(h) p(w|h')) / (c(h) + T(h))            h' = h without its first word

with c(h) = number of n-grams starting with history h and T(h) = number of distinct words seen after h.
Every seen n-gram is listed in the ARPA file with its interpolated probability; back-off weights make
every history sum to one: bow(h) = (1 - sum_seen p(w|h)) / (1 - sum_seen p(w|h')). ``<s>`` is only a
history (log10 probability -99, as SRILM writes it).
"""

from __future__ import annotations

import gzip
import math
import os
from collections import defaultdict
from typing import Iterable, Sequence

from dgmm.fileutil import atomic_open

BOS, EOS = "<s>", "</s>"


class WittenBellLM:
    """Interpolated Witten-Bell n-gram model of order ``order`` over ``vocab`` (+ ``</s>``).

    ``sentences`` are lists of words; words outside ``vocab`` become ``unk`` (an error without one).
    ``vocab`` defaults to the words of the sentences.
    """

    def __init__(self, sentences: Iterable[Sequence[str]], order: int = 3, vocab: Iterable[str] | None = None,
                 unk: str | None = None):
        if order < 1:
            raise ValueError(f"n-gram order must be >= 1, got {order}")
        sentences = [list(s) for s in sentences]
        self.order = order
        self.vocab = set(vocab) if vocab is not None else {w for s in sentences for w in s}
        if unk is not None:
            self.vocab.add(unk)
        for reserved in (BOS, EOS):
            if reserved in self.vocab:
                raise ValueError(f"{reserved} cannot be a vocabulary word")
        self.vocab.add(EOS)
        # counts[k][(history..., word)] for k = 1..order
        self.counts: list[dict[tuple[str, ...], int]] = [defaultdict(int) for _ in range(order + 1)]
        for n, sent in enumerate(sentences, 1):
            words = []
            for w in sent:
                if w not in self.vocab or w == EOS:
                    if unk is None:
                        raise ValueError(f"sentence {n}: word {w!r} is not in the vocabulary and no unk word given")
                    w = unk
                words.append(w)
            toks = [BOS] + words + [EOS]
            for i in range(1, len(toks)):
                for k in range(1, order + 1):
                    if i - k + 1 < 0:
                        break
                    self.counts[k][tuple(toks[i - k + 1:i + 1])] += 1
        # per-history totals c(h) and distinct successors T(h)
        self.hist_count: dict[tuple[str, ...], int] = defaultdict(int)
        self.hist_types: dict[tuple[str, ...], int] = defaultdict(int)
        for k in range(1, order + 1):
            for ng, c in self.counts[k].items():
                self.hist_count[ng[:-1]] += c
                self.hist_types[ng[:-1]] += 1
        self.successors: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for k in range(1, order + 1):
            for ng in self.counts[k]:
                self.successors[ng[:-1]].append(ng[-1])
        self._cache: dict[tuple[str, ...], float] = {}

    def prob(self, word: str, history: Sequence[str] = ()) -> float:
        """Interpolated p(word | history); the history is cut to the last ``order - 1`` words."""
        history = tuple(history)[-(self.order - 1):] if self.order > 1 else ()
        key = history + (word,)
        if key in self._cache:
            return self._cache[key]
        if word not in self.vocab:
            raise KeyError(f"{word!r} is not in the vocabulary")
        if not history:
            n, t1 = self.hist_count[()], self.hist_types[()]
            p = (self.counts[1].get((word,), 0) + t1 / len(self.vocab)) / (n + t1)
        else:
            lower = self.prob(word, history[1:])
            c_h = self.hist_count.get(history, 0)
            if c_h == 0:
                p = lower
            else:
                t_h = self.hist_types[history]
                p = (self.counts[len(key)].get(key, 0) + t_h * lower) / (c_h + t_h)
        self._cache[key] = p
        return p

    def backoff(self, history: tuple[str, ...]) -> float:
        """Back-off weight of a history, making sum_w p_arpa(w | history) = 1."""
        seen = self.successors.get(tuple(history), [])
        num = 1.0 - sum(self.prob(w, history) for w in seen)
        den = 1.0 - sum(self.prob(w, history[1:]) for w in seen)
        # a history followed by the whole vocabulary leaves nothing to back off to
        return 1.0 if den <= 1e-12 or num <= 1e-300 else num / den

    def arpa_lines(self) -> list[str]:
        """The model as ARPA text lines."""
        sections = []
        unigrams = sorted(self.vocab | {BOS}, key=str.encode)
        sections.append([(u,) for u in unigrams])
        for k in range(2, self.order + 1):
            sections.append(sorted(self.counts[k], key=lambda ng: " ".join(ng).encode()))
        lines = ["", "\\data\\"] + [f"ngram {k}={len(s)}" for k, s in enumerate(sections, 1)]
        for k, grams in enumerate(sections, 1):
            lines += ["", f"\\{k}-grams:"]
            for ng in grams:
                lp = -99.0 if ng == (BOS,) else math.log10(self.prob(ng[-1], ng[:-1]))
                line = f"{lp:.7g}\t{' '.join(ng)}"
                if k < self.order and ng[-1] != EOS and ng in self.successors:
                    line += f"\t{math.log10(self.backoff(ng)):.7g}"
                lines.append(line)
        lines += ["", "\\end\\"]
        return lines

    def write_arpa(self, path: str | os.PathLike) -> None:
        """Write the ARPA file (gzip'd if ``path`` ends in ``.gz``), atomically."""
        text = "\n".join(self.arpa_lines()) + "\n"
        with atomic_open(path, "wb") as f:
            f.write(gzip.compress(text.encode()) if str(path).endswith(".gz") else text.encode())


def word_grammar_fst_text(words: Sequence[str], word_ids: dict[str, int], loop: bool = False) -> str:
    """Text G (integer labels) for isolated-word tasks: exactly one of ``words``, each with probability
    1/len(words) (state 0 -> 1, state 1 final; FSDD's ``G.txt``), or with ``loop`` any sequence of them
    (one looping final state, each word and the end with probability 1/(len(words)+1))."""
    if not words:
        raise ValueError("word grammar needs at least one word")
    missing = [w for w in words if w not in word_ids]
    if missing:
        raise ValueError(f"words not in words.txt: {' '.join(missing)}")
    if loop:
        cost = -math.log(1.0 / (len(words) + 1))
        return "".join(f"0\t0\t{word_ids[w]}\t{word_ids[w]}\t{cost!r}\n" for w in words) + f"0\t{cost!r}\n"
    cost = -math.log(1.0 / len(words))
    return "".join(f"0\t1\t{word_ids[w]}\t{word_ids[w]}\t{cost!r}\n" for w in words) + "1\n"


def arpa_to_g_fst(arpa: str | os.PathLike, words_txt: str | os.PathLike):
    """``arpa2fst --disambig-symbol=#0 --read-symbol-table=words.txt`` (kaldilm), ilabel-sorted G.

    ``arpa`` may be gzip'd. Words of the ARPA file that are not in words.txt are an error (kaldilm).
    """
    import tempfile

    from dgmm.kaldi.ports import kaldifst, kaldilm

    arpa = str(arpa)
    with tempfile.TemporaryDirectory(prefix="dgmm_arpa") as d:
        if arpa.endswith(".gz"):
            plain = os.path.join(d, "lm.arpa")
            with gzip.open(arpa, "rb") as src, open(plain, "wb") as dst:
                dst.write(src.read())
            arpa = plain
        text = kaldilm().arpa2fst(input_arpa=arpa, disambig_symbol="#0", read_symbol_table=str(words_txt))
    g = kaldifst.compile(s=text, acceptor=False)
    kaldifst.arcsort(g, sort_type="ilabel")
    return g
