"""Priors: floored counts, posterior averaging over a random frame subset, the online prior."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dgmm.decode.prior import (online_prior, prior_from_counts, prior_from_posteriors, read_log_prior,
                               write_prior)
from dgmm.models import build_model
from tests.test_loglikes import EXTRA, LEFT, RIGHT, DIM, make_data, reference_inputs


def test_counts_floor_keeps_unseen_pdfs_finite():
    counts = np.array([0.0, 3.0, 0.0, 96.0])
    p = prior_from_counts(counts, count_floor=1.0)
    np.testing.assert_allclose(p, np.array([1, 3, 1, 96]) / 101.0, rtol=1e-6)  # float32 log prior
    assert np.all(np.isfinite(np.log(p)))


def test_counts_all_zero_is_uniform_and_bad_counts_rejected():
    np.testing.assert_allclose(prior_from_counts(np.zeros(4)), np.full(4, 0.25))
    with pytest.raises(ValueError):
        prior_from_counts(np.array([1.0, np.nan]))


def _tiny(config):
    torch.manual_seed(0)
    return build_model({"input_dim": DIM * (LEFT + 1 + RIGHT), "num_states": 7, "hidden_layers": 1,
                        "hidden_dim": 8, "bottleneck_dim": 3, "num_components": 2, **config}).eval()


def test_posterior_prior_is_mean_softmax(tmp_path):
    data, feats = make_data(tmp_path)
    model = _tiny({"type": "dnn"})
    total = sum(len(m) for m in feats.values())
    with torch.no_grad():
        ref = torch.cat([model.double()(torch.from_numpy(reference_inputs(m))).exp() for m in feats.values()])
    model.float()
    p_all, n = prior_from_posteriors(model, EXTRA, data, num_frames=10 * total)
    assert n == total
    np.testing.assert_allclose(p_all, ref.mean(0).numpy(), rtol=1e-5)
    p_sub, n_sub = prior_from_posteriors(model, EXTRA, data, num_frames=5, seed=3)
    p_sub2, _ = prior_from_posteriors(model, EXTRA, data, num_frames=5, seed=3)
    assert n_sub == 5 and np.array_equal(p_sub, p_sub2)
    # the subset mean is the mean of 5 distinct rows of the full posterior matrix
    rows = ref.numpy()
    found = [np.isclose(rows, r, rtol=1e-5).all(1).any() for r in rows]
    assert all(found) and abs(p_sub.sum() - 1) < 1e-9


def test_online_prior_and_round_trip(tmp_path):
    model = _tiny({"type": "dgmm", "prior": "online"})
    with torch.no_grad():
        model.prior.logits.copy_(torch.linspace(-2, 2, 7))
    p = online_prior(model)
    np.testing.assert_allclose(p, torch.softmax(torch.linspace(-2, 2, 7, dtype=torch.float64), 0).numpy(), rtol=1e-6)
    write_prior(tmp_path, p, "online: test")
    np.testing.assert_allclose(np.exp(read_log_prior(tmp_path / "prior.vec")), p, rtol=1e-9)
    assert (tmp_path / "prior_method").read_text().startswith("online")
    with pytest.raises(ValueError):
        online_prior(_tiny({"type": "dnn"}))


def test_read_log_prior_rejects_zero(tmp_path):
    (tmp_path / "p.vec").write_text("[ 0.5 0 0.5 ]\n")
    with pytest.raises(ValueError, match="p.vec"):
        read_log_prior(tmp_path / "p.vec")
