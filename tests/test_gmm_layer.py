"""GMM layer: values against a naive float64 reference (incl. the hard float32 grid), gradients against
an independent float64 implementation of the paper's Eq. (2)-(3) and gradcheck, floor, freezing, init;
the fused C kernels against the torch path, and the fallback to it."""

from __future__ import annotations

import itertools
import logging
import math
import os
import shutil

import pytest
import torch

from dgmm.models import GMMLayer, gmm_log_likelihoods
from dgmm.models import gmm_kernels
from dgmm.models import gmm_layer as gl

torch.set_num_threads(1)


def reference(x, means, log_vars, logits, var_floor=0.0):
    """Naive float64 log p(x|s): builds the full [B, S, g, d] difference tensor."""
    x, means, log_vars, logits = (t.detach().double() for t in (x, means, log_vars, logits))
    if var_floor > 0:
        log_vars = log_vars.clamp(min=math.log(var_floor))
    diff = x[:, None, None, :] - means[None]
    comp = torch.log_softmax(logits, -1) - 0.5 * (
        x.shape[1] * math.log(2 * math.pi) + log_vars.sum(-1) + (diff ** 2 * torch.exp(-log_vars)).sum(-1))
    return comp.logsumexp(-1)


def eq23_gradients(x, means, log_vars, logits, grad_out):
    """The paper's Eq. (2)-(3) in float64, written out with responsibilities pi_bsi (no autograd).

    Returns gradients of sum_bs grad_out[b,s] * log p(x_b|s) for x, means, log_vars, logits."""
    x, means, log_vars, logits, G = (t.detach().double() for t in (x, means, log_vars, logits, grad_out))
    var = torch.exp(log_vars)
    diff = x[:, None, None, :] - means[None]  # x - mu, [B, S, g, d]
    comp = torch.log_softmax(logits, -1) - 0.5 * (
        x.shape[1] * math.log(2 * math.pi) + log_vars.sum(-1) + (diff ** 2 / var).sum(-1))
    pi = torch.softmax(comp, -1)  # responsibilities [B, S, g]
    R = G[:, :, None] * pi
    g_means = (R[..., None] * diff / var).sum(0)                       # Eq. (2)
    g_logvar = (R[..., None] * 0.5 * (diff ** 2 / var - 1)).sum(0)     # Eq. (3), Sigma = exp(Sigma')
    g_logits = R.sum(0) - torch.softmax(logits, -1) * G.sum(0)[:, None]
    g_x = (R[..., None] * (-diff) / var).sum((1, 2))
    return g_x, g_means, g_logvar, g_logits


def random_gmm(S, g, d, B, seed=0, dtype=torch.float32, scale=1.0):
    gen = torch.Generator().manual_seed(seed)
    means = torch.randn(S, g, d, generator=gen, dtype=torch.float64)
    log_vars = 0.5 * torch.randn(S, g, d, generator=gen, dtype=torch.float64)
    logits = torch.randn(S, g, generator=gen, dtype=torch.float64)
    x = scale * torch.randn(B, d, generator=gen, dtype=torch.float64)
    return [t.to(dtype).requires_grad_() for t in (x, means, log_vars, logits)]


@pytest.fixture(params=[False, True], ids=["one_block", "many_blocks"])
def blocks(request, monkeypatch):
    """Run a test both with all states in one block and with blocks of very few states."""
    if request.param:
        monkeypatch.setattr(gl, "_BLOCK_FLOATS", 64)
    return request.param


def test_matches_float64_reference(blocks):
    x, m, lv, w = random_gmm(S=11, g=3, d=6, B=9)
    out = gmm_log_likelihoods(x, m, lv, w)
    ref = reference(x, m, lv, w)
    assert out.dtype == torch.float32 and out.shape == (9, 11)
    rel = ((out.double() - ref).abs() / ref.abs()).max()
    assert rel < 1e-4
    with torch.no_grad():  # the inference path keeps no responsibilities
        assert torch.equal(gmm_log_likelihoods(x, m, lv, w), out.detach())


