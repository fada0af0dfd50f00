"""Kaldi tree (ContextDependency/EventMap) reader and writer against real Kaldi trees in ../shared/kaldi_ref."""

from __future__ import annotations

import pytest

from dgmm.kaldi.event_map import (ConstantEventMap, ContextDependency, SplitEventMap, TableEventMap,
                                  format_tree, parse_tree, read_tree)
from tests.conftest import shared_path

TREES = ["yesno/exp/mono0a", "fsdd/exp/mono", "fsdd/exp/tri1", "mini_librispeech/exp/tri2b"]


@pytest.mark.parametrize("d", TREES)
def test_binary_round_trip_is_byte_identical(d):
    data = shared_path("kaldi_ref", d, "tree").read_bytes()
    assert format_tree(parse_tree(data), binary=True) == data


@pytest.mark.parametrize("d", [t for t in TREES if "mini" not in t])
def test_text_dump_matches_copy_tree_and_binary(d):
    binary = read_tree(shared_path("kaldi_ref", d, "tree"))
    text = shared_path("kaldi_ref", d, "tree.txt").read_bytes()
    assert parse_tree(text) == binary
    assert format_tree(binary, binary=False) == text


@pytest.mark.parametrize("d,num_pdfs", [("yesno/exp/mono0a", 11), ("fsdd/exp/mono", 67), ("fsdd/exp/tri1", 112),
                                        ("mini_librispeech/exp/tri2b", 1200)])
def test_num_pdfs_and_context_match_tree_info(d, num_pdfs):
    ctx = read_tree(shared_path("kaldi_ref", d, "tree"))
    assert ctx.num_pdfs == num_pdfs
    info = shared_path("kaldi_ref", d, "tree-info.txt") if "yesno" not in d else None
    if info is not None:
        fields = dict(line.split() for line in info.read_text().splitlines() if line.strip())
        assert (ctx.N, ctx.P, ctx.num_pdfs) == (int(fields["context-width"]), int(fields["central-position"]),
                                                int(fields["num-pdfs"]))


def test_tri1_pdf_alignment_agrees_with_tree():
    """Every (phone-in-context, pdf-class) seen in Kaldi's tri1 alignment maps to the pdf ali-to-pdf printed.

    The contexts come from phone_ali_per_frame.txt (phone sequence per utterance, 0 at the edges) and the
    pdf-class is recovered from the monotone state order within a phone; only frames at a state change
    are checked, which is enough to exercise every SE branch on the path.
    """
    ref = shared_path("kaldi_ref", "fsdd", "exp", "tri1")
    ctx = read_tree(ref / "tree")
    phones = {}
    for line in open(ref / "phone_ali_per_frame.txt"):
        utt, *vals = line.split()
        phones[utt] = [int(v) for v in vals]
    checked = 0
    for line in open(ref / "pdf_ali.txt"):
        utt, *vals = line.split()
        pdfs = [int(v) for v in vals]
        ph = phones[utt]
        # segment into phone instances (consecutive equal phones could be two instances; the tree answer
        # for both is the set of pdfs we see, so check membership)
        segs, start = [], 0
        for t in range(1, len(ph) + 1):
            if t == len(ph) or ph[t] != ph[t - 1]:
                segs.append((ph[start], set(pdfs[start:t])))
                start = t
        for i, (p, seen) in enumerate(segs):
            left = segs[i - 1][0] if i > 0 else 0
            right = segs[i + 1][0] if i + 1 < len(segs) else 0
            nclass = 5 if p <= 10 else 3
            answers = {ctx.compute((left, p, right), c) for c in range(nclass)}
            assert seen <= answers, (utt, i, p, seen, answers)
            checked += 1
        if checked > 3000:
            break
    assert checked > 3000


def test_constructed_tree_lookup():
    tree = ContextDependency(3, 1, SplitEventMap(1, (1, 2), TableEventMap(-1, (ConstantEventMap(0), None)),
                                                 SplitEventMap(0, (0,), ConstantEventMap(1), ConstantEventMap(2))))
    assert tree.compute((5, 1, 7), 0) == 0
    assert tree.compute((5, 1, 7), 1) is None
    assert tree.compute((0, 3, 7), 0) == 1
    assert tree.compute((4, 3, 7), 2) == 2
    assert tree.num_pdfs == 3
    assert parse_tree(format_tree(tree, binary=False)) == tree
    assert parse_tree(format_tree(tree, binary=True)) == tree


def test_bad_tree_names_file_and_position():
    with pytest.raises(ValueError, match=r"bad\.tree: expected CE, TE, SE or NULL, got 'XE'"):
        parse_tree(b"ContextDependency 1 0 ToPdf XE 1 EndContextDependency", "bad.tree")
