"""mkgraph against Kaldi's graphs in ../shared/kaldi_ref: same decodes of the golden log-likelihoods.

Kaldi's HCLG.fst and ours are decoded with the same decoder (khg LatticeFasterDecoder, acwt 0.083333 as the
golden decodes); the words must equal Kaldi's ``hyp.txt`` and the best path (transition-ids) and its score
must equal those through Kaldi's own HCLG. The graph dir's other files must be byte-identical.
"""

from __future__ import annotations

import itertools
import shutil

import kaldiio
import numpy as np
import pytest

from dgmm.decode.decoder import MappedDecoder
from dgmm.decode.fst_io import read_fst
from dgmm.graph.mkgraph import mkgraph
from dgmm.kaldi.gmm_model import read_transition_model
from dgmm.lang.lexicon import LexiconEntry, write_dict_dir
from dgmm.lang.ngram import arpa_to_g_fst
from dgmm.lang.prepare_lang import LangOptions, prepare_lang
from tests.conftest import shared_path

ACWT = 0.083333


def _hyp_table(path):
    out = {}
    for line in open(path):
        f = line.split(maxsplit=1)
        out[f[0]] = f[1].split() if len(f) > 1 else []
    return out


def _check_decodes(graph_dir, kaldi_graph_dir, model_dir, golden, max_utts=None):
    tm = read_transition_model(model_dir / "final.mdl")
    tid2pdf = tm.tid_info()["pdf"]
    words = {int(i): w for w, i in (line.split() for line in open(graph_dir / "words.txt"))}
    ours = MappedDecoder(read_fst(graph_dir / "HCLG.fst"), tid2pdf)
    theirs = MappedDecoder(read_fst(kaldi_graph_dir / "HCLG.fst"), tid2pdf)
    ref = _hyp_table(golden / "hyp.txt")
    n = 0
    for utt, loglikes in itertools.islice(kaldiio.load_ark(str(golden / "loglikes.ark")), max_utts):
        a, b = ours.decode(utt, loglikes, ACWT), theirs.decode(utt, loglikes, ACWT)
        assert [words[w] for w in a.words] == ref[utt], utt
        assert a.alignment == b.alignment, utt
        assert a.loglike == pytest.approx(b.loglike, abs=1e-3), utt
        n += 1
    assert n == (max_utts or len(ref))
    for f in ("num_pdfs", "disambig_tid.int", "words.txt", "phones.txt"):
        assert (graph_dir / f).read_bytes() == (kaldi_graph_dir / f).read_bytes(), f
    for f in (kaldi_graph_dir / "phones").iterdir():
        assert (graph_dir / "phones" / f.name).read_bytes() == f.read_bytes(), f.name


def _check_same_arcs(graph_dir, kaldi_graph_dir):
    """Same number of states, and the same arcs and final weights up to state numbering (weights to 1e-3)."""
    from dgmm.graph.mkgraph import fst_to_arrays

    a, b = (fst_to_arrays(read_fst(g / "HCLG.fst")) for g in (graph_dir, kaldi_graph_dir))
    assert len(a[1]) == len(b[1])
    assert sorted(zip(a[4], a[5], np.round(a[6], 3))) == sorted(zip(b[4], b[5], np.round(b[6], 3)))
    assert sorted(np.round(a[1][np.isfinite(a[1])], 3)) == sorted(np.round(b[1][np.isfinite(b[1])], 3))


def test_yesno_pipeline_from_dict_to_decodes(tmp_path):
    """Our prepare_lang + G from task.arpabo + mkgraph: the golden decode's words, Kaldi's best paths."""
    ref = shared_path("kaldi_ref", "yesno")
    d = tmp_path / "dict"
    write_dict_dir(d, [LexiconEntry("<SIL>", 1.0, ("SIL",)), LexiconEntry("YES", 1.0, ("Y",)),
                       LexiconEntry("NO", 1.0, ("N",))], silence_phones=["SIL"], optional_silence="SIL",
                   nonsilence_phones=["Y", "N"])
    lang = tmp_path / "lang_test_tg"
    prepare_lang(d, "<SIL>", tmp_path / "tmp", lang, LangOptions(position_dependent_phones=False))
    arpa_to_g_fst(ref / "data" / "lang" / "task.arpabo", lang / "words.txt").write(str(lang / "G.fst"))
    mkgraph(lang, ref / "exp" / "mono0a", tmp_path / "graph")
    _check_decodes(tmp_path / "graph", ref / "exp" / "mono0a" / "graph_tgpr", ref / "exp" / "mono0a",
                   ref / "golden_decode")
    _check_same_arcs(tmp_path / "graph", ref / "exp" / "mono0a" / "graph_tgpr")
    assert not (tmp_path / "graph" / "subword_boundary.txt").exists()
    # a piece lexicon's marker travels into the graph dir, where steps/score.sh looks for it
    (lang / "subword_boundary.txt").write_text("\u2581 <SIL>\n")
    mkgraph(lang, ref / "exp" / "mono0a", tmp_path / "graph")
    assert (tmp_path / "graph" / "subword_boundary.txt").read_text() == "\u2581 <SIL>\n"


@pytest.mark.parametrize("system,max_utts", [("mono", None), ("tri1", None)])
def test_fsdd_graphs_decode_as_kaldis(tmp_path, system, max_utts):
    """Position-dependent phones, shared-root mono tree and a context-width-3 triphone tree."""
    ref = shared_path("kaldi_ref", "fsdd")
    mkgraph(ref / "data" / "lang", ref / "exp" / system, tmp_path / "graph")
    _check_decodes(tmp_path / "graph", ref / "exp" / system / "graph", ref / "exp" / system,
                   ref / f"golden_decode_{system}", max_utts)
    if system == "mono":
        _check_same_arcs(tmp_path / "graph", ref / "exp" / system / "graph")


