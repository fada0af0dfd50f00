"""Maximum-likelihood estimation of diagonal-GMM HMMs from Viterbi alignments (numpy, float64 stats).

Our own implementation of what Kaldi's ``gmm-acc-stats-ali`` + ``gmm-est`` do:
* ``accumulate``: per-pdf, per-component zeroth/first/second-order statistics of the frames aligned to
  each pdf (component posteriors under the current model), plus per-transition-id counts;
* ``update_gmms``: MLE update with Kaldi's defaults (min-gaussian-occupancy 10, min-variance 0.001,
  min-gaussian-weight 1e-5, low-count Gaussians removed);
* ``update_transitions``: Kaldi's ``TransitionModel::MleUpdate`` (mincount 5, floor 0.01);
* ``mix_up``: ``AmDiagGmm::SplitByCount`` (targets by occupancy^power, min-count 20, split the heaviest
  component with means perturbed by 0.01 standard deviations).

Shapes: feats [N, D] float32 (all frames of a job concatenated), pdf ids [N] int.
"""

from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass

import numpy as np

from dgmm.kaldi.gmm_model import AmDiagGmm, DiagGmm, TransitionModel

log = logging.getLogger(__name__)

_CHUNK = 8192  # frames per block when evaluating all Gaussians at once (bounds memory)


class StackedGmms:
    """All Gaussians of a model stacked (float32) for fast evaluation: gconsts [G], means_invvars
    [G, D], inv_vars [G, D], and the first Gaussian of each pdf ``offs`` [P+1]."""

    def __init__(self, am: AmDiagGmm):
        self.num_pdfs = len(am.pdfs)
        self.g = np.concatenate([p.gconsts for p in am.pdfs]).astype(np.float32)
        self.mi = np.concatenate([p.means_invvars for p in am.pdfs]).astype(np.float32)
        self.iv = np.concatenate([p.inv_vars for p in am.pdfs]).astype(np.float32)
        self.offs = np.concatenate([[0], np.cumsum([len(p.weights) for p in am.pdfs])])

    def log_likelihoods(self, feats: np.ndarray, pdfs: np.ndarray | None = None) -> np.ndarray:
        """[N, P] float32 log-likelihoods; with ``pdfs`` only those columns are computed (the others
        are -1e10, for callers that never read them, e.g. alignment against one utterance's graph)."""
        if pdfs is None:
            g, mi, iv, offs = self.g, self.mi, self.iv, self.offs
        else:
            pdfs = np.asarray(pdfs)
            sizes = self.offs[pdfs + 1] - self.offs[pdfs]
            gauss = np.repeat(self.offs[pdfs] - np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes) \
                + np.arange(sizes.sum())
            g, mi, iv = self.g[gauss], self.mi[gauss], self.iv[gauss]
            offs = np.concatenate([[0], np.cumsum(sizes)])
        sizes = np.diff(offs)
        sub = np.empty((len(feats), len(sizes)), np.float32)
        for s in range(0, len(feats), _CHUNK):
            x = np.asarray(feats[s:s + _CHUNK], np.float32)
            ll = x @ mi.T
            ll -= 0.5 * ((x * x) @ iv.T)
            ll += g  # [n, G]
            # log-sum-exp within each pdf's block of components, best component first
            mx = np.maximum.reduceat(ll, offs[:-1], axis=1)
            ll -= np.repeat(mx, sizes, axis=1)
            np.exp(ll, out=ll)
            sub[s:s + _CHUNK] = mx + np.log(np.add.reduceat(ll, offs[:-1], axis=1))
        if pdfs is None:
            return sub
        out = np.full((len(feats), self.num_pdfs), -1e10, np.float32)
        out[:, pdfs] = sub
        return out


def pdf_log_likelihoods(am: AmDiagGmm, feats: np.ndarray) -> np.ndarray:
    """Log-likelihood of every frame under every pdf [N, P] (float32), as ``gmm-compute-likes``
    (float32 arithmetic like Kaldi's BaseFloat evaluation)."""
    return StackedGmms(am).log_likelihoods(feats)


