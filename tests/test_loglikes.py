"""WFST-ready log-likelihood archives: Kaldi-readable, right shape, finite, equal to a float64 reference."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import torch

from dgmm.decode.loglikes import acoustic_scores
from dgmm.kaldi.archive import ArchiveWriter, write_text_vector
from dgmm.kaldi.transition_model import read_transition_model
from dgmm.models import build_model, save_model
from tests.conftest import REPO, shared_path

LEFT, RIGHT, DIM = 2, 1, 5
EXTRA = {"splice": [LEFT, RIGHT], "cmvn_mode": "utterance", "norm_vars": False}


def make_data(tmp_path: Path, lengths=(7, 1, 12, 9)) -> tuple[Path, dict]:
    rng = np.random.default_rng(0)
    data = tmp_path / "data"
    data.mkdir()
    feats = {f"spk1-utt{i}": rng.normal(size=(n, DIM)).astype(np.float32) for i, n in enumerate(lengths)}
    with ArchiveWriter(data / "feats.ark", data / "feats.scp") as w:
        for u, m in feats.items():
            w[u] = m
    (data / "utt2num_frames").write_text("".join(f"{u} {len(m)}\n" for u, m in feats.items()))
    (data / "utt2spk").write_text("".join(f"{u} spk1\n" for u in feats))
    return data, feats


def reference_inputs(m: np.ndarray) -> np.ndarray:
    """Per-utterance mean normalisation + splicing with edge repetition, float64, by explicit loops."""
    x = m.astype(np.float64) - m.astype(np.float64).mean(0)
    T = len(x)
    return np.stack([np.concatenate([x[min(max(t + o, 0), T - 1)] for o in range(-LEFT, RIGHT + 1)])
                     for t in range(T)])


def model_dir(tmp_path: Path, config: dict) -> tuple[Path, torch.nn.Module, int]:
    mdl = shared_path("kaldi_ref", "yesno/exp/mono0a/final.mdl")
    num_pdfs = read_transition_model(mdl).num_pdfs
    torch.manual_seed(0)
    model = build_model({"input_dim": DIM * (LEFT + 1 + RIGHT), "num_states": num_pdfs, "hidden_dim": 16,
                         "bottleneck_dim": 4, "num_components": 2, **config})
    d = tmp_path / "exp"
    d.mkdir()
    save_model(d / "final.pt", model, EXTRA)
    (d / "final.mdl").write_bytes(mdl.read_bytes())
    return d, model, num_pdfs


def run(cmd):
    env = dict(os.environ, PATH=f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}")
    res = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    return res


def test_make_loglikes_sh_dgmm_archive(tmp_path):
    data, feats = make_data(tmp_path)
    exp, model, num_pdfs = model_dir(tmp_path, {"type": "dgmm", "hidden_layers": 1})
    res = run(["bash", "steps/make_loglikes.sh", "--nj", "2", str(data), str(exp), str(exp / "decode")])
    assert res.returncode == 0, res.stdout + res.stderr
    table = kaldiio.load_scp(str(exp / "decode" / "loglikes.scp"))
    assert sorted(table.keys()) == sorted(feats)
    n2f = dict(line.split() for line in open(data / "utt2num_frames"))
    ref_model = model.double().eval()
    for u, m in feats.items():
        ll = table[u]
        assert ll.dtype == np.float32 and ll.shape == (int(n2f[u]), num_pdfs)
        assert np.all(np.isfinite(ll))
        with torch.no_grad():
            ref = ref_model.log_likelihoods(torch.from_numpy(reference_inputs(m))).numpy()
        np.testing.assert_allclose(ll, ref, rtol=1e-4, atol=1e-3)


def test_dnn_with_zero_count_pdf_gives_finite_scores(tmp_path):
    """A pdf never seen in training: the floored count prior keeps its column finite."""
    data, feats = make_data(tmp_path, lengths=(6, 4))
    exp, model, num_pdfs = model_dir(tmp_path, {"type": "dnn", "hidden_layers": 1})
    counts = np.arange(num_pdfs, dtype=np.float64) * 10  # pdf 0 has zero frames
    (tmp_path / "ali").mkdir()
    write_text_vector(tmp_path / "ali" / "pdf_counts", counts)
    res = run(["bash", "steps/compute_prior.sh", "--method", "counts", str(tmp_path / "ali"), str(exp)])
    assert res.returncode == 0, res.stdout + res.stderr
    res = run(["bash", "steps/make_loglikes.sh", "--nj", "1", str(data), str(exp), str(exp / "decode")])
    assert res.returncode == 0, res.stdout + res.stderr
    table = kaldiio.load_scp(str(exp / "decode" / "loglikes.scp"))
    prior = np.maximum(counts, 1.0) / np.maximum(counts, 1.0).sum()
    for u, m in feats.items():
        ll = table[u]
        assert np.all(np.isfinite(ll))
        with torch.no_grad():
            post = model.double().eval()(torch.from_numpy(reference_inputs(m))).numpy()
        np.testing.assert_allclose(ll, post - np.log(prior), rtol=1e-4, atol=1e-3)


def test_dnn_without_prior_is_refused(tmp_path):
    data, _ = make_data(tmp_path, lengths=(3,))
    exp, _, _ = model_dir(tmp_path, {"type": "dnn", "hidden_layers": 1})
    res = run(["bash", "steps/make_loglikes.sh", "--nj", "1", str(data), str(exp), str(exp / "decode")])
    assert res.returncode != 0 and "compute_prior" in res.stdout + res.stderr


def test_gmm_posterior_minus_own_prior_is_loglik_plus_frame_constant():
    torch.manual_seed(1)
    model = build_model({"type": "dgmm", "input_dim": 8, "num_states": 6, "hidden_layers": 1, "hidden_dim": 8,
                         "bottleneck_dim": 3, "num_components": 2}).eval()
    with torch.no_grad():
        model.prior.logits.copy_(torch.randn(6))
    x = torch.randn(10, 8)
    ll = acoustic_scores(model, x)
    pp = acoustic_scores(model, x, gmm_output="posterior")
    diff = pp.astype(np.float64) - ll
    np.testing.assert_allclose(diff, diff[:, :1].repeat(6, 1), atol=1e-4)
    assert np.ptp(diff[:, 0]) > 0  # a genuinely per-frame constant (-log p(x))


def test_pdf_count_mismatch_with_final_mdl_is_refused(tmp_path):
    data, _ = make_data(tmp_path, lengths=(3,))
    exp, _, _ = model_dir(tmp_path, {"type": "shallow_gmm", "hidden_layers": 0})
    other = shared_path("kaldi_ref", "fsdd/exp/mono/final.mdl")  # 67 pdfs, model has 11
    (exp / "final.mdl").write_bytes(other.read_bytes())
    res = run(["bash", "steps/make_loglikes.sh", "--nj", "1", str(data), str(exp), str(exp / "decode")])
    assert res.returncode != 0 and "pdfs" in res.stdout + res.stderr


def test_decode_sh_makes_the_archive_then_decodes(tmp_path):
    """steps/decode.sh without loglikes.scp: make_loglikes from <decode-dir>/.. then decode and score."""
    golden = shared_path("kaldi_ref", "yesno/golden_decode")
    data, feats = make_data(tmp_path, lengths=(30, 25))
    (data / "text").write_text("".join(f"{u} YES NO\n" for u in feats))
    exp, _, _ = model_dir(tmp_path, {"type": "dgmm", "hidden_layers": 1})
    (exp / "graph").mkdir()
    for f in ("HCLG.fst", "words.txt"):
        (exp / "graph" / f).write_bytes((golden / f).read_bytes())
    res = run(["bash", "steps/decode.sh", "--nj", "2", "--min-lmwt", "9", "--max-lmwt", "10",
               "--word-ins-penalty", "0.0", str(exp / "graph"), str(data), str(exp / "decode")])
    assert res.returncode == 0, res.stdout + res.stderr
    d = exp / "decode"
    assert sorted(kaldiio.load_scp(str(d / "loglikes.scp")).keys()) == sorted(feats)
    hyps = [line.split()[0] for j in (1, 2) for line in open(d / f"hyp.{j}.int")]
    assert sorted(hyps) == sorted(feats)
    assert (d / "scoring_kaldi" / "best_wer").read_text().startswith("%WER ")
