"""egs/yesno/s5 end to end (issue 8): audio -> GMM bootstrap -> DNN -> DGMM -> archives -> WER.

Compiled Kaldi's monophone GMM gets 1.25% WER on this test set (../shared/kaldi_ref/yesno); our DNN
and DGMM must do at least as well. Then the recipe's resumability: a rerun changes nothing, and deleting
one stage's output redoes that stage and the ones depending on it, nothing else.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from conftest import REPO, recipe_copy, run_recipe, shared_path

pytestmark = pytest.mark.slow


def wer(path) -> float:
    return float(re.search(r"%WER ([\d.]+)", path.read_text()).group(1))


def snapshot(root):
    return {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file() and "log" not in p.parts}


def test_yesno_end_to_end_and_resumable(tmp_path):
    corpus = shared_path("kaldi_ref", "yesno", "waves_yesno")
    s5 = recipe_copy(tmp_path)
    r = run_recipe(s5, "--corpus-dir", str(corpus))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for n in range(10):
        assert f"Stage {n}:" in r.stdout
    for sys in ("dnn", "dgmm"):
        assert wer(s5 / "exp" / sys / "decode_test_yesno" / "scoring_kaldi" / "best_wer") <= 1.25, sys
    table = r.stdout[r.stdout.index("| system |"):]
    assert "| dnn |" in table and "| dgmm |" in table and "GMM-HMM" in table

    before = snapshot(s5 / "exp")
    r = run_recipe(s5, "--corpus-dir", str(corpus))
    assert r.returncode == 0, r.stderr[-3000:]
    assert snapshot(s5 / "exp") == before                          # a finished recipe redoes nothing

    (s5 / "exp" / "dgmm" / "final.pt").unlink()                    # redo DGMM training only
    r = run_recipe(s5, "--corpus-dir", str(corpus))
    assert r.returncode == 0, r.stderr[-3000:]
    after = snapshot(s5 / "exp")
    changed = {p.relative_to(s5 / "exp").parts[0] for p in after if after[p] != before.get(p)}
    assert changed == {"dgmm", "RESULTS.test_yesno.md"}, changed       # DNN, GMM, graph untouched
    assert wer(s5 / "exp" / "dgmm" / "decode_test_yesno" / "scoring_kaldi" / "best_wer") <= 1.25

    # a new label for the GMM row redoes the table only (the label is one of its dependencies)
    before = snapshot(s5 / "exp")
    r = subprocess.run(["bash", "-c", ". ./path.sh && steps/dgmm_pipeline.sh --stage 9 --train train_yesno "
                        "--test-sets test_yesno --mono-opts '--totgauss 400' --gmm-label 'GMM-HMM mono'"],
                       cwd=s5, env=dict(os.environ, DGMM_ROOT=str(REPO)), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    after = snapshot(s5 / "exp")
    assert {p.name for p in after if after[p] != before.get(p)} == {"RESULTS.test_yesno.md", ".gmm_row.test_yesno"}
    assert "| GMM-HMM mono |" in (s5 / "exp" / "RESULTS.test_yesno.md").read_text()
