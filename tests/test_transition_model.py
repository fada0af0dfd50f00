"""Transition model / tree / symbol-table readers against real Kaldi files and kaldi-hmm-gmm."""

from __future__ import annotations

import numpy as np
import pytest

from dgmm.kaldi import gmm_model
from dgmm.kaldi.alignments import read_int_vectors, split_to_phones
from dgmm.kaldi.symbols import read_symbol_table
from dgmm.kaldi.transition_model import TransitionModel, read_transition_model
from dgmm.kaldi.tree import read_tree_num_pdfs

MAPS = ("tuples", "tid2pdf", "tid2phone", "tid2hmm_state", "tid_is_self_loop", "tid2tuple",
        "tid2trans_index", "tid_is_final")
# exp dirs with both a binary final.mdl and its text dumps (gmm-copy / copy-transition-model)
TEXT_DUMPED = ["yesno/exp/mono0a", "fsdd/exp/mono", "fsdd/exp/tri1"]


def assert_same_maps(a: TransitionModel, b: TransitionModel) -> None:
    assert a.num_pdfs == b.num_pdfs and a.num_transition_ids == b.num_transition_ids
    for name in MAPS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


@pytest.mark.parametrize("exp", TEXT_DUMPED)
def test_binary_and_text_models_give_identical_maps(kaldi_ref, exp):
    binary = read_transition_model(kaldi_ref / exp / "final.mdl")
    for text in ("final.mdl.txt", "final.trans.txt"):
        other = read_transition_model(kaldi_ref / exp / text)
        assert_same_maps(binary, other)
        # text log-probs are printed with 7 significant digits
        np.testing.assert_allclose(other.log_probs, binary.log_probs, rtol=1e-6, atol=1e-6)


def _khg_maps(tm):
    n = tm.num_transition_ids
    tids = range(1, n + 1)
    return (np.array(tm.transition_id_to_pdf_array())[1:],
            np.array([tm.transition_id_to_phone(t) for t in tids]),
            np.array([tm.is_self_loop(t) for t in tids]), np.array([tm.is_final(t) for t in tids]))


def _assert_matches_khg(ours: TransitionModel, ref) -> None:
    pdf, phone, loop, final = _khg_maps(ref)
    assert ours.num_transition_ids == ref.num_transition_ids and ours.num_pdfs == ref.num_pdfs
    np.testing.assert_array_equal(ours.tid2pdf[1:], pdf)
    np.testing.assert_array_equal(ours.tid2phone[1:], phone)
    np.testing.assert_array_equal(ours.tid_is_self_loop[1:], loop)
    np.testing.assert_array_equal(ours.tid_is_final[1:], final)
    assert ours.tid2pdf[0] == -1


def _khg_model(topo_text: str):
    from dgmm.kaldi.ports import khg
    topo = khg.HmmTopology()
    topo.read(topo_text)
    tree = khg.monophone_context_dependency(phones=topo.phones,
                                            phone2num_pdf_classes=topo.get_phone_to_num_pdf_classes())
    return khg.TransitionModel(ctx_dep=tree, hmm_topo=topo)


def test_maps_equal_kaldi_hmm_gmm_on_yesno_monophone(kaldi_ref):
    """The yesno mono model (gmm-init-mono) equals kaldi-hmm-gmm's model built from the same topo."""
    ref = _khg_model((kaldi_ref / "yesno/data/lang/topo").read_text())
    ours = read_transition_model(kaldi_ref / "yesno/exp/mono0a/final.mdl")
    np.testing.assert_array_equal(ours.tuples, [t.__getstate__() for t in ref.tuples])
    _assert_matches_khg(ours, ref)


CHAIN_TOPO = """<Topology>
<TopologyEntry>
<ForPhones> 1 2 3 </ForPhones>
<State> 0 <ForwardPdfClass> 0 <SelfLoopPdfClass> 1
<Transition> 0 0.5
<Transition> 1 0.5
</State>
<State> 1 </State>
</TopologyEntry>
<TopologyEntry>
<ForPhones> 4 </ForPhones>
<State> 0 <ForwardPdfClass> 0 <SelfLoopPdfClass> 2
<Transition> 0 0.5 <Transition> 1 0.5 </State>
<State> 1 <ForwardPdfClass> 1 <SelfLoopPdfClass> 1
<Transition> 1 0.25 <Transition> 2 0.75 </State>
<State> 2 </State>
</TopologyEntry>
</Topology>
"""


