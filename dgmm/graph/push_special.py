"""Kaldi's ``fstpushspecial``: push the weights of a (cyclic, backoff) LG so every state sums to the same.

Backoff LMs as FSTs do not sum to one and cannot be pushed in the usual way. Kaldi (fstext/push-special.cc,
Hannemann & Povey 2013) instead finds the dominant eigenvector v of P + 0.1 I by power iteration, where
P[s, t] = sum of the probabilities exp(-w) of the arcs s -> t and, for t the start state, also the final
probability of s. Reweighting every arc by v[t] / v[s] (and finals by v[start] / v[s]) makes the outgoing
probabilities of each state sum to the eigenvalue; path weights from start to final are unchanged.
Iteration stops when log(max/min) of the per-state sums is <= delta (checked every 5 iterations, at most
200 iterations), as in Kaldi.
"""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)


def push_special(start: int, finals: np.ndarray, src: np.ndarray, dst: np.ndarray, cost: np.ndarray,
                 delta: float = 1.0 / 1024) -> tuple[np.ndarray, np.ndarray]:
    """New (arc costs, final costs) of the pushed FST; ``finals`` holds final costs (inf = not final)."""
    n = len(finals)
    if n == 0:
        return cost, finals
    p_arc = np.exp(-np.asarray(cost, np.float64))
    p_final = np.exp(-np.asarray(finals, np.float64))
    # the final probability acts as an arc s -> start
    s_all = np.concatenate([src, np.flatnonzero(p_final > 0)])
    t_all = np.concatenate([dst, np.full(int((p_final > 0).sum()), start)])
    p_all = np.concatenate([p_arc, p_final[p_final > 0]])

    def row_sums(v):
        return np.bincount(s_all, weights=p_all * v[t_all], minlength=n)

    v = np.full(n, 1.0 / np.sqrt(n))
    for it in range(200):
        new = 0.1 * v + row_sums(v)
        v = new / np.sqrt(np.dot(new, new))
        if it % 5 == 0 and it > 0:
            with np.errstate(divide="ignore", invalid="ignore"):
                sums = row_sums(v) / v
            if np.log(sums.max() / sums.min()) <= delta:
                break
    else:
        log.warning("push-special: finished 200 iterations without converging; output will be inaccurate")
    with np.errstate(divide="ignore"):
        pot = -np.log(v)
    if not np.all(np.isfinite(pot)):
        log.warning("push-special: %d states with zero potential (not coaccessible?)", int((~np.isfinite(pot)).sum()))
    return cost + pot[dst] - pot[src], finals + pot[start] - pot
