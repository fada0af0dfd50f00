"""GMM-HMM bootstrap without compiled Kaldi: monophone training, decoding, trees, triphone graphs,
alignment archives -- checked against the real Kaldi runs in ../shared/kaldi_ref."""

from __future__ import annotations

import gzip
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # must precede numpy's import (small matrices)

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dgmm.decode.decoder import DecoderConfig  # noqa: E402
from dgmm.decode.fst_io import read_fst  # noqa: E402
from dgmm.gmm import estimate  # noqa: E402
from dgmm.gmm.align import align, transition_costs, write_alignments  # noqa: E402
from dgmm.gmm.decode import GmmDecoder  # noqa: E402
from dgmm.gmm.expdir import read_ali_dir, write_exp_dir  # noqa: E402
from dgmm.gmm.features import load_feats  # noqa: E402
from dgmm.gmm.langdir import Lang  # noqa: E402
from dgmm.gmm.mono import MonoConfig, train_mono  # noqa: E402
from dgmm.gmm.tree import acc_tree_stats, build_tree, cluster_phones, read_roots  # noqa: E402
from dgmm.gmm.triphone import GraphCompiler, convert_alignments, transition_model_for_tree  # noqa: E402
from dgmm.graph.mkgraph import mkgraph  # noqa: E402
from dgmm.kaldi.alignments import read_int_vectors  # noqa: E402
from dgmm.kaldi.event_map import read_tree  # noqa: E402
from dgmm.kaldi.gmm_model import read_gmm_model  # noqa: E402
from dgmm.kaldi.tables import read_table  # noqa: E402
from dgmm.scoring.wer import score  # noqa: E402
from tests.conftest import shared_path  # noqa: E402


def _texts(path):
    return {u: t.split() for u, t in read_table(path).items()}


def _copy_data(src, dst):
    dst.mkdir(parents=True)
    for f in ("wav.scp", "text", "utt2spk", "spk2utt"):
        (dst / f).write_bytes((src / f).read_bytes())
    return dst


@pytest.fixture(scope="module")
def yesno_mono(tmp_path_factory):
    """Train the yesno monophone system once (as egs/yesno: --totgauss 400, 30 train utterances)."""
    ref = shared_path("kaldi_ref", "yesno")
    tmp = tmp_path_factory.mktemp("yesno")
    data = _copy_data(ref / "data/train_yesno", tmp / "train")
    lang = Lang.read(ref / "data/lang")
    feats = load_feats(data, wav_cwd=ref)
    model, tree, tr = train_mono(lang, feats, _texts(data / "text"), MonoConfig(totgauss=400))
    exp = tmp / "exp/mono"
    tree_file = tmp / "tree"
    tree.write(True, str(tree_file))
    write_exp_dir(exp, model, tree_file.read_bytes(), tr.alis, [sorted(tr.alis)], tr.occs, "",
                  ref / "data/lang", ali_binary=False)
    return ref, tmp, model, tr, exp


def test_yesno_mono_decodes_test_at_kaldi_wer(yesno_mono):
    """Acceptance: WER <= 1.25 % (Kaldi's mono0a) on test_yesno, with our graph of our model."""
    ref, tmp, model, _, exp = yesno_mono
    mkgraph(ref / "data/lang", exp, exp / "graph")
    test = _copy_data(ref / "data/test_yesno", tmp / "test")
    words = {v: k for k, v in read_table(exp / "graph/words.txt", int).items()}
    dec = GmmDecoder(read_gmm_model(exp / "final.mdl"), read_fst(exp / "graph/HCLG.fst"),
                     DecoderConfig(lattice_beam=6.0))
    hyps = {u: [words[w] for w in dec(u, f, 0.083333).words] for u, f in load_feats(test, wav_cwd=ref).items()}
    counts = score(_texts(test / "text"), hyps)
    assert counts.words == 240
    assert counts.wer <= 1.25, counts.wer_line()


def test_yesno_mono_files_parse_back(yesno_mono):
    """Kaldi layout; every file parses back with our readers to what training held."""
    ref, _, model, tr, exp = yesno_mono
    assert len(model.am.pdfs) == 11
    assert 300 <= model.am.num_gauss <= 400  # Kaldi: 371 for --totgauss 400
    # the monophone tree is fully determined by the lang: Kaldi's bytes exactly
    assert (exp / "tree").read_bytes() == (ref / "exp/mono0a/tree").read_bytes()
    back = read_gmm_model(exp / "final.mdl")
    assert np.array_equal(back.trans_model.tuples, read_gmm_model(ref / "exp/mono0a/final.mdl").trans_model.tuples)
    for a, b in zip(back.am.pdfs, model.am.pdfs):
        np.testing.assert_array_equal(a.means_invvars, b.means_invvars)
    alis = read_ali_dir(exp)
    assert alis.keys() == tr.alis.keys() and len(alis) == 30
    for u in alis:
        np.testing.assert_array_equal(alis[u], tr.alis[u])
    occs = [float(t) for t in (exp / "final.occs").read_text().split()[1:-1]]
    np.testing.assert_allclose(occs, tr.occs, rtol=1e-6)
    assert sum(occs) == sum(len(a) for a in alis.values())
    assert (exp / "num_jobs").read_text() == "1\n" and (exp / "cmvn_opts").read_text() == "\n"