def hard_case(d, offset, var, spread, far, S=8, g=3, B=24, seed=0):
    """Inputs and means sharing an offset; frames at 0, 1 or `far` sigmas (per dimension) from a
    component mean; means of different components `spread` sigmas apart."""
    gen = torch.Generator().manual_seed(seed)
    sig = math.sqrt(var)
    means = offset + sig * spread * torch.randn(S, g, d, generator=gen, dtype=torch.float64)
    log_vars = torch.full((S, g, d), math.log(var), dtype=torch.float64)
    logits = torch.randn(S, g, generator=gen, dtype=torch.float64)
    s, i = torch.randint(0, S, (B,), generator=gen), torch.randint(0, g, (B,), generator=gen)
    reach = torch.tensor([0.0, 1.0, far], dtype=torch.float64)[torch.arange(B) % 3][:, None]
    x = means[s, i] + sig * reach * (2 * torch.rand(B, d, generator=gen, dtype=torch.float64) - 1)
    return x.float(), means.float(), log_vars.float(), logits.float()


def plain_expansion(x, means, log_vars, logits):
    """The textbook float32 expansion without centring or correction (known to fail the grid)."""
    S, g, d = means.shape
    iv = torch.exp(-log_vars).reshape(S * g, d)
    m_iv = (means * torch.exp(-log_vars)).reshape(S * g, d)
    const = torch.log_softmax(logits, -1).reshape(-1) - 0.5 * (
        d * math.log(2 * math.pi) + log_vars.reshape(S * g, d).sum(-1) + (means.reshape(S * g, d) * m_iv).sum(-1))
    return (const + x @ m_iv.t() - 0.5 * (x * x) @ iv.t()).view(x.shape[0], S, g).logsumexp(-1)


def test_hard_inputs_grid():
    """Offsets up to 30, |x-mu|/sigma up to 30, variances down to the floor (0.01), d in {80, 272, 480}:
    error <= max(0.01 nats, 1e-6 |log p|) against float64. The plain expansion must fail somewhere
    on the same grid (otherwise the grid would not test anything)."""
    floor = 0.01
    worst, worst_plain = 0.0, 0.0
    for d, offset, var, spread, far in itertools.product([80, 272, 480], [0.0, 30.0], [floor, 1.0],
                                                         [0.1, 30.0], [1.0, 30.0]):
        x, m, lv, w = hard_case(d, offset, var, spread, far)
        ref = reference(x, m, lv, w, floor)
        tol = torch.clamp(1e-6 * ref.abs(), min=0.01)
        out = gmm_log_likelihoods(x, m, lv, w, floor).double()
        one = gmm_log_likelihoods(x[1:2], m, lv, w, floor).double()  # a batch of one frame (centre = x)
        ratio = float(torch.cat([(out - ref).abs() / tol, (one - ref[1:2]).abs() / tol[1:2]]).max())
        assert ratio <= 1.0, f"d={d} offset={offset} var={var} spread={spread} far={far}: error {ratio:.2f} x tol"
        worst = max(worst, ratio)
        worst_plain = max(worst_plain, float(((plain_expansion(x, m, lv, w).double() - ref).abs() / tol).max()))
    assert worst_plain > 10.0


@pytest.mark.parametrize("route", ["_direct_loglik", "_block_float64"])
def test_correction_paths_are_used_and_exact(monkeypatch, route):
    """With the error bound forced to 'always too inaccurate', the relevant elements are recomputed
    (few: one by one in the direct form; many: the whole block in float64); the result still equals
    the reference (checks the gather/scatter bookkeeping of both routes)."""
    monkeypatch.setattr(gl, "ERR_FACTOR", 1.0)
    monkeypatch.setattr(gl, "_BLOCK_FLOATS", 64)
    monkeypatch.setattr(gl, "_MAX_GATHERED", math.inf if route == "_direct_loglik" else 0.0)
    x, m, lv, w = random_gmm(S=9, g=4, d=5, B=7, seed=3)
    calls = []
    orig = getattr(gl, route)
    monkeypatch.setattr(gl, route, lambda *a: calls.append(len(a[0])) or orig(*a))
    out = gmm_log_likelihoods(x, m, lv, w)
    assert sum(calls) > 0
    assert torch.allclose(out.double(), reference(x, m, lv, w), rtol=1e-6, atol=1e-5)