@dataclass
class GmmStats:
    """Accumulated statistics: per pdf, occupancies [C], first order [C, D], second order [C, D]."""

    occ: list[np.ndarray]
    m1: list[np.ndarray]
    m2: list[np.ndarray]
    tot_like: float = 0.0
    num_frames: int = 0

    @property
    def pdf_occs(self) -> np.ndarray:
        return np.array([o.sum() for o in self.occ])

    def add(self, other: "GmmStats") -> None:
        for j in range(len(self.occ)):
            self.occ[j] += other.occ[j]
            self.m1[j] += other.m1[j]
            self.m2[j] += other.m2[j]
        self.tot_like += other.tot_like
        self.num_frames += other.num_frames


def accumulate(am: AmDiagGmm, feats: np.ndarray, pdfs: np.ndarray) -> GmmStats:
    """GMM statistics of frames ``feats`` [N, D] aligned to ``pdfs`` [N] under model ``am``."""
    d = am.dim
    stats = GmmStats([np.zeros(len(p.weights)) for p in am.pdfs],
                     [np.zeros((len(p.weights), d)) for p in am.pdfs],
                     [np.zeros((len(p.weights), d)) for p in am.pdfs], 0.0, len(pdfs))
    order = np.argsort(pdfs, kind="stable")
    bounds = np.searchsorted(pdfs[order], np.arange(len(am.pdfs) + 1))
    for j, gmm in enumerate(am.pdfs):
        idx = order[bounds[j]:bounds[j + 1]]
        if len(idx) == 0:
            continue
        x = feats[idx].astype(np.float64)
        ll = gmm.log_likelihoods(x)  # [n, C]
        mx = ll.max(1, keepdims=True)
        post = np.exp(ll - mx)
        tot = post.sum(1, keepdims=True)
        post /= tot
        stats.tot_like += float((mx + np.log(tot)).sum())
        stats.occ[j] += post.sum(0)
        stats.m1[j] += post.T @ x
        stats.m2[j] += post.T @ (x * x)
    return stats


def update_gmms(am: AmDiagGmm, stats: GmmStats, min_gaussian_occupancy: float = 10.0,
                min_variance: float = 0.001, min_gaussian_weight: float = 1e-5,
                remove_low_count_gaussians: bool = True) -> AmDiagGmm:
    """MLE re-estimation of every pdf (Kaldi's ``MleDiagGmmUpdate``, flags ``mvw``)."""
    new = []
    for j, gmm in enumerate(am.pdfs):
        occ, m1, m2 = stats.occ[j], stats.m1[j], stats.m2[j]
        tot = occ.sum()
        means, variances = gmm.means.astype(np.float64), gmm.vars.astype(np.float64)
        weights = gmm.weights.astype(np.float64)
        if tot > 0:
            weights = occ / tot
        keep = np.ones(len(occ), bool)
        for c in range(len(occ)):
            if occ[c] > min_gaussian_occupancy:
                mu = m1[c] / occ[c]
                means[c] = mu
                variances[c] = np.maximum(m2[c] / occ[c] - mu * mu, min_variance)
            elif remove_low_count_gaussians and keep.sum() > 1:
                keep[c] = False
        if tot > 0:
            keep &= (weights >= min_gaussian_weight) | (keep.sum() == 1)
        if not keep.all():
            log.debug("pdf %d: removing %d low-count Gaussians", j, (~keep).sum())
        w = weights[keep]
        new.append(DiagGmm.from_moments(w / w.sum(), means[keep], variances[keep]))
    return AmDiagGmm(am.dim, new)


