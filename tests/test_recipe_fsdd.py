"""egs/fsdd/s5 end to end on a scaled-down network configuration (issue 8: CI runs FSDD scaled down).

Without the recipe's speed perturbation (it triples fbank and alignment time; tests/test_perturb.py
covers the perturbed data dir, RESULTS.md the full recipe with it).

The GMM-HMM bootstrap is the recipe's own (mono + tri1 as the compiled-Kaldi reference run); its WER
must stay within 1 point of Kaldi's tri1 (2.20%, ../shared/kaldi_ref/fsdd). The tiny networks only
have to decode far better than chance (90% for ten digits); their real numbers are in RESULTS.md.
"""

from __future__ import annotations

import re

import pytest

from conftest import REPO, recipe_copy, run_recipe, shared_path

pytestmark = pytest.mark.slow


def wer(path) -> float:
    return float(re.search(r"%WER ([\d.]+)", path.read_text()).group(1))


def test_fsdd_scaled_down_end_to_end(tmp_path):
    corpus = shared_path("corpora", "fsdd")
    s5 = recipe_copy(tmp_path, "fsdd")
    r = run_recipe(s5, "--corpus-dir", str(corpus), "--speed-perturb", "false",   # 3x the GMM/fbank time
                   "--dnn-config", str(REPO / "tests" / "data" / "fsdd_tiny_dnn.yaml"),
                   "--dgmm-config", str(REPO / "tests" / "data" / "fsdd_tiny_dgmm.yaml"), timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    exp = s5 / "exp"
    assert wer(exp / "gmm_decode_test" / "scoring_kaldi" / "best_wer") <= 2.20 + 1.0
    for sys in ("dnn", "dgmm"):
        assert wer(exp / sys / "decode_test" / "scoring_kaldi" / "best_wer") < 30.0, sys
    table = (exp / "RESULTS.test.md").read_text()
    assert "GMM-HMM (exp/tri1)" in table and "| dnn |" in table and "| dgmm |" in table
    report = (exp / "ali_train" / "import_report.txt").read_text()
    assert "utterances_imported 2500" in report and "length_mismatches 0" in report