def test_exact_false_is_the_fast_path(monkeypatch):
    monkeypatch.setattr(gl, "ERR_FACTOR", 1.0)
    checks = []
    monkeypatch.setattr(gl, "_inaccurate_elements", lambda *a: checks.append(1))
    x, m, lv, w = random_gmm(S=9, g=4, d=5, B=7, seed=3)
    out = gmm_log_likelihoods(x, m, lv, w, exact=False)
    assert not checks
    assert torch.allclose(out.double(), reference(x, m, lv, w), rtol=1e-4)
    gmm_log_likelihoods(x, m, lv, w, exact=True)
    assert checks


def test_gradients_equal_eq23(blocks):
    for dtype, rtol in ((torch.float64, 1e-9), (torch.float32, 2e-3)):
        x, m, lv, w = random_gmm(S=6, g=3, d=4, B=8, seed=1, dtype=dtype)
        G = torch.randn(8, 6, dtype=dtype, generator=torch.Generator().manual_seed(5))
        (gmm_log_likelihoods(x, m, lv, w) * G).sum().backward()
        for got, want in zip((x.grad, m.grad, lv.grad, w.grad), eq23_gradients(x, m, lv, w, G)):
            assert got.shape == want.shape
            assert torch.allclose(got.double(), want, rtol=rtol, atol=rtol * want.abs().max())


def test_gradcheck_float64(blocks):
    x, m, lv, w = random_gmm(S=5, g=2, d=3, B=4, seed=2, dtype=torch.float64)
    # floor 0.6 lies inside the spread of exp(log_vars): the clamp is active for some entries
    assert bool((lv < math.log(0.6)).any()) and bool((lv > math.log(0.6)).any())
    assert torch.autograd.gradcheck(lambda *a: gmm_log_likelihoods(*a, 0.6), (x, m, lv, w))


def test_variance_floor():
    x, m, lv, w = random_gmm(S=4, g=2, d=3, B=5, seed=4)
    with torch.no_grad():
        lv[0, 0, 0] = -20.0
    out = gmm_log_likelihoods(x, m, lv, w, var_floor=0.05)
    assert torch.allclose(out.double(), reference(x, m, lv, w, 0.05), rtol=1e-5)
    out.sum().backward()
    assert lv.grad[0, 0, 0] == 0.0 and bool((lv.grad != 0).sum() > 1)


def test_empty_batch():
    x, m, lv, w = random_gmm(S=4, g=2, d=3, B=0)
    out = gmm_log_likelihoods(x, m, lv, w)
    assert out.shape == (0, 4)
    out.sum().backward()
    assert x.grad.shape == (0, 3) and torch.all(m.grad == 0) and torch.all(w.grad == 0)


def test_layer_init_and_freeze_variances():
    torch.manual_seed(0)
    layer = GMMLayer(in_dim=8, num_states=50, num_components=4, var_floor=0.01)
    assert layer.means.shape == (50, 4, 8) and layer.log_vars.shape == (50, 4, 8)
    assert torch.all(layer.log_vars == 0) and torch.all(layer.weight_logits == 0)
    assert abs(float(layer.means.detach().mean())) < 0.1 and abs(float(layer.means.detach().std()) - 1) < 0.1
    layer.set_variances_trainable(False)
    layer(torch.randn(3, 8)).sum().backward()
    assert layer.log_vars.grad is None and layer.means.grad is not None and layer.weight_logits.grad is not None
    layer.set_variances_trainable(True)
    layer(torch.randn(3, 8)).sum().backward()
    assert layer.log_vars.grad is not None


