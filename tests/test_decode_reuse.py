"""dgmm.bin.decode --lmwt-range: the scoring setting equal to the decode's own (LMWT = 1/acwt, WIP 0)
reuses the best path at --acwt; its 1-best must equal what a re-decode at 1/LMWT gives, and the other
settings must still be re-decoded.

Inputs: Kaldi's gmm-compute-likes output, graph and model of FSDD mono (../shared/kaldi_ref, see its
README), first utterances only to keep the test short.
"""

from __future__ import annotations

import os
import subprocess

import kaldiio
import pytest

from dgmm.bin.decode import is_decode_setting
from dgmm.decode.decoder import MappedDecoder
from dgmm.decode.fst_io import read_fst
from dgmm.kaldi.archive import ArchiveWriter
from dgmm.kaldi.transition_model import read_transition_model
from tests.conftest import REPO, shared_path

ACWT = "0.0833333333"     # run.sh's --acwt: 1/12 to 10 digits
NUM_UTTS = 40


def read_int_table(path) -> dict[str, list[int]]:
    return {p[0]: [int(x) for x in p[1:]] for p in (line.split() for line in open(path)) if p}


def test_is_decode_setting():
    assert is_decode_setting(float(ACWT), 12, 0.0)
    assert is_decode_setting(0.1, 10, 0.0)
    assert not is_decode_setting(float(ACWT), 12, 0.5)
    assert not is_decode_setting(float(ACWT), 11, 0.0)
    assert not is_decode_setting(0.083333, 12, 0.0)    # 4e-6 off: the decode's beam differs, re-decode


def test_reused_best_path_equals_redecode(tmp_path):
    g = shared_path("kaldi_ref", "fsdd/golden_decode_mono")
    mats = dict(list(kaldiio.load_ark(str(g / "loglikes.ark")))[:NUM_UTTS])
    with ArchiveWriter(tmp_path / "loglikes.ark", tmp_path / "loglikes.scp") as w:
        for utt, mat in mats.items():
            w[utt] = mat
    out = tmp_path / "decode"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    res = subprocess.run([str(REPO / ".venv/bin/python"), "-m", "dgmm.bin.decode", "--acwt", ACWT,
                          "--lmwt-range", "11:12", "--word-ins-penalty", "0.0,0.5", str(g / "final.mdl"),
                          str(g / "HCLG.fst"), f"scp:{tmp_path / 'loglikes.scp'}", str(out)],
                         cwd=REPO, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "incl. 3 re-decodes per utterance; 1 scoring setting(s) reuse" in res.stderr

    tm = read_transition_model(g / "final.mdl")
    plain = MappedDecoder(read_fst(g / "HCLG.fst", num_tids=len(tm.tid2pdf) - 1), tm.tid2pdf)
    penalised = MappedDecoder(read_fst(g / "HCLG.fst", word_penalty=0.5, num_tids=len(tm.tid2pdf) - 1),
                              tm.tid2pdf)
    hyp = read_int_table(out / "hyp.1.int")
    assert sorted(hyp) == sorted(mats)
    for (lmwt, wip), dec in {(12, "0.0"): plain, (11, "0.0"): plain, (12, "0.5"): penalised}.items():
        ours = read_int_table(out / "onebest" / f"{lmwt}_{wip}.1.int")
        redecoded = {utt: dec.decode(utt, mat, 1.0 / lmwt).words for utt, mat in mats.items()}
        assert ours == {u: list(w) for u, w in redecoded.items()}, (lmwt, wip)
    assert read_int_table(out / "onebest" / "12_0.0.1.int") == hyp


@pytest.mark.parametrize("spec", ["12", "0:3", "5:2"])
def test_bad_lmwt_range_is_refused(spec):
    from dgmm.bin.decode import parse_lmwt_range
    from dgmm.cli import DgmmError
    with pytest.raises(DgmmError, match="--lmwt-range"):
        parse_lmwt_range(spec)
