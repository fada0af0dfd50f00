"""The GMM layer (Variani et al. 2015, Sec. 2): per-state diagonal Gaussian mixtures as a network layer.

Parameterisation exactly as the paper: stored means mu' (unconstrained), log-variances Sigma'
(Sigma = exp(Sigma'), floored at ``var_floor``) and weight logits omega' (weights = softmax over the
g components of each state). The layer returns log p(x|s) for every state s, i.e. the paper's
-L(x, s).

Computation (like Kaldi's ``DiagGmm::LogLikelihoods``): one log-normaliser per component plus two
matrix products, ``x·(mu/var)ᵀ - ½ x²·(1/var)ᵀ``, then a logsumexp over the g components. A
[B, S, g, d] tensor is never built.

Float32 cancellation. The expanded form subtracts terms of size A = Σ x²/var and C = Σ mu²/var to
get Σ (x-mu)²/var, which may be many orders of magnitude smaller; its rounding error is about
u·(√A + √C)² (u = 2⁻²⁴). Two measures keep the result within max(0.01 nats, 1e-6·|log p|) of the
float64 value:

1. Centring: x and the means are shifted by the (detached) batch mean of x before the products.
   The result is mathematically independent of the shift, so values and gradients are unchanged,
   but a common offset (bottleneck outputs far from 0) no longer inflates A and C.
2. Correction: a cheap bound tells whether any element can exceed the tolerance; only then is the
   per-element bound evaluated, and the few (frame, component) pairs that both matter for the
   logsumexp (within 30 nats of their state's best component) and may be too inaccurate are
   recomputed exactly in the direct form in float64 (gathered rows, autograd-differentiable).
   In training with a sensible model this path touches few or no elements.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
import torch.nn.functional as F

LOG_2PI = math.log(2.0 * math.pi)
# Bound on the rounding error of the expanded form, in units of u·(√A + √C)² (u = 2⁻²⁴).
# Calibrated on random and adversarial inputs (tests/test_gmm_layer.py), with a 4x margin.
ERR_FACTOR = 4.0 * 4.0 * 2.0 ** -24
# Components further than this below their state's best one do not change the logsumexp (e^-30).
RELEVANT_NATS = 30.0
ABS_TOL = 0.01   # nats: the accuracy target of the layer ...
REL_TOL = 1e-6   # ... or this fraction of |log p|, whichever is larger


def _direct_loglik(x: Tensor, means: Tensor, log_vars: Tensor, log_w: Tensor) -> Tensor:
    """log w + log N(x; mu, exp(log_vars)) row by row in float64: x, means, log_vars [n, d] -> [n]."""
    x, means, log_vars = x.double(), means.double(), log_vars.double()
    diff = x - means
    d = x.shape[-1]
    return log_w.double() - 0.5 * (d * LOG_2PI + log_vars.sum(-1) + (diff * diff * torch.exp(-log_vars)).sum(-1))


def gmm_component_log_likelihoods(x: Tensor, means: Tensor, log_vars: Tensor, weight_logits: Tensor,
                                  var_floor: float = 0.0) -> Tensor:
    """log(w_si N(x_b; mu_si, Sigma_si)) for all frames and components.

    Args:
        x: [B, d] inputs (bottleneck outputs).
        means: [S, g, d] means mu'.
        log_vars: [S, g, d] log-variances Sigma'; variances are exp(Sigma') floored at ``var_floor``.
        weight_logits: [S, g] omega'; weights are softmax over g.
    Returns:
        [B, S, g] per-component log-likelihoods including the log weight.
    """
    S, g, d = means.shape
    B = x.shape[0]
    if var_floor > 0:
        log_vars = torch.clamp(log_vars, min=math.log(var_floor))
    log_w = F.log_softmax(weight_logits, dim=-1).reshape(S * g)
    means = means.reshape(S * g, d)
    log_vars = log_vars.reshape(S * g, d)
    inv_var = torch.exp(-log_vars)

    centre = x.detach().mean(0)
    xc = x - centre
    mc = means - centre
    m_iv = mc * inv_var
    c_sq = (mc * m_iv).sum(-1)  # C = Σ mu²/var (centred), [S*g]
    const = log_w - 0.5 * (d * LOG_2PI + log_vars.sum(-1) + c_sq)
    a_sq = (xc * xc) @ inv_var.t()  # A = Σ x²/var, [B, S*g]
    ll = torch.addmm(const, xc, m_iv.t()) - 0.5 * a_sq

    idx = _inaccurate_elements(ll.detach().view(B, S, g), a_sq.detach(), c_sq.detach(), xc.detach(),
                               inv_var.detach())
    if idx is not None:
        b, k = idx
        exact = _direct_loglik(x[b], means[k], log_vars[k], log_w[k]).to(ll.dtype)
        ll = ll.index_put((b, k), exact)
    return ll.view(B, S, g)


def _inaccurate_elements(ll: Tensor, a_sq: Tensor, c_sq: Tensor, xc: Tensor, inv_var: Tensor):
    """(frame, component) indices whose expanded-form value may miss the tolerance and that matter.

    ll: [B, S, g] expanded-form values; a_sq: [B, S*g]; c_sq: [S*g]; xc: [B, d]; inv_var: [S*g, d].
    Returns None when no element needs a correction (the common case, decided in O(B·d + S·g·d)).
    """
    if ll.dtype == torch.float64:
        return None
    B, S, g = ll.shape
    # Cheap global bound: A <= |xc|² max(1/var).
    a_max = float((xc * xc).sum(-1).max()) * float(inv_var.max())
    if ERR_FACTOR * (math.sqrt(a_max) + math.sqrt(float(c_sq.max()))) ** 2 <= ABS_TOL:
        return None
    err = ERR_FACTOR * (a_sq.clamp_min(0).sqrt() + c_sq.sqrt()).square().view(B, S, g)
    tol = torch.clamp(REL_TOL * ll.abs(), min=ABS_TOL)
    need = err > tol
    if not bool(need.any()):
        return None
    floor = (ll - err).amax(-1, keepdim=True) - RELEVANT_NATS
    need &= (ll + err) >= floor
    b, k = need.view(B, S * g).nonzero(as_tuple=True)
    return (b, k) if b.numel() else None


class GMMLayer(nn.Module):
    """log p(x|s) for S states, each a mixture of g diagonal Gaussians in d dimensions.

    Parameters (the paper's): ``means`` [S, g, d] (mu'), ``log_vars`` [S, g, d] (Sigma'),
    ``weight_logits`` [S, g] (omega'). Init: mu' ~ N(0, 1), Sigma' = 0, uniform weights.
    """

    def __init__(self, in_dim: int, num_states: int, num_components: int, var_floor: float = 1e-2):
        super().__init__()
        self.in_dim, self.num_states, self.num_components = in_dim, num_states, num_components
        self.var_floor = float(var_floor)
        self.means = nn.Parameter(torch.randn(num_states, num_components, in_dim))
        self.log_vars = nn.Parameter(torch.zeros(num_states, num_components, in_dim))
        self.weight_logits = nn.Parameter(torch.zeros(num_states, num_components))

    def extra_repr(self) -> str:
        return (f"in_dim={self.in_dim}, num_states={self.num_states}, "
                f"num_components={self.num_components}, var_floor={self.var_floor:g}")

    def set_variances_trainable(self, flag: bool) -> None:
        """The paper's schedule: train means and weights first (variances fixed), then everything."""
        self.log_vars.requires_grad_(flag)

    def component_log_likelihoods(self, x: Tensor) -> Tensor:
        """[B, d] -> [B, S, g]: log(w_si N(x; mu_si, Sigma_si))."""
        return gmm_component_log_likelihoods(x, self.means, self.log_vars, self.weight_logits, self.var_floor)

    def forward(self, x: Tensor) -> Tensor:
        """[B, d] -> [B, S]: log p(x|s)."""
        return torch.logsumexp(self.component_log_likelihoods(x), dim=-1)

    @torch.no_grad()
    def init_from_data(self, x: Tensor, y: Tensor, iters: int = 5, chunk: int = 8192) -> None:
        """Data-driven initialisation: per-state diagonal EM on bottleneck outputs.

        Each state's means start at g of its own frames (drawn at random), then ``iters`` EM
        iterations run for all states at once. States without frames keep their current (random)
        parameters; components that lose all their frames keep theirs.

        Args:
            x: [N, d] bottleneck outputs; y: [N] state labels (long, in [0, S)).
        """
        S, g, d = self.means.shape
        x = x.detach().to(self.means.dtype)
        y = y.detach().long()
        if x.ndim != 2 or x.shape[1] != d or y.shape != (x.shape[0],):
            raise ValueError(f"init_from_data: expected x [N, {d}] and y [N], got {tuple(x.shape)}, {tuple(y.shape)}")
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= S):
            raise ValueError(f"init_from_data: labels outside [0, {S})")
        counts = torch.bincount(y, minlength=S)
        seen = counts > 0
        if not bool(seen.any()):
            return
        # Initial means: for each state, g frames drawn uniformly from its own frames.
        order = torch.argsort(y, stable=True)
        start = torch.cumsum(counts, 0) - counts
        pick = start[:, None] + (torch.rand(S, g) * counts[:, None]).long().clamp_max((counts - 1).clamp_min(0)[:, None])
        means = torch.where(seen[:, None, None], x[order[pick.clamp_max(len(y) - 1)]], self.means)
        # Initial variances: the state's global variance (floored).
        sx = torch.zeros(S, d, dtype=x.dtype).index_add_(0, y, x)
        sxx = torch.zeros(S, d, dtype=x.dtype).index_add_(0, y, x * x)
        n = counts.clamp_min(1).to(x.dtype)[:, None]
        var = (sxx / n - (sx / n) ** 2).clamp_min(self.var_floor or 1e-6)
        log_vars = torch.where(seen[:, None, None], var.log()[:, None, :].expand(S, g, d), self.log_vars)
        logits = torch.where(seen[:, None], torch.zeros(S, g, dtype=x.dtype), self.weight_logits)
        for _ in range(iters):
            occ = torch.zeros(S, g, dtype=x.dtype)
            acc_x = torch.zeros(S, g, d, dtype=x.dtype)
            acc_xx = torch.zeros(S, g, d, dtype=x.dtype)
            for lo in range(0, len(y), chunk):
                xb, yb = x[lo:lo + chunk], y[lo:lo + chunk]
                diff = xb[:, None, :] - means[yb]
                lv = log_vars[yb]
                ll = F.log_softmax(logits[yb], -1) - 0.5 * (lv.sum(-1) + (diff * diff * torch.exp(-lv)).sum(-1))
                r = torch.softmax(ll, -1)  # [n, g] responsibilities
                occ.index_add_(0, yb, r)
                acc_x.index_add_(0, yb, r[:, :, None] * xb[:, None, :])
                acc_xx.index_add_(0, yb, r[:, :, None] * (xb * xb)[:, None, :])
            ok = occ > 1e-3
            o = occ.clamp_min(1e-3)[:, :, None]
            new_means = acc_x / o
            new_var = (acc_xx / o - new_means ** 2).clamp_min(self.var_floor or 1e-6)
            means = torch.where(ok[:, :, None], new_means, means)
            log_vars = torch.where(ok[:, :, None], new_var.log(), log_vars)
            w = occ / occ.sum(-1, keepdim=True).clamp_min(1e-10)
            logits = torch.where(seen[:, None], torch.log(w.clamp_min(1e-5)), logits)
        self.means.copy_(means)
        self.log_vars.copy_(log_vars)
        self.weight_logits.copy_(logits)
