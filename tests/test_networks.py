"""Networks: the paper's parameter counts, the shared model interface, priors, DGMM-from-DNN,
separate optimisation, depth variants, DSGMM, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dgmm.models import (DNN, DeepGMM, build_model, count_parameters, count_prior, dgmm_from_dnn, load_model,
                         save_model)

torch.set_num_threads(1)

PAPER = dict(input_dim=1040, num_states=2432, hidden_dim=2560)


@pytest.mark.parametrize("config,paper_total,paper_trainable", [
    (dict(type="dnn", hidden_layers=8), 55e6, None),
    (dict(type="dgmm", hidden_layers=7, bottleneck_dim=272, num_components=5), 49e6, None),
    (dict(type="dgmm", hidden_layers=7, bottleneck_dim=272, num_components=5, freeze_hidden=True), 49e6, 7.3e6),
    (dict(type="shallow_gmm", bottleneck_dim=39, num_components=21), 4.0e6, None),
    (dict(type="shallow_gmm", bottleneck_dim=272, num_components=41), 54e6, None),
    (dict(type="dgmm", hidden_layers=7, bottleneck_dim=480, num_components=5), 54e6, None),
], ids=["dnn8x2560", "dgmm7+gmm272x5", "dgmm7+gmm272x5_frozen", "shallow39x21", "shallow272x41", "dgmm7+gmm480x5"])
def test_paper_parameter_counts(config, paper_total, paper_trainable):
    """Counts as the paper states them, within 2% (conventions: networks.py docstring). Built on the
    meta device: no memory is allocated for the 55 M weights."""
    with torch.device("meta"):
        model = build_model({**PAPER, **config})
    assert abs(count_parameters(model) / paper_total - 1) < 0.02
    if paper_trainable is not None:
        assert abs(count_parameters(model, trainable_only=True) / paper_trainable - 1) < 0.02


def test_dnn_constructor_matches_build_model():
    with torch.device("meta"):
        direct = DNN(input_dim=1040, hidden_layers=8, hidden_dim=2560, num_states=2432)
        built = build_model({**PAPER, "type": "dnn"})
    assert count_parameters(direct) == count_parameters(built) == 1040 * 2560 + 2560 + 7 * (2560 * 2560 + 2560) + 2560 * 2432 + 2432
    assert sum(isinstance(m, torch.nn.ReLU) for m in direct.hidden) == 8


SMALL = dict(input_dim=12, num_states=7, hidden_dim=10, bottleneck_dim=4, num_components=2)


def small(**kw):
    torch.manual_seed(0)
    return build_model({**SMALL, **kw})


@pytest.mark.parametrize("kw", [dict(type="dnn", hidden_layers=2), dict(type="dgmm", hidden_layers=2),
                                dict(type="shallow_gmm"), dict(type="dsgmm", hidden_layers=1),
                                dict(type="dgmm", prior="none"), dict(type="dgmm", prior="counts")])
def test_interface(kw):
    model = small(**kw)
    x, y = torch.randn(5, 12), torch.randint(0, 7, (5,))
    log_post = model(x)
    assert log_post.shape == (5, 7)
    assert torch.allclose(log_post.exp().sum(-1), torch.ones(5), atol=1e-5)
    loss, lp = model.training_loss(x, y)
    online = model.config["type"] != "dnn" and model.config["prior"] == "online"
    expected = F.nll_loss(log_post, y) + (-model.log_prior()[y].mean() if online else 0)
    assert torch.allclose(loss, expected) and torch.allclose(lp, log_post)
    ll = model.log_likelihoods(x)
    if isinstance(model, DNN):
        assert model.log_prior() is None and torch.allclose(ll, log_post)
    else:
        assert torch.allclose(ll, model.gmm(model.bottleneck(model.hidden(x))))
        lp = model.log_prior()
        assert torch.allclose(log_post, F.log_softmax(ll + (0 if lp is None else lp), -1), atol=1e-6)
    model.set_variances_trainable(False)
    model.set_hidden_trainable(False)
    assert not any(p.requires_grad for p in model.hidden.parameters())
    assert any(p.requires_grad for p in model.parameters())
    assert model.config == {**model.config, **SMALL, **kw}


def test_online_prior_is_trained_only_by_its_own_cross_entropy():
    """The prior logits get exactly the gradient of their CE against the labels (softmax - label
    frequencies); the posterior CE does not reach them. Training it alone recovers the frequencies."""
    model = small(type="dgmm")
    x, y = torch.randn(40, 12), torch.randint(0, 7, (40,))
    loss, _ = model.training_loss(x, y)
    loss.backward()
    freq = torch.bincount(y, minlength=7).float() / 40
    assert torch.allclose(model.prior.logits.grad, torch.softmax(model.prior.logits, 0) - freq, atol=1e-6)
    opt = torch.optim.SGD(model.prior.parameters(), lr=5.0)
    for _ in range(300):
        opt.zero_grad()
        model.training_loss(x, y)[0].backward()
        opt.step()
    assert torch.allclose(model.log_prior().exp(), freq, atol=2e-3)


def test_count_prior():
    lp = count_prior(np.array([10.0, 30.0, 0.0, 60.0]))
    assert torch.isfinite(lp).all()
    assert torch.allclose(lp.exp(), torch.tensor([10, 30, 1, 60]) / 101.0)
    with pytest.raises(ValueError, match="inf or NaN"):
        count_prior(np.array([1.0, np.nan]))
    model = small(type="dgmm", prior="counts")
    model.set_count_prior(np.array([0, 1, 2, 3, 4, 5, 0]))
    assert torch.isfinite(model.log_prior()).all() and abs(float(model.log_prior().exp().sum()) - 1) < 1e-6
    with pytest.raises(ValueError, match="not 'counts'"):
        small(type="dgmm").set_count_prior(np.ones(7))


def test_dgmm_from_dnn_and_separate_optimisation():
    dnn = small(type="dnn", hidden_layers=4)
    dgmm = dgmm_from_dnn(dnn, {**SMALL, "type": "dgmm", "freeze_hidden": True}, num_hidden_to_copy=3)
    assert dgmm.config["hidden_layers"] == 3 and len(dgmm.hidden) == 6
    for i in range(3):
        assert torch.equal(dgmm.hidden[2 * i].weight, dnn.hidden[2 * i].weight)
        assert torch.equal(dgmm.hidden[2 * i].bias, dnn.hidden[2 * i].bias)
    trainable = {n for n, p in dgmm.named_parameters() if p.requires_grad}
    assert trainable == {"bottleneck.weight", "gmm.means", "gmm.log_vars", "gmm.weight_logits", "prior.logits"}
    loss, _ = dgmm.training_loss(torch.randn(3, 12), torch.tensor([0, 1, 2]))
    loss.backward()
    assert all(p.grad is None for p in dgmm.hidden.parameters())
    with pytest.raises(ValueError, match="num_hidden_to_copy"):
        dgmm_from_dnn(dnn, SMALL, 5)


@pytest.mark.parametrize("depth", [1, 3, 7])
def test_depth_variants(depth):
    model = small(type="dgmm", hidden_layers=depth)
    assert sum(isinstance(m, torch.nn.Linear) for m in model.hidden) == depth
    assert model(torch.randn(2, 12)).shape == (2, 7)


def test_bad_configs():
    for bad, msg in [(dict(type="rnn"), "type must be"), (dict(bogus=1), "unknown key"),
                     (dict(type="shallow_gmm", hidden_layers=2), "shallow_gmm"), (dict(prior="x"), "prior must")]:
        with pytest.raises(ValueError, match=msg):
            build_model({**SMALL, **bad})


def test_checkpoint_round_trip_and_errors(tmp_path):
    for kw in (dict(type="dnn", hidden_layers=2), dict(type="dsgmm", hidden_layers=1, subspace_share="mean")):
        model = small(**kw)
        path = tmp_path / "final.pt"
        save_model(path, model, {"epoch": 3})
        assert sorted(torch.load(path, weights_only=True)) == ["config", "epoch", "state_dict"]
        again = load_model(path)
        assert type(again) is type(model) and again.config == model.config
        for (n1, t1), (n2, t2) in zip(model.state_dict().items(), again.state_dict().items()):
            assert n1 == n2 and torch.equal(t1, t2)
    # architecture mismatch: the config says something else than the weights
    obj = torch.load(path, weights_only=True)
    obj["config"]["num_components"] = 3
    torch.save(obj, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="do not match the architecture"):
        load_model(tmp_path / "bad.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable dgmm checkpoint"):
        load_model(tmp_path / "junk.pt")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.pt")
    assert not list(tmp_path.glob(".*tmp*"))


def test_identity_bottleneck_feeds_the_input_to_the_gmm_layer():
    """Table 2's fixed features: no learned transform between the features and the GMM layer."""
    cfg = {"type": "shallow_gmm", "input_dim": 12, "num_states": 5, "bottleneck_dim": 12, "num_components": 3}
    fixed = build_model({**cfg, "identity_bottleneck": True})
    learned = build_model(cfg)
    x = torch.randn(7, 12)
    assert torch.equal(fixed.features(x), x)
    assert torch.allclose(fixed.log_likelihoods(x), fixed.gmm(x))
    assert count_parameters(learned) - count_parameters(fixed) == 12 * 12
    assert not any("bottleneck" in k for k in fixed.state_dict())
    with pytest.raises(ValueError, match="identity_bottleneck needs bottleneck_dim = 12"):
        build_model({**cfg, "bottleneck_dim": 8, "identity_bottleneck": True})


@pytest.mark.parametrize("type_", ["dnn", "dgmm"])
def test_hidden_stack_keeps_the_activation_scale(type_):
    """He init: the last hidden layer's RMS stays within 2x of the input's through 8 ReLU layers
    (torch's default init gives 0.03: up to 2.5x smaller per layer)."""
    torch.manual_seed(0)
    model = build_model(dict(type=type_, input_dim=1040, num_states=50, hidden_layers=8, hidden_dim=256,
                             bottleneck_dim=16, num_components=2))
    x = torch.randn(2000, 1040)
    with torch.no_grad():
        h = model.hidden(x)
    ratio = float(h.pow(2).mean().sqrt() / x.pow(2).mean().sqrt())
    assert 0.5 < ratio < 2.0, ratio
    assert all(not m.bias.detach().any() for m in model.hidden if isinstance(m, torch.nn.Linear))