@pytest.mark.parametrize("binary", [True, False])
def test_tuples_with_separate_self_loop_pdfs(tmp_path, binary):
    """<Tuples> models (chain-style topology): forward and self-loop tids map to different pdfs."""
    ref = _khg_model(CHAIN_TOPO)
    parts = gmm_model.TransitionModel(gmm_model.HmmTopology.from_text(CHAIN_TOPO),
                                      np.array([t.__getstate__() for t in ref.tuples], np.int32),
                                      np.array(ref.log_probs, np.float32))
    data = gmm_model.transition_model_bytes(parts, binary=binary)
    assert b"<Tuples>" in data
    (tmp_path / "final.mdl").write_bytes(data)
    ours = read_transition_model(tmp_path / "final.mdl")
    assert not ours.topology.is_hmm
    _assert_matches_khg(ours, ref)
    loops = ours.tid_is_self_loop
    assert (ours.tid2pdf[loops] == ours.tuples[ours.tid2tuple[loops], 3]).all()
    assert (ours.tid2pdf[1:][~loops[1:]] == ours.tuples[ours.tid2tuple[1:][~loops[1:]], 2]).all()


@pytest.mark.parametrize("tree,info", [
    ("fsdd/exp/tri1/tree", "fsdd/exp/tri1/tree-info.txt"),
    ("fsdd/exp/tri1/tree.txt", "fsdd/exp/tri1/tree-info.txt"),
    ("mini_librispeech/exp/tri2b/tree", "mini_librispeech/exp/tri2b/tree-info.txt"),
    ("mini_librispeech/exp/tri1/tree", "mini_librispeech/exp/tri1/tree-info.txt"),
    ("fsdd/exp/mono/tree", "fsdd/exp/mono/tree-info.txt"),
])
def test_tree_num_pdfs_equals_tree_info(kaldi_ref, tree, info):
    want = int(dict(line.split() for line in (kaldi_ref / info).read_text().splitlines())["num-pdfs"])
    assert read_tree_num_pdfs(kaldi_ref / tree) == want


def test_model_and_tree_pdf_counts_agree(kaldi_ref):
    for exp in ["yesno/exp/mono0a", "fsdd/exp/tri1", "mini_librispeech/exp/tri2b"]:
        assert read_transition_model(kaldi_ref / exp / "final.mdl").num_pdfs == \
            read_tree_num_pdfs(kaldi_ref / exp / "tree")


def test_not_a_model_names_the_file(kaldi_ref, tmp_path):
    with pytest.raises(ValueError, match="tri2b_ali_dev/final.mdl: not a Kaldi model"):
        read_transition_model(kaldi_ref / "mini_librispeech/exp/tri2b_ali_dev/final.mdl")  # a link stub
    bad = tmp_path / "final.mdl"
    bad.write_bytes((kaldi_ref / "yesno/exp/mono0a/final.mdl").read_bytes()[:300])
    with pytest.raises(ValueError, match=str(bad)):
        read_transition_model(bad)
    with pytest.raises(ValueError, match="not a Kaldi tree"):
        read_tree_num_pdfs(kaldi_ref / "yesno/exp/mono0a/final.mdl")


def test_symbol_table(kaldi_ref, tmp_path):
    phones = read_symbol_table(kaldi_ref / "yesno/data/lang/phones.txt")
    assert phones.symbol(1) == "SIL" and phones.id("N") == 3
    dup = tmp_path / "phones.txt"
    dup.write_text("<eps> 0\nA 1\nB 1\n")
    with pytest.raises(ValueError, match=r"phones.txt:3: id 1 used by both"):
        read_symbol_table(dup)


def test_show_alignments_equals_kaldi(kaldi_ref):
    from dgmm.bin.show_alignments import format_alignment
    exp = kaldi_ref / "yesno/exp/mono0a"
    tm = read_transition_model(exp / "final.mdl")
    phones = read_symbol_table(kaldi_ref / "yesno/data/lang/phones.txt")
    out = "".join(format_alignment(k, a, tm, phones) for k, a, _ in read_int_vectors(f"ark:{exp}/ali.1.gz"))
    assert out == (exp / "show_alignments.txt").read_text()


def test_split_to_phones_handles_both_self_loop_orders(kaldi_ref):
    """Kaldi's alignments are "reordered" (a state's self-loops follow its forward transition, so a
    phone ends with the self-loops after its final transition). Moving each state's self-loops before
    its forward transition (the other order) must give the same phone segments, each ending with the
    final transition."""
    exp = kaldi_ref / "fsdd/exp/tri1"
    tm = read_transition_model(exp / "final.mdl")
    for _, ali, _ in list(read_int_vectors(f"ark:{exp}/ali.1.gz"))[:20]:
        pieces = split_to_phones(tm, ali)
        assert np.array_equal(np.concatenate(pieces), ali)
        assert all(tm.tid_is_final[p].sum() == 1 for p in pieces)
        assert all(len(set(tm.tid2phone[p].tolist())) == 1 for p in pieces)
        other = []
        for p in pieces:
            runs = np.split(p, np.flatnonzero(tm.tid2tuple[p][1:] != tm.tid2tuple[p][:-1]) + 1)
            other.append(np.concatenate([np.concatenate([r[tm.tid_is_self_loop[r]],
                                                         r[~tm.tid_is_self_loop[r]]]) for r in runs]))
        got = split_to_phones(tm, np.concatenate(other))
        assert [len(g) for g in got] == [len(p) for p in pieces]
        assert all(tm.tid_is_final[g[-1]] for g in got)
