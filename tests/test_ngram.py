"""n-gram estimation (Witten-Bell -> ARPA), word grammars and G.fst against Kaldi's arpa2fst output."""

from __future__ import annotations

import math
import random

import pytest

from dgmm.lang.ngram import BOS, EOS, WittenBellLM, arpa_to_g_fst, word_grammar_fst_text
from tests.conftest import shared_path


def _sentences(seed=0, n=60):
    rng = random.Random(seed)
    words = "a b c d e f g".split()
    return [[rng.choice(words[: rng.randint(2, 7)]) for _ in range(rng.randint(1, 6))] for _ in range(n)]


def parse_arpa(lines):
    """{ngram tuple: (log10 p, log10 bow)} from ARPA lines (an independent reader for the tests)."""
    table, order = {}, 0
    for line in lines:
        line = line.strip()
        if line.startswith("\\") and line.endswith("-grams:"):
            order = int(line[1:line.index("-")])
            continue
        if not line or line.startswith("\\") or line.startswith("ngram ") or order == 0:
            continue
        f = line.split()
        table[tuple(f[1:1 + order])] = (float(f[0]), float(f[1 + order]) if len(f) > 1 + order else 0.0)
    return table


def arpa_prob(table, word, hist):
    """Back-off lookup p(word | hist) in an ARPA table."""
    hist = tuple(hist)
    bow = 0.0
    while True:
        if hist + (word,) in table:
            return 10 ** (bow + table[hist + (word,)][0])
        if hist in table:
            bow += table[hist][1]
        hist = hist[1:]


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_arpa_probabilities_sum_to_one_per_history(order):
    lm = WittenBellLM(_sentences(), order=order, vocab="a b c d e f g h".split())  # h: never seen
    table = parse_arpa(lm.arpa_lines())
    vocab = sorted(lm.vocab)
    histories = {ng[:-1] for ng in table if ng[-1] != EOS and len(ng) < order + 1}
    histories |= {(BOS,), (BOS, "a"), ("zz", "a")}  # also unseen/partly-seen histories
    for h in histories:
        h = h[-(order - 1):] if order > 1 else ()
        total = sum(arpa_prob(table, w, h) for w in vocab)
        assert total == pytest.approx(1.0, abs=1e-6), h
    # listed n-grams carry the interpolated probability itself
    for ng, (lp, _) in table.items():
        if ng != (BOS,):
            assert lp == pytest.approx(math.log10(lm.prob(ng[-1], ng[:-1])), abs=1e-6)
    assert table[(BOS,)][0] == -99.0 and ("h",) in table


def test_witten_bell_matches_hand_computation():
    lm = WittenBellLM([["a", "b"], ["a"]], order=2)
    # unigram tokens: a a b </s> </s> -> N=5, T1=3, |V|=3 (a b </s>)
    assert lm.prob("b") == pytest.approx((1 + 3 / 3) / (5 + 3))
    # history a: followed by b and </s> once each -> c(h)=2, T(h)=2
    assert lm.prob("b", ["a"]) == pytest.approx((1 + 2 * lm.prob("b")) / (2 + 2))
    assert lm.prob("a", ["b"]) == pytest.approx((0 + 1 * lm.prob("a")) / (1 + 1))


def test_oov_words_need_an_unk_word():
    with pytest.raises(ValueError, match="sentence 2: word 'x' is not in the vocabulary"):
        WittenBellLM([["a"], ["x"]], order=2, vocab=["a"])
    lm = WittenBellLM([["a"], ["x"]], order=2, vocab=["a"], unk="<UNK>")
    assert lm.counts[1][("<UNK>",)] == 1


def test_arpa_parses_with_kaldilm_and_gives_a_stochastic_g(tmp_path):
    lm = WittenBellLM(_sentences(1), order=3)
    lm.write_arpa(tmp_path / "lm.arpa.gz")
    words = ["<eps>"] + sorted(lm.vocab - {EOS}) + ["#0", BOS, EOS]
    (tmp_path / "words.txt").write_text("".join(f"{w} {i}\n" for i, w in enumerate(words)))
    g = arpa_to_g_fst(tmp_path / "lm.arpa.gz", tmp_path / "words.txt")
    assert g.num_states > 3 and g.is_ilabel_sorted


def _g_arcs(text):
    """Sorted (src, dst, ilabel, olabel, cost rounded) tuples of a text FST; finals as (state, cost)."""
    out = []
    for line in text.strip().splitlines():
        f = line.split()
        if len(f) >= 4:
            out.append((int(f[0]), int(f[1]), f[2], f[3], round(float(f[4]) if len(f) > 4 else 0.0, 5)))
        else:
            out.append((int(f[0]), round(float(f[1]) if len(f) > 1 else 0.0, 5)))
    return sorted(out, key=str)


def test_yesno_g_fst_equals_kaldis():
    ref = shared_path("kaldi_ref", "yesno", "data", "lang")
    words = {int(i): w for w, i in (line.split() for line in (ref / "words.txt").read_text().splitlines())}
    g = arpa_to_g_fst(ref / "task.arpabo", ref / "words.txt")
    ours = []
    for line in g.to_str().strip().splitlines():
        f = line.split()
        ours.append("\t".join(f[:2] + [words[int(f[2])], words[int(f[3])]] + f[4:]) if len(f) >= 4 else line)
    assert _g_arcs("\n".join(ours)) == _g_arcs((ref / "G.fst.txt").read_text())


def test_word_grammar_equals_fsdd_g():
    ref = shared_path("kaldi_ref", "fsdd", "data", "lang")
    ids = {w: int(i) for w, i in (line.split() for line in (ref / "words.txt").read_text().splitlines())}
    digits = "zero one two three four five six seven eight nine".split()
    ours = word_grammar_fst_text(digits, ids)
    ref_int = [" ".join(str(ids.get(x, x)) for x in line.split()) for line in (ref / "G.txt").read_text().splitlines()]
    assert _g_arcs(ours) == _g_arcs("\n".join(ref_int))
    loop = _g_arcs(word_grammar_fst_text(["zero", "one"], ids, loop=True))
    assert len(loop) == 3 and {a[0] for a in loop} == {0}
    assert sum(math.exp(-a[-1]) for a in loop) == pytest.approx(1.0, abs=1e-4)  # 2 words + end
