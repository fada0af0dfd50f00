"""Subspace GMM layer: parameters implied by v_s through the tied maps (Table 6 sharing options),
per-state storage for what is not shared, values against the naive reference, gradcheck."""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call

from dgmm.models import SubspaceGMMLayer

from test_gmm_layer import reference

torch.set_num_threads(1)

S, G, D, K = 6, 3, 4, 5


@pytest.mark.parametrize("share,names", [
    ("mean", {"state_vectors": (S, K), "mean_map": (G * D, K), "log_vars": (S, G, D), "weight_logits": (S, G)}),
    ("mean_weight", {"state_vectors": (S, K), "mean_map": (G * D, K), "log_vars": (S, G, D), "weight_map": (G, K)}),
    ("all", {"state_vectors": (S, K), "mean_map": (G * D, K), "log_var_map": (G * D, K), "weight_map": (G, K)}),
])
def test_sharing_options_parameters(share, names):
    layer = SubspaceGMMLayer(D, S, G, subspace_dim=K, share=share)
    assert {n: tuple(p.shape) for n, p in layer.named_parameters()} == names
    # initial model: Sigma = 1 and uniform weights, like GMMLayer
    _, log_vars, logits = layer.gmm_parameters()
    assert torch.all(log_vars == 0) and torch.all(logits == 0)


@pytest.mark.parametrize("share", ["mean", "mean_weight", "all"])
def test_values_follow_the_subspace(share):
    torch.manual_seed(0)
    layer = SubspaceGMMLayer(D, S, G, subspace_dim=K, share=share)
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(0.3 * torch.randn_like(p))
    v = layer.state_vectors.detach()
    # independent construction of each state's GMM from its vector
    means = torch.stack([(layer.mean_map @ v[s]).view(G, D) for s in range(S)])
    log_vars = (torch.stack([(layer.log_var_map @ v[s]).view(G, D) for s in range(S)])
                if share == "all" else layer.log_vars)
    logits = (torch.stack([layer.weight_map @ v[s] for s in range(S)])
              if share != "mean" else layer.weight_logits)
    x = torch.randn(7, D)
    out = layer(x)
    assert torch.allclose(out.double(), reference(x, means, log_vars, logits, layer.var_floor), rtol=1e-5)


def test_gradcheck_and_freeze():
    torch.manual_seed(1)
    layer = SubspaceGMMLayer(3, 4, 2, subspace_dim=2, share="all", var_floor=0.0).double()
    with torch.no_grad():
        layer.log_var_map.normal_(0, 0.3)
        layer.weight_map.normal_(0, 0.3)
    x = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    # gradcheck through functional_call so that every map gets checked
    names = [n for n, _ in layer.named_parameters()]
    ps = [p.detach().clone().requires_grad_() for p in layer.parameters()]
    assert torch.autograd.gradcheck(lambda x, *ps: functional_call(layer, dict(zip(names, ps)), (x,)), (x, *ps))
    layer.set_variances_trainable(False)
    layer(x).sum().backward()
    assert layer.log_var_map.grad is None and layer.mean_map.grad is not None


def test_bad_share():
    with pytest.raises(ValueError, match="share must be one of"):
        SubspaceGMMLayer(D, S, G, share="weights")
