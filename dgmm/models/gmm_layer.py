"""The GMM layer (Variani et al. 2015, Sec. 2): per-state diagonal Gaussian mixtures as a network layer.

Parameterisation exactly as the paper: stored means mu' (unconstrained), log-variances Sigma'
(Sigma = exp(Sigma'), floored at ``var_floor``) and weight logits omega' (weights = softmax over the
g components of each state). The layer returns log p(x|s) for every state s, i.e. the paper's
-L(x, s).

Computation (like Kaldi's ``DiagGmm::LogLikelihoods``): one log-normaliser per component plus
``x·(mu/var)ᵀ - ½ x²·(1/var)ᵀ`` as GEMMs (addmm with the log-normaliser as bias, then addmm_), then
a logsumexp over the g components. A [B, S, g, d] tensor is never built. The backward is analytic
(the paper's Eq. (2)-(3) with responsibilities), again as GEMMs: per block of states the same GEMM
work as a [B, 2d] x [2d, S*g] product forward and backward. The elementwise work around the GEMMs
(parameter transforms, logsumexp, Eq. (2)-(3) algebra) is, for float32 on CPUs, done by fused C
loops (gmm_kernels.py, compiled at first use): per forward+backward 3 passes over the [S*g, d]
parameters (transforms in the forward, again in the backward, gradients) and 3 over the
[B, S*g] log-likelihoods/responsibilities. Elsewhere (other devices or dtypes, no C compiler,
DGMM_GMM_KERNELS=eager) torch does the same in 16 and 7 elementwise passes
(benchmarks/RESULTS_gmm_layer.md). On CPUs the states are processed in blocks, with reused buffers
(fresh large allocations cost as much as the arithmetic), and products that would be float32
denormals are avoided (they slow GEMMs ~50x).

Float32 cancellation. The expanded form subtracts terms of size A = Σ x²/var and C = Σ mu²/var to
get Σ (x-mu)²/var, which may be many orders of magnitude smaller; its rounding error stays
below 6·u·(√A + √C)² (u = 2⁻²⁴; measured over the test grid). Two measures keep every output
within max(0.01 nats, 1e-6·|log p|) of the float64 value (tests/test_gmm_layer.py):

1. Correction (this is what guarantees the accuracy): a cheap bound tells whether any element
   can exceed the tolerance; only then is the per-element bound evaluated, and the (frame,
   component) pairs that both matter for the logsumexp (within 30 nats of their state's best
   component) and may be too inaccurate are recomputed in the direct form in float64 (gathered
   rows). Gradients are analytic, so they need no special path: only the values, hence the
   responsibilities, change.
2. Centring (this keeps the correction rare): x and the means are shifted by the batch mean of x
   before the products. The result is mathematically independent of the shift, so values and
   gradients are unchanged, but a common offset (bottleneck outputs far from 0) no longer
   inflates A and C. For a trained model the fast path is the rule.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
import torch.nn.functional as F

from dgmm.models import gmm_kernels

LOG_2PI = math.log(2.0 * math.pi)
# Bound on the rounding error of the expanded form, in units of u·(√A + √C)² (u = 2⁻²⁴).
# The largest error measured over three seeds of the test grid was 5.7 units; 16 leaves a 2.8x margin.
ERR_FACTOR = 16.0 * 2.0 ** -24
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


def gmm_log_likelihoods(x: Tensor, means: Tensor, log_vars: Tensor, weight_logits: Tensor,
                        var_floor: float = 0.0, exact: bool = True) -> Tensor:
    """log p(x_b|s) = logsumexp_i log(w_si N(x_b; mu_si, Sigma_si)) for all frames and states.

    Args:
        x: [B, d] inputs (bottleneck outputs).
        means: [S, g, d] means mu'.
        log_vars: [S, g, d] log-variances Sigma'; variances are exp(Sigma') floored at ``var_floor``
            (the floor is a clamp: no gradient reaches Sigma' below it).
        weight_logits: [S, g] omega'; weights are softmax over the g components.
        exact: guarantee max(0.01 nats, 1e-6 |log p|) accuracy by correcting float32 where needed
            (module notes). False skips the check and correction: always the fast path; errors of
            up to ~0.2 nats were measured for inputs ~30 sigmas from the batch centre (harmless
            for training, and tiny against the log-likelihoods' spread).
    Returns:
        [B, S] log-likelihoods. Differentiable in all four inputs, with the analytic gradients of
        the paper's Eq. (2)-(3) (see _GMMLogLikelihood).
    """
    if x.ndim != 2 or means.ndim != 3 or x.shape[1] != means.shape[2]:
        raise ValueError(f"gmm_log_likelihoods: x {tuple(x.shape)} does not match means {tuple(means.shape)}")
    if log_vars.shape != means.shape or weight_logits.shape != means.shape[:2]:
        raise ValueError(f"gmm_log_likelihoods: shapes means {tuple(means.shape)}, log_vars "
                         f"{tuple(log_vars.shape)}, weight_logits {tuple(weight_logits.shape)} disagree")
    # The layer keeps its own precision under autocast (bf16 training): its float32 cancellation
    # control needs float32 inputs; the gradient reaching x is cast back to x's dtype by autograd.
    with torch.autocast(device_type=x.device.type, enabled=False):
        return _GMMLogLikelihood.apply(x.to(means.dtype), means, log_vars, weight_logits,
                                       float(var_floor), bool(exact))


# Float32 denormals make CPU GEMMs dozens of times slower. Log-likelihoods more than RELEVANT_NATS
# below their state's best component are raised to that level before exp (unnormalised
# responsibilities >= e^-30; a change of the output < g e^-30 nats), and the incoming gradient
# divided by the mixture sum is flushed to 0 below 1e-16 (float32), so that R = gradient x
# responsibility is 0 or >= 1e-30 (the old per-element flush of R, now on the g times smaller
# [B, S] tensor; an error < 1e-16 in any gradient term).
_TINY_GRAD = {torch.float32: 1e-16}
# States are processed in blocks whose temporaries (about this many floats each) stay in cache.
_BLOCK_FLOATS = 1 << 19


def _fused_kernels(*tensors: Tensor):
    """The compiled elementwise kernels (gmm_kernels.py) where they apply (all inputs float32 on the
    CPU), else None."""
    if all(t.device.type == "cpu" and t.dtype == torch.float32 for t in tensors):
        return gmm_kernels.load()
    return None


class _Workspace:
    """Parameter transforms of one block of nb states (K = nb*g rows), in buffers reused block after
    block (fresh large allocations cost as much as the arithmetic).

    Rows are component-major: row i*nb + s holds component i of state s0 + s, so that reductions
    over the g components of a state run across contiguous rows of [B, g, nb] tensors (reductions
    over a short innermost dimension are several times slower). ``fill`` sets, for states s0:s1,
    iv = 1/Sigma and m_iv = mu/Sigma ([K, d] each, contiguous: elementwise passes over strided
    slices of one [K, 2d] matrix cost ~1.5x) and mu - centre (q); in the forward also C = sum
    mu^2/Sigma and const = log w - ½(d log 2π + log|Sigma| + C) ([K]), q being scratch afterwards.
    With the fused kernels (``lib``) one pass computes all of them and q is not stored (the
    backward's gradient kernel recomputes it from the means).
    """

    def __init__(self, nb: int, g: int, d: int, like: Tensor, lib=None):
        self.lib = lib
        self.iv_buf, self.m_iv_buf = like.new_empty(nb * g, d), like.new_empty(nb * g, d)
        if lib is None:
            self.q_buf = like.new_empty(nb * g, d)
        else:
            self.const_buf, self.c_sq_buf = like.new_empty(nb * g), like.new_empty(nb * g)

    def fill(self, means: Tensor, log_vars: Tensor, log_w: Tensor | None, centre: Tensor, log_floor: float | None,
             forward: bool = True):
        """means, log_vars: [nb, g, d] blocks; log_w: [g, nb] log weights (a view of the transposed
        [S, g] tensor), None in the backward."""
        nb, g, d = means.shape
        K = nb * g
        self.iv, self.m_iv = self.iv_buf[:K], self.m_iv_buf[:K]
        self.means, self.log_vars, self.log_floor = means.transpose(0, 1), log_vars.transpose(0, 1), log_floor
        if self.lib is not None:
            self.log_w = log_w
            self.const, self.c_sq = (self.const_buf[:K], self.c_sq_buf[:K]) if forward else (None, None)
            gmm_kernels.fill(self.lib, means, log_vars, None if log_w is None else log_w.t(), centre, log_floor,
                             self.iv, self.m_iv, self.const, self.c_sq)
            return self
        self.q = self.q_buf[:K]
        iv = torch.neg(self.log_vars, out=self.iv.view(g, nb, d))  # -Sigma' (floored)
        if log_floor is not None:
            iv.clamp_max_(-log_floor)
        if forward:
            neg_logdet = self.iv.sum(-1)  # summed here, in cache, rather than re-reading Sigma'
        iv.exp_()  # 1 / Sigma
        torch.sub(self.means, centre, out=self.q.view(g, nb, d))  # centred mu
        torch.mul(self.q, self.iv, out=self.m_iv)  # mu / Sigma
        if forward:
            self.log_w = log_w
            self.c_sq = self.q.mul_(self.m_iv).sum(-1)  # C = sum mu^2 / Sigma (q is scratch from here on)
            # const = log w - ½(d log 2π + log|Sigma| + C)
            self.const = neg_logdet.sub_(self.c_sq).sub_(d * LOG_2PI).mul_(0.5).view(g, nb).add_(log_w).view(K)
        return self

    def rows(self) -> tuple[Tensor, Tensor, Tensor]:
        """The block's means and floored log-variances [K, d] and log weights [K] in its row order (copies)."""
        lv = self.log_vars if self.log_floor is None else self.log_vars.clamp(min=self.log_floor)
        d = lv.shape[-1]
        return self.means.reshape(-1, d), lv.reshape(-1, d), self.log_w.reshape(-1)


class _Blocks:
    """[B, K] matrices of the blocks in one allocation, each contiguous. With a single slot (no
    gradients needed), every block reuses it."""

    def __init__(self, like: Tensor, slots: int, B: int, K0: int):
        self.buf, self.slots, self.size, self.B, self.K0 = like.new_empty(slots * B * K0), slots, B * K0, B, K0

    def get(self, j: int, K: int) -> Tensor:
        off = (j % self.slots) * self.size
        return self.buf[off:off + self.B * K].view(self.B, K)

    def assemble(self, total: int) -> Tensor:
        """[B, total]: the blocks' columns side by side (all slots used, blocks of K0 columns, the last one shorter)."""
        K0 = self.K0
        full = total // K0
        out = self.buf.new_empty(self.B, total)
        out[:, :full * K0].view(self.B, full, K0).copy_(self.buf[:full * self.size].view(full, self.B, K0).transpose(0, 1))
        if total > full * K0:
            out[:, full * K0:] = self.get(full, total - full * K0)
        return out


class _GMMLogLikelihood(torch.autograd.Function):
    """Forward: centred expanded form (GEMMs) + exact correction; backward: Eq. (2)-(3).

    With responsibilities pi_bsi, G_bs the incoming gradient and R_bsi = G_bs pi_bsi:
        d/d mu_si      = sum_b R_bsi (x_b - mu_si) / Sigma_si
        d/d Sigma'_si  = sum_b R_bsi ((x_b - mu_si)^2 / Sigma_si - 1) / 2   (0 below the floor)
        d/d omega'_si  = sum_b (R_bsi - G_bs w_si)
        d/d x_b        = sum_si R_bsi (mu_si - x_b) / Sigma_si
    each evaluated with GEMMs in the centred coordinates: with P1 = R^T x, P2 = R^T x^2/2 and
    n_si = sum_b R_bsi, d/d mu = (P1 - n mu)/Sigma and d/d Sigma' = (P2 - mu (P1 - n mu/2))/Sigma
    - n/2; d/d x accumulates R mu/Sigma - x R 1/Sigma over the blocks. States are processed in
    blocks so that the [B, block] intermediates stay in cache. The forward keeps only the
    unnormalised responsibilities exp(ll - max) and their sums per state (the normalisation is
    folded into G, [B, S]); the per-block parameter transforms are recomputed in the backward,
    which is cheaper than storing them.
    """

    @staticmethod
    def forward(ctx, x, means, log_vars, weight_logits, var_floor, exact):
        S, g, d = means.shape
        B = x.shape[0]
        lib = _fused_kernels(x, means, log_vars, weight_logits)
        if lib is not None:  # the kernels read raw rows
            means, log_vars = means.contiguous(), log_vars.contiguous()
        lv_min = float(log_vars.amin()) if log_vars.numel() else 0.0
        log_floor = math.log(var_floor) if var_floor > 0 else None
        if log_floor is not None and not lv_min < log_floor:
            log_floor = None  # no variance below the floor: skip clamping and masking
        iv_max = math.exp(-max(lv_min, log_floor or -math.inf))  # largest 1/Sigma
        log_w = torch.log_softmax(weight_logits, dim=-1).contiguous()
        log_w_t = log_w.t()  # [g, S]: per block a [g, nb] view in the blocks' row order
        centre = x.mean(0) if B else x.new_zeros(d)
        xc = x - centre
        xh = 0.5 * xc * xc  # ll = const + xc @ (mu/Sigma)^T - xh @ (1/Sigma)^T
        x_sq_max = 2.0 * float(xh.sum(-1).max()) if B else 0.0
        keep = any(ctx.needs_input_grad[:4])
        nb = _block_states(B, S, g, d, x.device)
        nblocks, K0 = -(-S // nb), min(nb, S) * g
        ws = _Workspace(min(nb, S), g, d, x, lib)
        # One allocation for all blocks' [B, K] log-likelihoods, turned into responsibilities in
        # place and kept for the backward; without gradients, one block's worth reused.
        resp_all = _Blocks(x, nblocks if keep else 1, B, K0)
        # per state: max over components and sum of exp(ll - max), [B, nb] per block
        top_all, tot_all = _Blocks(x, nblocks, B, min(nb, S)), _Blocks(x, nblocks, B, min(nb, S))
        route64 = False  # once a block needed float64, the next ones that fail the bound go there directly
        for j, s0 in enumerate(range(0, S, nb)):
            s1 = min(S, s0 + nb)
            K = (s1 - s0) * g
            ws.fill(means[s0:s1], log_vars[s0:s1], log_w_t[:, s0:s1], centre, log_floor)
            ll, route64 = _block_log_likelihoods(ws, x, xc, xh, x_sq_max * iv_max if exact else None, centre,
                                                 resp_all.get(j, K), route64)
            top, tot = top_all.get(j, s1 - s0), tot_all.get(j, s1 - s0)
            if lib is not None:
                gmm_kernels.resp(lib, ll, g, RELEVANT_NATS, top, tot)
                continue
            ll = ll.view(B, g, s1 - s0)
            torch.amax(ll, 1, keepdim=True, out=top.view(B, 1, s1 - s0))
            resp = ll.sub_(top.view(B, 1, s1 - s0)).clamp_min_(-RELEVANT_NATS).exp_()
            torch.sum(resp, 1, keepdim=True, out=tot.view(B, 1, s1 - s0))
        tot_all = tot_all.assemble(S)
        out = top_all.assemble(S).add_(tot_all.log())
        ctx.save_for_backward(xc, xh, centre, means, log_vars, log_w)
        ctx.resp_all, ctx.tot_all, ctx.log_floor, ctx.nb, ctx.lib = resp_all, tot_all, log_floor, nb, lib
        return out

    @staticmethod
    def backward(ctx, grad):
        xc, xh, centre, means, log_vars, log_w = ctx.saved_tensors
        resp_all, tot_all = ctx.resp_all, ctx.tot_all
        S, g, d = means.shape
        B = xc.shape[0]
        need_x, need_m, need_v, need_w = ctx.needs_input_grad[:4]
        # sums over blocks of R mu/Sigma and R 1/Sigma, [B, d] each
        acc_m, acc_v = (xc.new_zeros(B, d), xc.new_zeros(B, d)) if need_x else (None, None)
        gm = means.new_empty(S, g, d) if need_m else None
        glv = log_vars.new_empty(S, g, d) if need_v else None
        n_all = log_w.new_empty(g, S) if need_w else None  # n of all components, [g, S]
        nb, lib = ctx.nb, ctx.lib
        g_tot = torch.div(grad, tot_all).contiguous()  # R = G pi = (G / sum) exp(ll - max)
        tiny = _TINY_GRAD.get(xc.dtype, 0.0)
        if tiny:
            g_tot.masked_fill_(g_tot.abs() < tiny, 0.0)  # no denormals into the GEMMs
        K0 = min(nb, S) * g
        r_buf, p1_buf, p2_buf = xc.new_empty(B * K0), xc.new_empty(K0, d), xc.new_empty(K0, d)
        n_buf = xc.new_empty(K0) if lib is not None else None
        ws = _Workspace(min(nb, S), g, d, xc, lib)
        for j, s0 in enumerate(range(0, S, nb)):
            s1 = min(S, s0 + nb)
            K = (s1 - s0) * g
            shape = (g, s1 - s0, d)  # views in the block's row order; gradients go to [S, g, d]
            ws.fill(means[s0:s1], log_vars[s0:s1], None, centre, ctx.log_floor, forward=False)
            r = r_buf[:B * K].view(B, K)
            if lib is not None:  # R_bsi and n in one pass
                n = n_buf[:K]
                gmm_kernels.weight_resp(lib, resp_all.get(j, K), g, g_tot[:, s0:s1], r, n)
            else:
                torch.mul(resp_all.get(j, K).view(B, g, s1 - s0), g_tot[:, None, s0:s1], out=r.view(B, g, s1 - s0))
            if need_x:
                acc_m.addmm_(r, ws.m_iv)
                acc_v.addmm_(r, ws.iv)
            if not (need_m or need_v or need_w):
                continue
            if lib is None:
                n = r.sum(0)
            if need_w:
                n_all[:, s0:s1] = n.view(g, s1 - s0)
            if not (need_m or need_v):
                continue
            if lib is not None:
                gmm_kernels.param_grads(lib, torch.mm(r.t(), xc, out=p1_buf[:K]),
                                        torch.mm(r.t(), xh, out=p2_buf[:K]) if need_v else None, n, ws.iv,
                                        means[s0:s1], log_vars[s0:s1], centre, ctx.log_floor,
                                        gm[s0:s1] if need_m else None, glv[s0:s1] if need_v else None)
                continue
            n = n.view(g, s1 - s0, 1)
            mc, iv = ws.q.view(shape), ws.iv.view(shape)  # centred mu, 1/Sigma
            t = torch.mm(r.t(), xc, out=p1_buf[:K]).view(shape).addcmul_(mc, n, value=-1.0)  # sum_b R (x_b - mu)
            if need_m:
                torch.mul(t, iv, out=gm[s0:s1].transpose(0, 1))
            if need_v:
                u = t.addcmul_(mc, n, value=0.5)  # P1 - n mu / 2
                v = torch.mm(r.t(), xh, out=p2_buf[:K]).view(shape).addcmul_(mc, u, value=-1.0)  # sum_b R (x_b - mu)^2 / 2
                gv = torch.addcmul(n * -0.5, v, iv, out=glv[s0:s1].transpose(0, 1))
                if ctx.log_floor is not None:
                    gv.masked_fill_(log_vars[s0:s1].transpose(0, 1) < ctx.log_floor, 0.0)
        gx = torch.addcmul(acc_m, xc, acc_v, value=-1.0) if need_x else None
        gw = torch.addcmul(n_all.t(), log_w.exp(), grad.sum(0)[:, None], value=-1.0) if need_w else None
        return gx, gm, glv, gw, None, None


def _block_states(B: int, S: int, g: int, d: int, device: torch.device) -> int:
    """States per block: on CPUs, temporaries [nb*g, 2d] and [B, nb*g] of about _BLOCK_FLOATS
    floats (cache-sized); elsewhere all states at once."""
    if device.type != "cpu":
        return max(S, 1)
    return max(1, _BLOCK_FLOATS // (g * max(2 * d, B, 1)))


def _block_log_likelihoods(ws: _Workspace, x: Tensor, xc: Tensor, xh: Tensor, a_max: float | None, centre: Tensor,
                           out: Tensor, route64: bool) -> tuple[Tensor, bool]:
    """[B, K] log(w N(x; mu, Sigma)) of one block (written to ``out``), corrected where float32 may
    be too inaccurate, and whether the block was computed in float64. xc: centred x, xh = xc^2/2;
    a_max bounds A = sum xc^2/Sigma for all elements (None: no check, the fast path); route64: go to
    float64 directly if the cheap bound fails (a previous block of this call needed it)."""
    c_sq = ws.c_sq  # C = sum mu^2/Sigma (centred), [K]
    ll = torch.addmm(ws.const, xc, ws.m_iv.t(), out=out)
    # Cheap bound first (A <= max |xc|^2 max 1/Sigma); the per-element check only if it fails.
    if x.dtype == torch.float64 or a_max is None or ERR_FACTOR * (math.sqrt(a_max) + math.sqrt(max(float(c_sq.max()), 0.0))) ** 2 <= ABS_TOL:
        return ll.addmm_(xh, ws.iv.t(), alpha=-1.0), False
    means_rows, lv_rows, log_w = ws.rows()
    if route64:
        return out.copy_(_block_float64(x, means_rows, lv_rows, log_w, centre)), True
    a_sq = torch.mm(xh, ws.iv.t()).mul_(2.0)  # A = sum x^2/Sigma, [B, K]
    ll.sub_(a_sq, alpha=0.5)
    idx = _inaccurate_elements(ll.view(x.shape[0], *ws.log_w.shape), a_sq, c_sq)
    if idx is None:
        return ll, False
    b, k = idx
    if len(b) <= _MAX_GATHERED * x.shape[0] * ws.log_w.shape[1]:
        # few elements: recompute them one by one in the direct form
        ll[b, k] = _direct_loglik(x[b], means_rows[k], lv_rows[k], log_w[k]).to(ll.dtype)
        return ll, False
    # many: the whole block's expanded form in float64 (GEMM), cheaper than gathering
    return ll.copy_(_block_float64(x, means_rows, lv_rows, log_w, centre)), True


# Above this fraction of (frame, state) pairs needing a correction, a block is recomputed in float64.
_MAX_GATHERED = 0.05


def _block_float64(x: Tensor, means: Tensor, lv: Tensor, log_w: Tensor, centre: Tensor) -> Tensor:
    """[B, K] expanded form of K components in float64 (parameters and GEMM): x [B, d], means [K, d],
    lv [K, d] (floored), log_w [K], centre [d]."""
    d = x.shape[1]
    c = centre.double()
    xc = x.double() - c
    mc = means.double() - c
    iv = torch.exp(-lv.double())
    m_iv = mc * iv
    const = log_w.double() - 0.5 * (d * LOG_2PI + lv.double().sum(-1) + (mc * m_iv).sum(-1))
    return torch.addmm(const, xc, m_iv.t()).addmm_(xc * xc, iv.t(), alpha=-0.5)


def _inaccurate_elements(ll: Tensor, a_sq: Tensor, c_sq: Tensor):
    """(frame, column) indices whose expanded-form value may miss the tolerance and that matter.

    ll: [B, g, nb] expanded-form values (component-major columns); a_sq: [B, g*nb] A = sum
    x^2/Sigma; c_sq: [g*nb] C = sum mu^2/Sigma (both centred). Returns None when no element needs
    a correction.
    """
    B, g, nb = ll.shape
    err = (a_sq.clamp_min(0).sqrt_().add_(c_sq.clamp_min(0).sqrt())).square_().mul_(ERR_FACTOR).view(B, g, nb)
    tol = torch.clamp(REL_TOL * ll.abs(), min=ABS_TOL)
    need = err > tol
    if not bool(need.any()):
        return None
    floor = (ll - err).amax(1, keepdim=True) - RELEVANT_NATS
    need &= (ll + err) >= floor
    b, k = need.view(B, g * nb).nonzero(as_tuple=True)
    return (b, k) if b.numel() else None


class GMMLayer(nn.Module):
    """log p(x|s) for S states, each a mixture of g diagonal Gaussians in d dimensions.

    Parameters (the paper's): ``means`` [S, g, d] (mu'), ``log_vars`` [S, g, d] (Sigma'),
    ``weight_logits`` [S, g] (omega'). Init: mu' ~ N(0, 1), Sigma' = 0, uniform weights.
    """

    def __init__(self, in_dim: int, num_states: int, num_components: int, var_floor: float = 1e-2,
                 exact: bool = True):
        super().__init__()
        self.in_dim, self.num_states, self.num_components = in_dim, num_states, num_components
        self.var_floor, self.exact = float(var_floor), bool(exact)
        self.means = nn.Parameter(torch.randn(num_states, num_components, in_dim))
        self.log_vars = nn.Parameter(torch.zeros(num_states, num_components, in_dim))
        self.weight_logits = nn.Parameter(torch.zeros(num_states, num_components))

    def extra_repr(self) -> str:
        return (f"in_dim={self.in_dim}, num_states={self.num_states}, "
                f"num_components={self.num_components}, var_floor={self.var_floor:g}, exact={self.exact}")

    def set_variances_trainable(self, flag: bool) -> None:
        """The paper's schedule: train means and weights first (variances fixed), then everything."""
        self.log_vars.requires_grad_(flag)

    def forward(self, x: Tensor) -> Tensor:
        """[B, d] -> [B, S]: log p(x|s)."""
        return gmm_log_likelihoods(x, self.means, self.log_vars, self.weight_logits, self.var_floor, self.exact)

    @torch.no_grad()
    def init_from_data(self, x: Tensor, y: Tensor, iters: int = 5, chunk: int = 8192) -> None:
        """Data-driven initialisation: per-state diagonal EM on bottleneck outputs.

        Each state's means start at g of its own frames (drawn at random), then ``iters`` EM
        iterations run for all states at once. States without frames keep their current (random)
        parameters; components that lose all their frames keep theirs. For a DeepGMM:
        ``model.gmm.init_from_data(model.features(x), y)``.

        Args:
            x: [N, d] bottleneck outputs; y: [N] state labels (long, in [0, S)).
        """
        S, g, d = self.means.shape
        x = x.detach().to(device=self.means.device, dtype=torch.float64)  # statistics in float64
        y = y.detach().to(self.means.device).long()
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
        pick = start[:, None] + (torch.rand(S, g, device=x.device) * counts[:, None]).long().clamp_max((counts - 1).clamp_min(0)[:, None])
        means = torch.where(seen[:, None, None], x[order[pick.clamp_max(len(y) - 1)]], self.means.double())
        # Initial variances: the state's global variance (floored).
        sx = x.new_zeros(S, d).index_add_(0, y, x)
        sxx = x.new_zeros(S, d).index_add_(0, y, x * x)
        n = counts.clamp_min(1).to(x.dtype)[:, None]
        var = (sxx / n - (sx / n) ** 2).clamp_min(self.var_floor or 1e-6)
        log_vars = torch.where(seen[:, None, None], var.log()[:, None, :].expand(S, g, d), self.log_vars.double())
        logits = torch.where(seen[:, None], x.new_zeros(S, g), self.weight_logits.double())
        for _ in range(iters):
            occ = x.new_zeros(S, g)
            acc_x = x.new_zeros(S, g, d)
            acc_xx = x.new_zeros(S, g, d)
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