def test_mismatched_lang_and_model_are_refused(tmp_path):
    ref = shared_path("kaldi_ref")
    with pytest.raises(ValueError, match="tree has no pdf for phone window|not in the model's topology"):
        mkgraph(ref / "fsdd" / "data" / "lang", ref / "yesno" / "exp" / "mono0a", tmp_path / "g")
    lang = tmp_path / "lang"
    shutil.copytree(ref / "yesno" / "data" / "lang", lang)
    (lang / "G.fst").unlink()
    with pytest.raises(FileNotFoundError, match=r"expected file .*lang/G.fst"):
        mkgraph(lang, ref / "yesno" / "exp" / "mono0a", tmp_path / "g")
    assert not (tmp_path / "g").exists()


def test_self_loops_reorder_splits_states_entered_by_two_transition_states():
    """Two transition-ids of different HMM states enter state 2: it must be split before the loops go in."""
    from dgmm.graph.hmm_fst import TransitionTable, add_self_loops

    tm = read_transition_model(shared_path("kaldi_ref", "yesno", "exp", "mono0a", "final.mdl"))
    tt = TransitionTable(tm)
    info = tm.tid_info()
    fwd = [t for t in range(1, tm.num_transition_ids + 1) if not info["is_self_loop"][t]]
    t1, t2 = fwd[0], next(t for t in fwd if tt.tstate_of_tid[t] != tt.tstate_of_tid[fwd[0]])
    src, dst = np.array([0, 1]), np.array([2, 2])
    il, ol, cost = np.array([t1, t2]), np.array([5, 6]), np.array([0.5, 0.25])
    finals = np.array([np.inf, np.inf, 0.0])
    s, d, i, o, c, f = add_self_loops(src, dst, il, ol, cost, finals, 0, tm, 0.1)
    assert len(f) == 5  # two dummy states in front of state 2
    loops = [(a, b, x) for a, b, x in zip(s, d, i) if a == b]
    assert sorted(x for _, _, x in loops) == sorted(int(tt.self_loop_tid[tt.tstate_of_tid[t]]) for t in (t1, t2))
    for a, _, x in loops:  # each loop sits on the dummy state entered by its own transition-state
        entering = [ii for ss, dd, ii in zip(s, d, i) if dd == a and ss != a]
        assert [tt.tstate_of_tid[e] for e in entering] == [tt.tstate_of_tid[x]]
        out = [cc for ss, dd, cc in zip(s, d, c) if ss == a and dd != a]
        assert out == [pytest.approx(-0.1 * tt.non_self_loop_log_probs[tt.tstate_of_tid[x]])]


def test_command_line_tools_fsdd_tri1(tmp_path):
    """dict -> prepare_lang -> format_lm --grammar isolated -> mkgraph, through the tools' main()."""
    from dgmm.bin import format_lm, mkgraph as mkgraph_tool, prepare_lang as prepare_lang_tool

    ref = shared_path("kaldi_ref", "fsdd")
    shutil.copytree(ref / "data" / "local" / "dict", tmp_path / "dict")
    assert prepare_lang_tool.main([str(tmp_path / "dict"), "<UNK>", str(tmp_path / "tmp"), str(tmp_path / "lang")]) == 0
    assert format_lm.main(["--grammar", "isolated", str(tmp_path / "lang"), str(tmp_path / "lang_test")]) == 0
    assert format_lm.grammar_words(tmp_path / "lang") == "eight five four nine one seven six three two zero".split()
    assert mkgraph_tool.main([str(tmp_path / "lang_test"), str(ref / "exp" / "tri1"), str(tmp_path / "graph")]) == 0
    _check_decodes(tmp_path / "graph", ref / "exp" / "tri1" / "graph", ref / "exp" / "tri1",
                   ref / "golden_decode_tri1", 50)


def test_shell_scripts_yesno(tmp_path):
    """utils/prepare_lang.sh (Kaldi options), utils/format_lm.sh (Kaldi's 4 arguments), utils/mkgraph.sh."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    ref = shared_path("kaldi_ref", "yesno")
    d = tmp_path / "dict"
    write_dict_dir(d, [LexiconEntry("<SIL>", 1.0, ("SIL",)), LexiconEntry("YES", 1.0, ("Y",)),
                       LexiconEntry("NO", 1.0, ("N",))], silence_phones=["SIL"], optional_silence="SIL",
                   nonsilence_phones=["Y", "N"])
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "DGMM_ROOT": str(repo)}

    def run(*cmd):
        r = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return r

    run(str(repo / "utils/prepare_lang.sh"), "--position-dependent-phones", "false", "dict", "<SIL>", "tmp", "lang")
    assert (tmp_path / "lang/L.fst").read_bytes() == (ref / "data/lang/L.fst").read_bytes()
    run(str(repo / "utils/format_lm.sh"), "lang", str(ref / "data/lang/task.arpabo"), "dict/lexicon.txt", "lang_test")
    run(str(repo / "utils/mkgraph.sh"), "--mono", "lang_test", str(ref / "exp/mono0a"), "graph")
    assert "HCLG.fst" in (tmp_path / "graph/log/mkgraph.log").read_text()
    _check_decodes(tmp_path / "graph", ref / "exp/mono0a/graph_tgpr", ref / "exp/mono0a", ref / "golden_decode", 10)
    r = subprocess.run([str(repo / "utils/mkgraph.sh"), "lang", str(ref / "exp/mono0a"), "graph2"], cwd=tmp_path,
                       env=env, capture_output=True, text=True)
    assert r.returncode != 0 and "expected file lang/G.fst to exist" in r.stderr