@pytest.mark.parametrize("binary,kaldi_ali", [(False, "yesno/exp/mono0a/ali.1.gz"),
                                              (True, "fsdd/exp/tri1/ali.1.gz")])
def test_alignment_archives_are_kaldis_bytes(tmp_path, binary, kaldi_ali):
    """ali.N.gz: text (train_mono/align_si) and binary (train_deltas) forms byte-identical to Kaldi's."""
    src = shared_path("kaldi_ref", kaldi_ali)
    alis = {k: v for k, v, _ in read_int_vectors(f"ark:gunzip -c {src} |")}
    write_alignments(tmp_path / "ali.1.gz", alis, binary=binary)
    assert gzip.open(tmp_path / "ali.1.gz").read() == gzip.open(src).read()


def test_estimation_matches_moments_and_split_targets():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 3)) * [1.0, 2.0, 0.5] + [1.0, -1.0, 0.0]
    am = estimate.global_init(2, x[:10])
    pdfs = (np.arange(500) >= 200).astype(int)
    st = estimate.accumulate(am, x, pdfs)
    new = estimate.update_gmms(am, st)
    for j, sel in enumerate([pdfs == 0, pdfs == 1]):
        np.testing.assert_allclose(new.pdfs[j].means[0], x[sel].mean(0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(new.pdfs[j].vars[0], x[sel].var(0), rtol=1e-5)
    # log-likelihoods agree with an explicit float64 Gaussian density
    ll = estimate.pdf_log_likelihoods(new, x[:5].astype(np.float32))
    mu, var = x[:200].mean(0), x[:200].var(0)
    want = -0.5 * (np.log(2 * np.pi * var) + (x[:5] - mu) ** 2 / var).sum(1)
    np.testing.assert_allclose(ll[:, 0], want, rtol=1e-4)
    # GetSplitTargets: occ^0.25 / n priority, never more than occ / min_count Gaussians
    t = estimate.split_targets(np.array([10000.0, 625.0, 50.0]), 20, 0.25, 20.0)
    assert sum(t) == 20 and t[2] == 2 and t[0] > t[1]
    mixed = estimate.mix_up(new, st.pdf_occs, 6)
    assert [len(g.weights) for g in mixed.pdfs] == estimate.split_targets(st.pdf_occs, 6, 0.25, 20.0)
    np.testing.assert_allclose([g.weights.sum() for g in mixed.pdfs], 1.0, rtol=1e-6)


@pytest.fixture(scope="module")
def fsdd(tmp_path_factory):
    ref = shared_path("kaldi_ref", "fsdd")
    wavs = shared_path("corpora", "fsdd")
    data = _copy_data(ref / "data/train", tmp_path_factory.mktemp("fsdd") / "train")
    texts = _texts(data / "text")
    utts = [u for u in texts if u.split("_")[2] in ("0", "1", "2", "3", "4", "5")]  # 300 utterances
    return ref, Lang.read(ref / "data/lang"), load_feats(data, utts=utts, wav_cwd=wavs), texts, utts


def test_triphone_graphs_and_alignment_match_kaldi(fsdd):
    """Our transition model for Kaldi's tri1 tree has Kaldi's tuples; H o C o L training graphs aligned
    with Kaldi's tri1 model reproduce Kaldi's tri1_ali (our features are dither-free, Kaldi's not)."""
    ref, lang, feats, texts, utts = fsdd
    tree = read_tree(ref / "exp/tri1/tree")
    model = read_gmm_model(ref / "exp/tri1/final.mdl")
    tm = transition_model_for_tree(model.trans_model.topo, tree)
    np.testing.assert_array_equal(tm.tuples, model.trans_model.tuples)
    kaldi = read_ali_dir(ref / "exp/tri1_ali")
    compile_graph = GraphCompiler(lang, tree, model.trans_model)
    cost = transition_costs(model.trans_model)
    tid2pdf = model.trans_model.tid_info()["pdf"]
    same = total = 0
    for u in utts[:60]:
        ali, _ = align(compile_graph(u, texts[u]), estimate.pdf_log_likelihoods(model.am, feats[u]),
                       tid2pdf, cost, u)
        assert ali is not None, u
        same += int((ali == kaldi[u]).sum())
        total += len(ali)
    assert same / total > 0.99, (same, total)


def test_tree_from_kaldi_alignments(fsdd):
    """acc-tree-stats / cluster-phones / build-tree on Kaldi's mono alignments: Kaldi's stub (phone sets
    split in halves), every training context mapped, convert-ali keeps phones and uses the tree's pdfs."""
    ref, lang, feats, _, utts = fsdd
    mono = read_gmm_model(ref / "exp/mono_ali/final.mdl")
    alis = {u: a for u, a in read_ali_dir(ref / "exp/mono_ali").items() if u in feats}
    ci = [int(t) for t in (ref / "data/lang/phones/context_indep.int").read_text().split()]
    ts = acc_tree_stats(mono.trans_model, feats, alis, ci)
    assert ts.stats[:, 0].sum() == sum(len(a) for a in alis.values())
    questions = cluster_phones(ts, lang.phone_sets)
    assert all(q == sorted(q) for q in questions)
    topo = mono.trans_model.topo
    npc = {p: topo.num_pdf_classes(p) for p in topo.phones}
    tree = build_tree(ts, read_roots(ref / "data/lang/phones/roots.int"), questions, npc, max_leaves=60)
    kaldi_tree = read_tree(ref / "exp/tri1/tree")
    assert tree.to_pdf.key == kaldi_tree.to_pdf.key == 1
    assert tree.to_pdf.yes_set == kaldi_tree.to_pdf.yes_set  # first stub question: phones 1..42
    assert 40 <= tree.num_pdfs <= 60
    tm = transition_model_for_tree(topo, tree)
    conv = convert_alignments(mono.trans_model, tm, tree, alis)
    old, new = mono.trans_model.tid_info(), tm.tid_info()
    for u in list(conv)[:50]:
        np.testing.assert_array_equal(old["phone"][alis[u]], new["phone"][conv[u]])
        np.testing.assert_array_equal(old["hmm_state"][alis[u]], new["hmm_state"][conv[u]])


def test_fsdd_train_deltas_writes_kaldi_files(fsdd, tmp_path):
    """train_deltas from Kaldi's mono alignments (300 utterances, shortened schedule with one
    realignment): tree, final.mdl and binary ali.*.gz parse back to what training held."""
    from dgmm.gmm.triphone import TriConfig, train_deltas
    from dgmm.kaldi.event_map import format_tree

    ref, lang, feats, texts, utts = fsdd
    mono = read_gmm_model(ref / "exp/mono_ali/final.mdl")
    alis = {u: a for u, a in read_ali_dir(ref / "exp/mono_ali").items() if u in feats}
    cfg = TriConfig(num_iters=4, max_iter_inc=3, realign_iters=(2,))
    model, tree, tr = train_deltas(lang, feats, {u: texts[u] for u in alis}, mono, alis, 60, 300, cfg)
    assert len(tr.alis) == len(alis)  # every utterance realigned with the triphone graphs
    exp = tmp_path / "tri1"
    jobs = [utts[:150], utts[150:]]
    write_exp_dir(exp, model, format_tree(tree), tr.alis, jobs, tr.occs, "", ref / "data/lang", ali_binary=True)
    assert read_tree(exp / "tree") == tree
    back = read_gmm_model(exp / "final.mdl")
    np.testing.assert_array_equal(back.trans_model.tuples, model.trans_model.tuples)
    assert back.am.num_gauss == model.am.num_gauss and len(back.am.pdfs) == tree.num_pdfs
    assert gzip.open(exp / "ali.1.gz").read(1) != b""
    got = read_ali_dir(exp)
    assert got.keys() == tr.alis.keys()
    for u in got:
        np.testing.assert_array_equal(got[u], tr.alis[u])
    # every frame's pdf is one of the tree's leaves
    info = model.trans_model.tid_info()
    assert info["pdf"][np.concatenate(list(got.values()))].max() < tree.num_pdfs


def test_unknown_word_without_oov_names_utterance_and_word(tmp_path):
    ref = shared_path("kaldi_ref", "yesno")
    lang = Lang.read(ref / "data/lang")
    lang.oov = None
    from dgmm.cli import DgmmError
    from dgmm.gmm.mono import compile_graphs, mono_tree_and_model

    tree, ktm = mono_tree_and_model(lang)
    with pytest.raises(DgmmError, match="utt7: word 'MAYBE'"):
        compile_graphs(lang, ktm, tree, {"utt7": ["YES", "MAYBE"]})
    with pytest.raises(DgmmError, match="missing"):
        Lang.read(tmp_path)


@pytest.mark.parametrize("golden", ["yesno/golden_decode", "fsdd/golden_decode_tri1"])
def test_gmm_decoding_reproduces_kaldi_golden_hypotheses(golden):
    """Kaldi's model, graph and features: our GMM likelihoods + search give the words of
    ``gmm-latgen-faster | lattice-best-path`` (hyp.int) for every utterance."""
    import kaldiio

    ref = shared_path("kaldi_ref", golden)
    dec = GmmDecoder(read_gmm_model(ref / "final.mdl"), read_fst(ref / "HCLG.fst"),
                     DecoderConfig(lattice_beam=6.0))
    want = {u: [int(w) for w in t.split()] for u, t in read_table(ref / "hyp.int", allow_empty_value=True).items()}
    feats = dict(kaldiio.load_ark(str(ref / "feats_cmvn_deltas.ark")))
    same = sum(dec(u, f, 0.083333).words == want[u] for u, f in feats.items())
    assert same == len(feats) == len(want)
