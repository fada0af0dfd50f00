"""Word error rate exactly as Kaldi's ``compute-wer --text --mode=present`` counts it.

Kaldi's ``LevenshteinEditDistance(ref, hyp, &ins, &del, &sub)`` (``util/edit-distance-inl.h``) keeps,
per DP cell, the counts of the alignment it chose, preferring substitution/match over deletion over
insertion only on *strict* improvements. Different tie-breaking would give the same total errors but a
different ins/del/sub split, so the recursion below mirrors Kaldi's order of comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from dgmm.kaldi.tables import read_table


@dataclass
class ErrorCounts:
    """Totals over a set of utterances (``words`` = reference words, ``sents`` = scored sentences)."""

    ins: int = 0
    dels: int = 0
    sub: int = 0
    words: int = 0
    sent_err: int = 0
    sents: int = 0
    missing: int = 0  # reference utterances with no hypothesis (skipped in mode=present)

    @property
    def errors(self) -> int:
        return self.ins + self.dels + self.sub

    @property
    def wer(self) -> float:
        return 100.0 * self.errors / self.words if self.words else 0.0

    @property
    def ser(self) -> float:
        return 100.0 * self.sent_err / self.sents if self.sents else 0.0

    def wer_line(self) -> str:
        """``%WER 1.25 [ 3 / 240, 3 ins, 0 del, 0 sub ]`` (compute-wer's format)."""
        return (f"%WER {self.wer:.2f} [ {self.errors} / {self.words}, {self.ins} ins, "
                f"{self.dels} del, {self.sub} sub ]")

    def report(self) -> str:
        """The three result lines compute-wer prints (WER, SER, sentence count)."""
        return (f"{self.wer_line()}\n%SER {self.ser:.2f} [ {self.sent_err} / {self.sents} ]\n"
                f"Scored {self.sents} sentences, {self.missing} not present in hyp.\n")


def edit_counts(ref: Sequence[str], hyp: Sequence[str]) -> tuple[int, int, int]:
    """(ins, del, sub) of Kaldi's Levenshtein alignment of ``hyp`` against ``ref``."""
    # each cell: (total, ins, del, sub); row = hyp position, column = ref position
    prev = [(i, 0, i, 0) for i in range(len(ref) + 1)]
    for h in hyp:
        t, i, d, s = prev[0]
        cur = [(t + 1, i + 1, d, s)]
        for r_idx, r in enumerate(ref, 1):
            ins_err = prev[r_idx][0] + 1
            del_err = cur[r_idx - 1][0] + 1
            diag = prev[r_idx - 1]
            sub_err = diag[0] + (h != r)
            if sub_err < ins_err and sub_err < del_err:
                cur.append((sub_err, diag[1], diag[2], diag[3] + (h != r)))
            elif del_err < ins_err:
                left = cur[r_idx - 1]
                cur.append((del_err, left[1], left[2] + 1, left[3]))
            else:
                up = prev[r_idx]
                cur.append((ins_err, up[1] + 1, up[2], up[3]))
        prev = cur
    _, i, d, s = prev[-1]
    return i, d, s


def correct_ref_positions(ref: Sequence[str], hyp: Sequence[str]) -> set[int]:
    """Positions of ``ref`` words that a minimum-edit alignment pairs with an identical ``hyp`` word
    (among the alignments of least cost, the one with the most matches)."""
    n, m = len(ref), len(hyp)
    # cost[i][j]: (edits, -matches) of ref[:i] against hyp[:j]
    cost = [[(i + j, 0) for j in range(m + 1)] for i in range(n + 1)]
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            e, neg = cost[i - 1][j - 1]
            diag = (e, neg - 1) if ref[i - 1] == hyp[j - 1] else (e + 1, neg)
            up, left = cost[i - 1][j], cost[i][j - 1]
            cost[i][j] = min(diag, (up[0] + 1, up[1]), (left[0] + 1, left[1]))
    out, i, j = set(), n, m
    while i > 0 and j > 0:
        e, neg = cost[i - 1][j - 1]
        if ref[i - 1] == hyp[j - 1] and cost[i][j] == (e, neg - 1):
            out.add(i - 1)
            i, j = i - 1, j - 1
        elif cost[i][j] == (e + 1, neg) and ref[i - 1] != hyp[j - 1]:
            i, j = i - 1, j - 1
        elif cost[i][j] == (cost[i - 1][j][0] + 1, cost[i - 1][j][1]):
            i -= 1
        else:
            j -= 1
    return out


def score(refs: Mapping[str, Sequence[str]], hyps: Mapping[str, Sequence[str]]) -> ErrorCounts:
    """Totals of ``compute-wer --mode=present``: reference utterances without a hypothesis are skipped.

    A hypothesis for an utterance that has no reference is an error, as in compute-wer.
    """
    extra = [u for u in hyps if u not in refs]
    if extra:
        raise ValueError(f"hypothesis for utterance {extra[0]!r} which has no reference "
                         f"({len(extra)} such utterances)")
    c = ErrorCounts()
    for utt, ref in refs.items():
        if utt not in hyps:
            c.missing += 1
            continue
        i, d, s = edit_counts(ref, hyps[utt])
        c.ins, c.dels, c.sub = c.ins + i, c.dels + d, c.sub + s
        c.words += len(ref)
        c.sents += 1
        c.sent_err += (i + d + s) > 0
    return c


def read_transcripts(path) -> dict[str, list[str]]:
    """Kaldi ``text``-style file: ``utt w1 w2 ...`` (an utterance id alone = empty transcript)."""
    return read_table(path, str.split, allow_empty_value=True)
