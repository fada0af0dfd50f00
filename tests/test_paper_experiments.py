"""steps/paper_experiments.sh at the tiny scale on egs/fsdd/s5 (issue 9): all six tables, the training-order
table and their plots from one command, checked against the trained models themselves.

Decoding is off (--decode false: fifteen decodes cost minutes; the WER column is exercised by the
small-scale run, egs/fsdd/s5/RESULTS_paper.md). The tiny networks are a smoke test: their numbers
say nothing about the paper's findings, so the verdicts are checked for consistency with the
numbers printed above them, not for their outcome.
"""

from __future__ import annotations

import os
import re
import subprocess

import kaldiio
import numpy as np
import pytest
import torch

from conftest import REPO, recipe_copy, run_recipe, shared_path

pytestmark = pytest.mark.slow


def parse_table(text: str) -> dict[str, dict[str, str]]:
    """system -> column -> cell of a tableN.md."""
    lines = [ln for ln in text.splitlines() if ln.startswith("|")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    return {cells[0]: dict(zip(head, cells)) for cells in
            ([c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:])}


def acc(rows, name) -> float:
    return float(rows[name]["test state acc (%)"])


def test_paper_experiments_tiny(tmp_path):
    from dgmm.models import count_parameters, load_model
    from dgmm.paper.tables import ROWS, SIMILAR

    corpus = shared_path("corpora", "fsdd")
    s5 = recipe_copy(tmp_path, "fsdd")
    r = run_recipe(s5, "--corpus-dir", str(corpus), "--stop-stage", "4", "--speed-perturb", "false")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    env = dict(os.environ, DGMM_ROOT=str(REPO), OMP_NUM_THREADS="1")
    r = subprocess.run(["steps/paper_experiments.sh", "--scale", "tiny", "--train-subset", "300", "--test-subset", "60",
                        "--init-frames", "5000", "--decode", "false"],
                       cwd=s5, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    exp = s5 / "exp" / "paper"
    # a rerun of the same command trains nothing again (stage 4 would only rewrite the tables)
    r2 = subprocess.run([*r.args, "--stop-stage", "2"], cwd=s5, env=env, capture_output=True, text=True, timeout=300)
    assert r2.returncode == 0 and "training " not in r2.stdout, r2.stdout[-3000:] + r2.stderr[-3000:]

    tables = {}
    for t, names in ROWS.items():
        stem = "training_order" if t == "order" else f"table{t}"
        text = (exp / f"{stem}.md").read_text()
        rows = tables[t] = parse_table(text)
        assert list(rows) == list(names), t
        assert (exp / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        for name in names:
            d = exp / name
            model = load_model(d / "final.pt")
            total = count_parameters(model)
            assert rows[name]["#params"].startswith(f"{total / 1e6:.3f} M"), (t, name)
            last = (d / "metrics.tsv").read_text().splitlines()[-1].split("\t")
            assert rows[name]["training steps"] == last[2]
            fa = (d / "frame_accuracy.test").read_text().split()
            assert rows[name]["test state acc (%)"] == fa[3] and rows[name]["test CE (nats/frame)"] == fa[1]
            assert rows[name]["WER (%)"] == "-"  # --decode false
        # the verdict printed under the table follows from the numbers in it
        a = {n: acc(rows, n) for n in names}
        held = {"1": a.get("dgmm_joint", 0) > a.get("dgmm_separate", 0),
                "2": a.get("sgmm_logmel", 0) > a.get("sgmm_lda", 0),
                "3": a.get("dgmm_depth1", 0) < a.get("dgmm_depth3", 0) < a.get("dgmm_joint", 0),
                "4": a.get("dnn", 0) > a.get("snn", 0) and a.get("dgmm_scratch_matched", 0) > a.get("sgmm_matched", 0),
                "5": abs(a.get("dgmm_matched", 0) - a.get("dnn", 0)) <= SIMILAR,
                "6": a.get("dsgmm_mean", 0) >= a.get("dgmm_joint", 0),
                "order": a.get("dgmm_joint", 0) >= a.get("dgmm_allvar", 0)}[t]
        assert f"finding {'held' if held else 'did not hold'}:" in text, (t, text)

    # Table 1: separate optimisation kept the DNN's hidden layers, joint optimisation changed them
    dnn, sep, joint = (load_model(exp / n / "final.pt").state_dict() for n in ("dnn", "dgmm_separate", "dgmm_joint"))
    for i in range(7):
        w = f"hidden.{2 * i}.weight"
        assert torch.equal(sep[w], dnn[w]), w
    assert not all(torch.equal(joint[f"hidden.{2 * i}.weight"], dnn[f"hidden.{2 * i}.weight"]) for i in range(7))
    # Tables 4 and 5: parameter counts matched to the DNN's within 3%
    target = count_parameters(load_model(exp / "dnn" / "final.pt"))
    for name in ("snn", "sgmm_matched", "dgmm_scratch_matched", "dgmm_matched"):
        n = count_parameters(load_model(exp / name / "final.pt"))
        assert abs(n - target) <= 0.03 * target, (name, n, target)
    # Table 3: depth 1 / 3 / 7, same GMM layer; Table 6: the three sharing options
    for name, depth in (("dgmm_depth1", 1), ("dgmm_depth3", 3), ("dgmm_joint", 7)):
        assert load_model(exp / name / "final.pt").config["hidden_layers"] == depth
    for share in ("mean", "mean_weight", "all"):
        c = load_model(exp / f"dsgmm_{share}" / "final.pt").config
        assert c["type"] == "dsgmm" and c["subspace_share"] == share

    # Table 2's engineered features: LDA outputs are zero-mean with a unit within-class covariance on
    # the training data it was estimated on (tiny scale: 8 dims)
    feats = dict(kaldiio.load_scp(str(exp / "data" / "lda_train" / "feats.scp")))
    ali = dict(kaldiio.load_scp(str(s5 / "exp" / "ali_train" / "pdf_ali.scp")))
    x = np.concatenate([feats[u] for u in sorted(feats)]).astype(np.float64)
    y = np.concatenate([ali[u] for u in sorted(feats)])
    assert x.shape[1] == 8
    np.testing.assert_allclose(x.mean(0), 0, atol=1e-3)
    means = np.stack([x[y == c].mean(0) if (y == c).any() else np.zeros(8) for c in range(y.max() + 1)])
    r = x - means[y]
    np.testing.assert_allclose(r.T @ r / len(x), np.eye(8), atol=1e-3)
    assert re.search(r"held|did not hold", (exp / "RESULTS.md").read_text())
