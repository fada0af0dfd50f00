"""Kaldi's ``fstrmepslocal`` (fstext/remove-eps-local): merge arcs locally without growing the FST.

Unlike OpenFst's full epsilon removal this only combines an arc s -> n with what follows n, and only
where that cannot add arcs overall, keeping weights where Kaldi keeps them (tropical semiring):

* pattern 1 -- n has one arc in (this one, n is not the start) and several out (a final weight counts
  as an arc out): every out-arc of n that can be merged with this one (not both with an input label, not
  both with an output label; a final weight only after an epsilon:epsilon arc) is moved to s as the
  merged arc. If some of n's out-arcs stay, this arc is re-weighted by kept / (kept + removed) and
  n's remaining arcs divided by the same, so both states stay stochastic;
* pattern 2 -- n has exactly one arc out (or only a final weight): that arc is merged into a new arc
  from s (or the final weight into s's); n's copy is deleted when this arc was n's only way in.

Arcs are visited state by state in order, including arcs added on the way, as Kaldi does.
"""

from __future__ import annotations

import math

import numpy as np

_DEL = -1  # next state of a deleted arc (Kaldi's non_coacc_state_)


def remove_eps_local(start: int, finals: np.ndarray, src: np.ndarray, dst: np.ndarray, ilabel: np.ndarray,
                     olabel: np.ndarray, cost: np.ndarray):
    """Returns (finals, src, dst, ilabel, olabel, cost) after local epsilon removal; unreachable states are
    kept (without arcs), so a following connect/minimize cleans up."""
    n = len(finals)
    fin = [float(f) for f in finals]
    arcs: list[list[list]] = [[] for _ in range(n)]       # per state: [ilabel, olabel, cost, next]
    for s, d, i, o, c in zip(src.tolist(), dst.tolist(), ilabel.tolist(), olabel.tolist(), cost.tolist()):
        arcs[s].append([i, o, c, d])
    n_in = np.bincount(dst, minlength=n).tolist()
    n_in[start] += 1
    n_out = [len(a) + (f != math.inf) for a, f in zip(arcs, fin)]

    def combine(a, b):
        if (a[0] and b[0]) or (a[1] and b[1]):
            return None
        return [a[0] or b[0], a[1] or b[1], a[2] + b[2], b[3]]

    def pattern1(s, arc):
        nxt = arc[3]
        removed = kept = math.inf
        to_add = []
        for na in arcs[nxt]:
            if na[3] == _DEL:
                continue
            c = combine(arc, na)
            if c is not None:
                removed = min(removed, na[2])
                n_out[nxt] -= 1
                n_in[na[3]] -= 1
                na[3] = _DEL
                to_add.append(c)
            else:
                kept = min(kept, na[2])
        if fin[nxt] != math.inf:
            if arc[0] == 0 and arc[1] == 0:
                removed = min(removed, fin[nxt])
                if fin[s] == math.inf:
                    n_out[s] += 1
                fin[s] = min(fin[s], arc[2] + fin[nxt])
                n_out[nxt] -= 1
                fin[nxt] = math.inf
            else:
                kept = min(kept, fin[nxt])
        if removed != math.inf:
            if kept == math.inf:
                n_out[s] -= 1
                n_in[nxt] -= 1
                arc[3] = _DEL
            else:
                reweight = kept - min(removed, kept)
                arc[2] += reweight
                for na in arcs[nxt]:
                    if na[3] != _DEL:
                        na[2] -= reweight
                if fin[nxt] != math.inf:
                    fin[nxt] -= reweight
        for c in to_add:
            n_out[s] += 1
            n_in[c[3]] += 1
            arcs[s].append(c)

    def pattern2(s, arc):
        nxt = arc[3]
        can_delete_next = n_in[nxt] == 1
        delete_arc = False
        if fin[nxt] != math.inf:
            if arc[0] == 0 and arc[1] == 0:
                if fin[s] == math.inf:
                    n_out[s] += 1
                fin[s] = min(fin[s], arc[2] + fin[nxt])
                delete_arc = True
                if can_delete_next:
                    n_out[nxt] -= 1
                    fin[nxt] = math.inf
        else:
            na = next(a for a in arcs[nxt] if a[3] != _DEL)
            c = combine(arc, na)
            if c is not None:
                delete_arc = True
                if can_delete_next:
                    n_out[nxt] -= 1
                    n_in[na[3]] -= 1
                    na[3] = _DEL
                n_out[s] += 1
                n_in[c[3]] += 1
                arcs[s].append(c)
        if delete_arc:
            n_out[s] -= 1
            n_in[nxt] -= 1
            arc[3] = _DEL

    for s in range(n):
        pos = 0
        while pos < len(arcs[s]):
            arc = arcs[s][pos]
            nxt = arc[3]
            if nxt != _DEL and nxt != s:
                if n_in[nxt] == 1 and n_out[nxt] > 1:
                    pattern1(s, arc)
                elif n_out[nxt] == 1:
                    pattern2(s, arc)
            pos += 1

    kept_arcs = [(s, a) for s in range(n) for a in arcs[s] if a[3] != _DEL]
    src2 = np.array([s for s, _ in kept_arcs], np.int64)
    il2, ol2, c2, d2 = (np.array([a[k] for _, a in kept_arcs], t)
                        for k, t in ((0, np.int64), (1, np.int64), (2, np.float64), (3, np.int64)))
    return np.array(fin, np.float64), src2, d2, il2, ol2, c2