def update_transitions(tm: TransitionModel, tid_counts: np.ndarray, mincount: float = 5.0,
                       floor: float = 0.01) -> TransitionModel:
    """Re-estimate transition probabilities from per-transition-id counts [num_tids+1]: per
    transition-state with at least two transitions and ``mincount`` counts, p = counts / total,
    floored at ``floor`` and renormalised three times (Kaldi's ``MleUpdate``)."""
    tstate = tm.tid_info()["transition_state"][1:]  # [T], 1-based transition-state of each tid
    counts = tid_counts[1:].astype(np.float64)
    n_states = len(tm.tuples) + 1
    n_trans = np.bincount(tstate, minlength=n_states)
    tot = np.bincount(tstate, weights=counts, minlength=n_states)
    upd = (n_trans[tstate] >= 2) & (tot[tstate] >= mincount)
    p = np.where(upd, counts / np.where(tot[tstate] > 0, tot[tstate], 1.0), 0.0)
    for _ in range(3):  # floor and renormalise three times, as Kaldi
        p = np.maximum(p / np.bincount(tstate, weights=p, minlength=n_states)[tstate].clip(1e-300), floor)
    log_probs = tm.log_probs.astype(np.float64).copy()
    log_probs[1:][upd] = np.log(p[upd])
    return TransitionModel(tm.topo, tm.tuples, log_probs.astype(np.float32))


def split_targets(occs: np.ndarray, target: int, power: float, min_count: float) -> list[int]:
    """Gaussians per pdf for a total of ``target`` (Kaldi's ``GetSplitTargets``): repeatedly give one
    more to the pdf with the largest occ^power / n, never more than occ / min_count."""
    n = [1] * len(occs)
    heap = [(-(o ** power), j) for j, o in enumerate(occs) if o > 0]
    heapq.heapify(heap)
    total = len(occs)
    while total < target and heap:
        _, j = heapq.heappop(heap)
        if (n[j] + 1) * min_count >= occs[j]:
            continue  # not enough data for another Gaussian: drop it from the queue
        n[j] += 1
        total += 1
        heapq.heappush(heap, (-(occs[j] ** power) / n[j], j))
    return n


def split_gmm(gmm: DiagGmm, target: int, perturb_factor: float, rng: np.random.Generator) -> DiagGmm:
    """``DiagGmm::Split``: split the heaviest component until there are ``target`` components."""
    w = list(gmm.weights.astype(np.float64))
    mi = [r.astype(np.float64) for r in gmm.means_invvars]
    iv = [r.astype(np.float64) for r in gmm.inv_vars]
    while len(w) < target:
        k = int(np.argmax(w))
        w[k] /= 2
        w.append(w[k])
        r = rng.standard_normal(len(mi[k])) * np.sqrt(iv[k]) * perturb_factor
        iv.append(iv[k].copy())
        mi.append(mi[k] + r)
        mi[k] = mi[k] - r
    iv_a = np.array(iv)
    return DiagGmm.from_moments(np.array(w), np.array(mi) / iv_a, 1.0 / iv_a)


def mix_up(am: AmDiagGmm, pdf_occs: np.ndarray, target: int, power: float = 0.25,
           min_count: float = 20.0, perturb_factor: float = 0.01, seed: int = 0) -> AmDiagGmm:
    """``gmm-est --mix-up=target --power=power``: grow the total number of Gaussians towards target."""
    if target <= am.num_gauss:
        return am
    targets = split_targets(pdf_occs, target, power, min_count)
    rng = np.random.default_rng(seed)
    pdfs = [split_gmm(g, t, perturb_factor, rng) if len(g.weights) < t else g
            for g, t in zip(am.pdfs, targets)]
    return AmDiagGmm(am.dim, pdfs)


def global_init(num_pdfs: int, feats: np.ndarray) -> AmDiagGmm:
    """``gmm-init-mono``: every pdf a single Gaussian with the global mean and variance of feats [N, D]."""
    x = feats.astype(np.float64)
    mu = x.mean(0)
    var = np.maximum(x.var(0), 1e-10)
    g = DiagGmm.from_moments(np.ones(1), mu[None], var[None])
    return AmDiagGmm(feats.shape[1], [g for _ in range(num_pdfs)])
