"""The subspace GMM layer of the Deep Subspace GMM (DSGMM; the paper's Sec. 2.2 and Table 6).

Each state s owns a subspace vector v_s (dimension k); tied linear maps turn it into the state's
GMM parameters: means mu_s = M v_s (reshaped to [g, d]), log-variances Sigma'_s = S v_s and weight
logits omega'_s = W v_s. ``share`` chooses which of them come from the subspace, as in Table 6:

    "mean"         mu from M v_s; Sigma' and omega' per state (as in GMMLayer)
    "mean_weight"  mu and omega' from the subspace; Sigma' per state
    "all"          mu, Sigma' and omega' from the subspace

The log-likelihood itself is GMMLayer's (same numerics; see gmm_layer.py).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from dgmm.models.gmm_layer import gmm_log_likelihoods

SHARE_OPTIONS = ("mean", "mean_weight", "all")


class SubspaceGMMLayer(nn.Module):
    """log p(x|s) for S states with subspace-tied parameters.

    Parameters: ``state_vectors`` [S, k]; ``mean_map`` [g*d, k]; then either ``weight_map`` [g, k]
    or per-state ``weight_logits`` [S, g]; either ``log_var_map`` [g*d, k] or per-state ``log_vars``
    [S, g, d]. Init matches GMMLayer's in distribution: v_s ~ N(0, 1), M ~ N(0, 1/k) so that
    mu ~ N(0, 1); the variance and weight maps (or per-state tensors) start at 0 (Sigma = 1,
    uniform weights).
    """

    def __init__(self, in_dim: int, num_states: int, num_components: int, subspace_dim: int | None = None,
                 share: str = "all", var_floor: float = 1e-2, exact: bool = True):
        super().__init__()
        if share not in SHARE_OPTIONS:
            raise ValueError(f"SubspaceGMMLayer: share must be one of {SHARE_OPTIONS}, got {share!r}")
        k = in_dim if subspace_dim is None else int(subspace_dim)
        d, S, g = in_dim, num_states, num_components
        self.in_dim, self.num_states, self.num_components, self.subspace_dim = d, S, g, k
        self.share, self.var_floor, self.exact = share, float(var_floor), bool(exact)
        self.state_vectors = nn.Parameter(torch.randn(S, k))
        self.mean_map = nn.Parameter(torch.randn(g * d, k) / math.sqrt(k))
        if share == "all":
            self.log_var_map = nn.Parameter(torch.zeros(g * d, k))
        else:
            self.log_vars = nn.Parameter(torch.zeros(S, g, d))
        if share in ("mean_weight", "all"):
            self.weight_map = nn.Parameter(torch.zeros(g, k))
        else:
            self.weight_logits = nn.Parameter(torch.zeros(S, g))

    def extra_repr(self) -> str:
        return (f"in_dim={self.in_dim}, num_states={self.num_states}, num_components={self.num_components}, "
                f"subspace_dim={self.subspace_dim}, share={self.share}, var_floor={self.var_floor:g}")

    def gmm_parameters(self) -> tuple[Tensor, Tensor, Tensor]:
        """The per-state (means [S, g, d], log_vars [S, g, d], weight_logits [S, g]) implied by v_s."""
        S, g, d = self.num_states, self.num_components, self.in_dim
        v = self.state_vectors
        means = (v @ self.mean_map.t()).view(S, g, d)
        log_vars = (v @ self.log_var_map.t()).view(S, g, d) if self.share == "all" else self.log_vars
        logits = v @ self.weight_map.t() if self.share != "mean" else self.weight_logits
        return means, log_vars, logits

    def set_variances_trainable(self, flag: bool) -> None:
        (self.log_var_map if self.share == "all" else self.log_vars).requires_grad_(flag)

    def forward(self, x: Tensor) -> Tensor:
        """[B, d] -> [B, S]: log p(x|s)."""
        means, log_vars, logits = self.gmm_parameters()
        return gmm_log_likelihoods(x, means, log_vars, logits, self.var_floor, self.exact)
