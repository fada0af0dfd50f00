"""CMVN statistics and normalisation against Kaldi's compute-cmvn-stats / apply-cmvn outputs."""

from __future__ import annotations

import subprocess
import sys

import kaldiio
import numpy as np
import pytest

from conftest import REPO, shared_path
from dgmm.features.cmvn import apply_cmvn, compute_cmvn_stats, fake_cmvn_stats, load_cmvn_for_utts


@pytest.fixture(scope="module")
def golden():
    """Kaldi's test_yesno MFCCs, their per-speaker CMVN stats and apply-cmvn | add-deltas output."""
    d = shared_path("kaldi_ref", "yesno", "golden_decode")
    load = lambda name: dict(kaldiio.load_ark(str(d / name)))  # noqa: E731
    return load("feats.ark"), load("cmvn.ark")["global"], load("feats_cmvn_deltas.ark")


def test_stats_equal_independent_sums():
    rng = np.random.default_rng(0)
    feats = [rng.normal(3, 2, (n, 5)).astype(np.float32) for n in (7, 1, 20)]
    s = compute_cmvn_stats(feats)
    assert s.shape == (2, 6) and s.dtype == np.float64
    allf = np.concatenate(feats).astype(np.float64)
    np.testing.assert_allclose(s[0, :5], allf.sum(0), rtol=1e-6)
    np.testing.assert_allclose(s[1, :5], (allf ** 2).sum(0), rtol=1e-6)
    assert s[0, 5] == 28 and s[1, 5] == 0


def test_stats_match_kaldi_compute_cmvn_stats(golden):
    feats, kaldi_stats, _ = golden
    ours = compute_cmvn_stats(feats[u] for u in sorted(feats))
    # the reference was stored as float32 by copy-matrix: compare at float32 resolution
    np.testing.assert_allclose(ours, kaldi_stats, rtol=2e-7, atol=0)


def test_apply_cmvn_matches_kaldi_apply_cmvn(golden):
    feats, stats, cmvn_deltas = golden
    for utt, x in feats.items():
        # add-deltas keeps the normalised static features as its first 13 columns
        np.testing.assert_array_equal(apply_cmvn(x, stats), cmvn_deltas[utt][:, :13])


def test_apply_cmvn_against_float64_formula():
    rng = np.random.default_rng(1)
    x = rng.normal(5, 3, (50, 4)).astype(np.float32)
    s = compute_cmvn_stats([x, x[:10]])
    n = 60.0
    mean = s[0, :4] / n
    std = np.sqrt(s[1, :4] / n - mean ** 2)
    np.testing.assert_allclose(apply_cmvn(x, s), x - mean, atol=1e-5)
    np.testing.assert_allclose(apply_cmvn(x, s, norm_vars=True), (x - mean) / std, atol=1e-5)
    assert apply_cmvn(x, s).dtype == np.float32


def test_variance_floor_and_errors():
    x = np.ones((5, 2), np.float32)
    y = apply_cmvn(x, compute_cmvn_stats([x]), norm_vars=True)    # zero variance -> floored, finite
    assert np.all(np.isfinite(y)) and np.all(y == 0)
    with pytest.raises(ValueError, match="count = 0.5"):
        apply_cmvn(x, np.array([[1, 1, 0.5], [1, 1, 0]]))
    with pytest.raises(ValueError, match="dim mismatch"):
        apply_cmvn(x, fake_cmvn_stats(3))
    np.testing.assert_array_equal(apply_cmvn(x, fake_cmvn_stats(2), norm_vars=True), x)


def _data_dir(tmp_path, spk_of):
    rng = np.random.default_rng(2)
    d = tmp_path / "data"
    d.mkdir()
    feats = {u: rng.normal(0, 1, (10 + i, 3)).astype(np.float32) for i, u in enumerate(sorted(spk_of))}
    kaldiio.save_ark(str(tmp_path / "f.ark"), feats, scp=str(d / "feats.scp"))
    (d / "utt2spk").write_text("".join(f"{u} {spk_of[u]}\n" for u in sorted(spk_of)))
    spk2utt = {}
    for u in sorted(spk_of):
        spk2utt.setdefault(spk_of[u], []).append(u)
    (d / "spk2utt").write_text("".join(f"{s} {' '.join(us)}\n" for s, us in sorted(spk2utt.items())))
    return d, feats, spk2utt


@pytest.mark.parametrize("mode", ["per-speaker", "global", "fake"])
def test_compute_cmvn_stats_tool_round_trip(tmp_path, mode):
    d, feats, spk2utt = _data_dir(tmp_path, {"a1": "a", "a2": "a", "b1": "b"})
    args = ["--global"] if mode == "global" else ["--fake"] if mode == "fake" else []
    r = subprocess.run([sys.executable, "-m", "dgmm.bin.compute_cmvn_stats", *args,
                        str(d), str(tmp_path / "cmvn.ark"), str(d / "cmvn.scp")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    stored = kaldiio.load_scp(str(d / "cmvn.scp"))
    assert sorted(stored) == ["a", "b"]
    for spk, utts in spk2utt.items():
        m = stored[spk]
        assert m.dtype == np.float64 and m.shape == (2, 4)      # Kaldi double matrix
        frames = np.concatenate([feats[u] for u in (sum(spk2utt.values(), []) if mode == "global" else utts)])
        if mode == "fake":
            np.testing.assert_array_equal(m, [[0, 0, 0, 1], [1, 1, 1, 0]])
            continue
        frames = frames.astype(np.float64)
        np.testing.assert_allclose(m[0, :3], frames.sum(0), rtol=1e-9)
        np.testing.assert_allclose(m[1, :3], (frames ** 2).sum(0), rtol=1e-6)
        assert m[0, 3] == len(frames)
    per_utt = load_cmvn_for_utts(d)
    assert set(per_utt) == {"a1", "a2", "b1"} and per_utt["a1"] is per_utt["a2"]
    np.testing.assert_array_equal(per_utt["b1"], stored["b"])


@pytest.mark.parametrize("flag", ["", "--fake", "--global=true"])
def test_compute_cmvn_stats_sh(tmp_path, flag):
    d, feats, _ = _data_dir(tmp_path, {"a1": "a", "b1": "b"})
    r = subprocess.run(["bash", "-c", f". {REPO}/path.sh && {REPO}/steps/compute_cmvn_stats.sh {flag} "
                        f"{d} {tmp_path}/log {tmp_path}/cmvn"], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    stored = kaldiio.load_scp(str(d / "cmvn.scp"))
    assert sorted(stored) == ["a", "b"]
    counts = {s: stored[s][0, -1] for s in stored}
    assert counts == ({"a": 1, "b": 1} if flag == "--fake" else {"a": 21, "b": 21} if flag else {"a": 10, "b": 11})
    assert "compute_cmvn_stats" in (tmp_path / "log" / "cmvn_data.log").read_text()


def test_load_cmvn_single_global_entry_and_missing(tmp_path):
    d, _, _ = _data_dir(tmp_path, {"a1": "a", "b1": "b"})
    stats = fake_cmvn_stats(3)
    kaldiio.save_ark(str(tmp_path / "g.ark"), {"global": stats}, scp=str(d / "cmvn.scp"))
    per_utt = load_cmvn_for_utts(d)
    assert set(per_utt) == {"a1", "b1"}
    np.testing.assert_array_equal(per_utt["b1"], stats)
    kaldiio.save_ark(str(tmp_path / "g.ark"), {"a": stats, "x": stats}, scp=str(d / "cmvn.scp"))
    with pytest.raises(Exception, match="no CMVN stats for utterance b1"):
        load_cmvn_for_utts(d)