def test_init_from_data():
    """Data-driven init: for two well separated clusters per state, EM finds them; a state without
    frames keeps its random init; the data log-likelihood rises far above the random init's."""
    torch.manual_seed(0)
    S, g, d = 3, 2, 4
    centres = torch.tensor([[5.0] * d, [-5.0] * d])
    y = torch.tensor([0] * 200 + [1] * 200)
    comp = torch.arange(400) % 2
    x = centres[comp] + 0.5 * torch.randn(400, d) + 3.0 * y[:, None]
    layer = GMMLayer(d, S, g, var_floor=1e-3)
    untouched = layer.means[2].clone()
    before = float(layer(x)[torch.arange(400), y].mean().detach())
    layer.init_from_data(x, y, iters=5)
    after = float(layer(x)[torch.arange(400), y].mean().detach())
    assert after > before + 10
    assert torch.equal(layer.means[2], untouched)
    for s in (0, 1):
        found = layer.means[s].mean(-1).sort().values
        assert torch.allclose(found, torch.tensor([-5.0, 5.0]) + 3.0 * s, atol=0.2)
        assert torch.allclose(layer.log_vars[s].exp().mean(-1), torch.full((g,), 0.25), rtol=0.2)
    with pytest.raises(ValueError, match="labels outside"):
        layer.init_from_data(x, torch.full((400,), 3))


def test_deep_gmm_trains_under_bf16_autocast():
    """bf16 autocast (the trainer's --bf16): the GMM layer runs in float32 inside it and gives the
    float32 result for the bottleneck values autocast produced; gradients reach every parameter."""
    from dgmm.models import build_model

    torch.manual_seed(0)
    model = build_model({"type": "dgmm", "input_dim": 20, "num_states": 7, "hidden_layers": 1,
                         "hidden_dim": 16, "bottleneck_dim": 6, "num_components": 2})
    x, y = torch.randn(32, 20), torch.randint(0, 7, (32,))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        h = model.bottleneck(model.hidden(x))
        ll = model.gmm(h)
        loss, _ = model.training_loss(x, y)
    assert h.dtype == torch.bfloat16 and ll.dtype == torch.float32
    ref = model.gmm(h.float())
    assert torch.allclose(ll, ref)
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters() if p.requires_grad)


def _fused_kernels_or_skip():
    """The compiled kernels; a failure where a C compiler exists (they must build there)."""
    lib = gmm_kernels.load()
    if lib is None:
        if os.environ.get("DGMM_GMM_KERNELS") == "eager" or not (shutil.which("cc") or shutil.which("gcc")):
            pytest.skip("fused GMM kernels disabled or no C compiler")
        pytest.fail("a C compiler exists but the fused GMM kernels did not build (see the logged warning)")
    return lib


def _values_and_gradients(inputs, floor, frozen_vars=False):
    x, m, lv, w = (t.detach().clone().requires_grad_(not (frozen_vars and t is inputs[2])) for t in inputs)
    out = gmm_log_likelihoods(x, m, lv, w, floor)
    G = torch.randn(out.shape, generator=torch.Generator().manual_seed(7))
    (out * G).sum().backward()
    return out.detach(), x.grad, m.grad, lv.grad, w.grad


@pytest.mark.parametrize("case", ["floor_offset_short_last_block", "g1", "one_block_frozen_vars", "gathered",
                                  "float64_blocks"])
