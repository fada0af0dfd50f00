"""Decoding Kaldi's own GMM log-likelihoods with the pip-port decoder must give Kaldi's hypotheses.

References (../shared/kaldi_ref, see its README): golden_decode*/ hold gmm-compute-likes output
(loglikes.ark), the graph, the model and the 1-best of latgen-faster-mapped + lattice-best-path
(hyp.int, hyp_ali.txt) and of decode-faster-mapped (decode_faster_hyp.int), all at acwt 0.083333.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import kaldiio
import numpy as np
import pytest

from dgmm.decode.decoder import MappedDecoder
from dgmm.decode.fst_io import parse_fst_bytes, read_fst
from dgmm.kaldi.transition_model import read_transition_model
from dgmm.scoring.wer import read_transcripts, score
from tests.conftest import REPO, shared_path

ACWT = 0.083333
GOLDEN = ["yesno/golden_decode", "fsdd/golden_decode_mono", "fsdd/golden_decode_tri1"]


def read_int_table(path: Path) -> dict[str, list[str]]:
    return {p[0]: p[1:] for p in (line.split() for line in open(path)) if p}


@pytest.mark.parametrize("name", GOLDEN)
def test_best_path_equals_kaldi(name):
    g = shared_path("kaldi_ref", name)
    tm = read_transition_model(g / "final.mdl")
    dec = MappedDecoder(read_fst(g / "HCLG.fst"), tm.tid2pdf)
    latgen, faster = read_int_table(g / "hyp.int"), read_int_table(g / "decode_faster_hyp.int")
    latgen_ali = read_int_table(g / "hyp_ali.txt")
    hyps, same_words, same_ali = {}, 0, 0
    for utt, mat in kaldiio.load_ark(str(g / "loglikes.ark")):
        r = dec.decode(utt, mat, ACWT)
        assert r.ok, utt
        words = [str(w) for w in r.words]
        hyps[utt] = words
        same_words += words in (latgen[utt], faster[utt])
        same_ali += [str(t) for t in r.alignment] == latgen_ali[utt]
    n = len(latgen)
    assert len(hyps) == n
    if name.startswith("yesno"):
        assert same_words == n and same_ali == n
    else:
        assert same_words >= 497
    ref = read_transcripts(g / "text")
    ids = {w: i for w, i in (line.split() for line in open(g / "words.txt"))}
    ref_ids = {u: [ids[w] for w in ws] for u, ws in ref.items()}
    assert abs(score(ref_ids, hyps).wer - score(ref_ids, latgen).wer) <= 0.2


def test_const_fst_conversion_keeps_every_arc(tmp_path):
    """Kaldi's const HCLG read via the vector layout: same arcs/finals after a kaldifst write+read."""
    src = shared_path("kaldi_ref", "fsdd/golden_decode_tri1/HCLG.fst")
    fst = read_fst(src)
    fst.write(str(tmp_path / "v.fst"))
    a, b = parse_fst_bytes(src.read_bytes(), src), parse_fst_bytes((tmp_path / "v.fst").read_bytes(), "v")
    assert a.start == b.start
    np.testing.assert_array_equal(a.arcs, b.arcs)
    np.testing.assert_array_equal(a.finals, b.finals)
    pen = _parse_penalised(src, tmp_path, 0.5)
    word = a.arcs[:, 1] != 0
    w0, w1 = a.arcs[:, 2].view(np.float32), pen.arcs[:, 2].view(np.float32)
    np.testing.assert_allclose(w1[word], w0[word] + 0.5, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(w1[~word], w0[~word])


def _parse_penalised(src, tmp_path, wip):
    read_fst(src, word_penalty=wip).write(str(tmp_path / "p.fst"))
    return parse_fst_bytes((tmp_path / "p.fst").read_bytes(), "p")


def _decode_dir(tmp_path, golden: Path):
    """exp/final.mdl, exp/graph/{HCLG.fst,words.txt}, exp/decode/loglikes.scp, data/{text,utt2spk}."""
    from dgmm.kaldi.archive import ArchiveWriter

    exp, data = tmp_path / "exp", tmp_path / "data"
    (exp / "graph").mkdir(parents=True)
    (exp / "decode").mkdir()
    data.mkdir()
    shutil.copy(golden / "final.mdl", exp / "final.mdl")
    for f in ("HCLG.fst", "words.txt"):
        shutil.copy(golden / f, exp / "graph" / f)
    for f in ("text", "utt2spk"):
        shutil.copy(golden / f, data / f)
    with ArchiveWriter(exp / "decode" / "loglikes.ark", exp / "decode" / "loglikes.scp") as w:
        for utt, mat in kaldiio.load_ark(str(golden / "loglikes.ark")):
            w[utt] = mat
    return exp, data


def _run(cmd, cwd=REPO):
    env = dict(os.environ, PATH=f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}")
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res


def test_decode_sh_yesno_matches_recipe(tmp_path):
    """steps/decode.sh (pip port, 2 jobs) + scoring: golden 1-best per utterance, and every
    wer_LMWT_WIP equal to the Kaldi recipe's (lattice rescoring) on yesno."""
    golden = shared_path("kaldi_ref", "yesno/golden_decode")
    recipe = shared_path("kaldi_ref", "yesno/exp/mono0a/decode_test_yesno")
    exp, data = _decode_dir(tmp_path, golden)
    _run(["bash", "steps/decode.sh", "--nj", "2", "--acwt", str(ACWT), "--lattice-beam", "6.0",
          str(exp / "graph"), str(data), str(exp / "decode")])
    d = exp / "decode"
    hyp = {**read_int_table(d / "hyp.1.int"), **read_int_table(d / "hyp.2.int")}
    assert hyp == read_int_table(golden / "hyp.int")
    for f in sorted(recipe.glob("wer_*_*")):
        ours = [line for line in open(d / f.name) if line.startswith("%")]
        theirs = [line for line in open(f) if line.startswith("%")]
        assert ours == theirs, f.name
    best = (d / "scoring_kaldi" / "best_wer").read_text().split()
    kaldi_best = (recipe / "scoring_kaldi" / "best_wer").read_text().split()
    assert best[:-1] == kaldi_best[:-1]
    assert Path(best[-1]).name == Path(kaldi_best[-1]).name
    assert (d / "scoring_kaldi" / "sclite" / f"hyp_{Path(best[-1]).name[4:]}.sys").is_file() or \
        shutil.which("sclite") is None and not Path("/usr/lib/sctk/bin/sclite").exists()


def test_lmwt_sweep_matches_kaldi_lattice_rescoring(tmp_path):
    """FSDD mono: re-decoding per LM weight/penalty gives Kaldi's lattice-rescored WERs."""
    golden = shared_path("kaldi_ref", "fsdd/golden_decode_mono")
    recipe = shared_path("kaldi_ref", "fsdd/exp/mono/decode_test")
    exp, data = _decode_dir(tmp_path, golden)
    d = exp / "decode"
    _run([str(REPO / ".venv/bin/python"), "-m", "dgmm.bin.decode", "--acwt", str(ACWT), "--lmwt-range", "7:17",
          str(exp / "final.mdl"), str(exp / "graph/HCLG.fst"), f"scp:{d / 'loglikes.scp'}", str(d)])
    _run([str(REPO / ".venv/bin/python"), "-m", "dgmm.bin.score", "--sclite", "false", str(data),
          str(exp / "graph"), str(d)])
    for f in sorted(recipe.glob("wer_*_*")):
        ours = [line for line in open(d / f.name) if line.startswith("%WER")]
        theirs = [line for line in open(f) if line.startswith("%WER")]
        assert ours == theirs, f.name


def test_model_graph_mismatch_names_the_utterance():
    yesno, fsdd = shared_path("kaldi_ref", "yesno/golden_decode"), shared_path("kaldi_ref", "fsdd/golden_decode_mono")
    dec = MappedDecoder(read_fst(yesno / "HCLG.fst"), read_transition_model(yesno / "final.mdl").tid2pdf)
    utt, mat = next(iter(kaldiio.load_ark(str(fsdd / "loglikes.ark"))))
    with pytest.raises(ValueError, match=f"utterance {utt}.*67.*11 pdfs"):
        dec.decode(utt, mat, ACWT)


def test_not_an_fst_is_refused(tmp_path):
    (tmp_path / "HCLG.fst").write_bytes(b"not an fst at all")
    with pytest.raises(ValueError, match="HCLG.fst: not an OpenFst"):
        read_fst(tmp_path / "HCLG.fst")