def test_fused_kernels_equal_torch_path(monkeypatch, case):
    """The compiled kernels (default for float32 on the CPU) against the torch path on the same
    inputs: values and all four gradients equal to float32 rounding. Covers the variance floor
    (clamp and gradient mask), centring (inputs far from 0), blocks of states with a shorter last
    one, g = 1, vector-loop tails (odd d), a frozen Sigma', and both correction routes."""
    _fused_kernels_or_skip()
    S, g, d, B, floor, nb = {"floor_offset_short_last_block": (7, 3, 37, 13, 0.5, 2), "g1": (5, 1, 16, 6, 0.0, 2),
                             "one_block_frozen_vars": (20, 4, 70, 33, 0.0, None),
                             "gathered": (9, 4, 5, 7, 0.0, 3), "float64_blocks": (9, 4, 5, 7, 0.0, 3)}[case]
    x, m, lv, w = random_gmm(S, g, d, B, seed=11)
    with torch.no_grad():
        x += 5.0  # centring matters
        m += 5.0
    if floor:
        assert bool((lv < math.log(floor)).any()) and bool((lv > math.log(floor)).any())
    if nb:
        monkeypatch.setattr(gl, "_BLOCK_FLOATS", nb * g * max(2 * d, B))
    if case in ("gathered", "float64_blocks"):
        monkeypatch.setattr(gl, "ERR_FACTOR", 1.0)
        monkeypatch.setattr(gl, "_MAX_GATHERED", math.inf if case == "gathered" else 0.0)
    calls = []
    fill = gmm_kernels.fill
    monkeypatch.setattr(gmm_kernels, "fill", lambda *a: calls.append(1) or fill(*a))
    fused = _values_and_gradients((x, m, lv, w), floor, frozen_vars=case.endswith("frozen_vars"))
    assert calls, "the fused kernels were not used"
    monkeypatch.setattr(gl, "_fused_kernels", lambda *tensors: None)
    eager = _values_and_gradients((x, m, lv, w), floor, frozen_vars=case.endswith("frozen_vars"))
    assert len(calls) == 2 * -(-S // (nb or S))  # forward and backward fills; none in the torch path
    for name, a, b in zip(("values", "x", "means", "log_vars", "logits"), fused, eager):
        if b is None:
            assert a is None and case.endswith("frozen_vars") and name == "log_vars"
            continue
        scale = max(float(b.abs().max()), 1.0)  # gradients that are 0 up to rounding (g = 1: logits)
        err = float((a - b).abs().max())
        assert err <= 1e-5 * scale, f"{name}: max difference {err:.3g} (scale {scale:.3g})"
    if floor:
        assert torch.all(fused[3][lv < math.log(floor)] == 0)


def test_fused_kernels_fall_back_to_the_torch_path(monkeypatch, caplog, tmp_path):
    """DGMM_GMM_KERNELS=eager, or a C compiler that fails: no kernels (a warning says why), and the
    layer computes with torch."""
    monkeypatch.setattr(gmm_kernels, "_lib", None)
    monkeypatch.setattr(gmm_kernels, "_tried", False)
    monkeypatch.setenv("DGMM_GMM_KERNELS", "eager")
    assert gmm_kernels.load() is None
    monkeypatch.setattr(gmm_kernels, "_tried", False)
    monkeypatch.delenv("DGMM_GMM_KERNELS")
    monkeypatch.setenv("CC", "false")
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    with caplog.at_level(logging.WARNING):
        assert gmm_kernels.load() is None
    assert "using the torch path" in caplog.text
    x, m, lv, w = random_gmm(S=4, g=2, d=3, B=5, seed=4)
    assert torch.allclose(gmm_log_likelihoods(x, m, lv, w).double(), reference(x, m, lv, w), rtol=1e-5)


def test_fused_kernels_exp():
    """The kernels' own exp (seen as 1/Sigma = exp(-Sigma')) against torch over float32's range:
    relative error <= 2^-22 for -88.7 <= Sigma' <= 87.3 (normal results; in the last 0.04 nats
    towards float32's limits the kernel gives 0 or inf early); 0, inf and NaN at the ends."""
    lib = _fused_kernels_or_skip()
    lv = torch.cat([torch.linspace(-88.7, 87.3, 200001), torch.tensor([math.nan, -math.inf, math.inf, -89.0, 88.0])])
    d = lv.numel()
    iv, m_iv = torch.empty(1, d), torch.empty(1, d)
    gmm_kernels.fill(lib, torch.zeros(1, 1, d), lv.view(1, 1, d), None, torch.zeros(d), None, iv, m_iv, None, None)
    want = torch.exp(-lv.double())
    normal = (want >= torch.finfo(torch.float32).tiny) & (want <= torch.finfo(torch.float32).max)
    assert float(((iv[0].double() - want).abs() / want)[normal].max()) <= 2.0 ** -22
    assert iv[0, -5].isnan() and iv[0, -4] == math.inf and iv[0, -3] == 0 and iv[0, -2] == math.inf and iv[0, -1] == 0
