"""push_special (fstpushspecial) and remove_eps_local (fstrmepslocal) on small FSTs.

Both must leave every path's total weight unchanged (checked by enumerating the paths of acyclic FSTs,
float64 reference); push_special must make every state's outgoing probability sum equal.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest

from dgmm.graph.push_special import push_special
from dgmm.graph.rmeps_local import remove_eps_local


def _paths(start, finals, src, dst, il, ol, cost, max_len=8):
    """{(input labels without 0, output labels without 0): min total cost} over the accepting paths with
    at most ``max_len`` labels (the FSTs here have no epsilon cycles, so this is a finite set)."""
    out = defaultdict(lambda: math.inf)
    by_src = defaultdict(list)
    for a in zip(src, dst, il, ol, cost):
        by_src[int(a[0])].append(a)
    stack = [(start, (), (), 0.0, 0)]
    while stack:
        s, i, o, c, n = stack.pop()
        if np.isfinite(finals[s]):
            out[(i, o)] = min(out[(i, o)], c + finals[s])
        for _, d, a, b, w in by_src[s]:
            i2, o2 = i + ((int(a),) if a else ()), o + ((int(b),) if b else ())
            if len(i2) + len(o2) <= max_len:
                stack.append((int(d), i2, o2, c + w, n + 1))
    return dict(out)


def _arrays(arcs, finals):
    a = np.array(arcs, dtype=float)
    return (a[:, 0].astype(int), a[:, 1].astype(int), a[:, 2].astype(int), a[:, 3].astype(int), a[:, 4],
            np.array(finals, float))


def test_push_special_equalises_state_sums_and_keeps_path_weights():
    # an LG-like cyclic FST: backoff structure does not sum to one
    src, dst, il, ol, cost, finals = _arrays(
        [(0, 1, 1, 1, 0.5), (0, 2, 2, 2, 1.5), (1, 0, 0, 0, 0.7), (1, 2, 3, 3, 0.2), (2, 0, 4, 4, 2.0)],
        [math.inf, 1.0, 0.3])
    c2, f2 = push_special(0, finals, src, dst, cost)
    p = np.exp(-c2)
    sums = np.bincount(src, weights=p, minlength=3) + np.exp(-f2)
    assert sums.max() / sums.min() == pytest.approx(1.0, abs=2e-3)
    # path weights: acyclic check on the unrolled paths (bounded length)
    ref = _paths(0, finals, src, dst, il, ol, cost, 6)
    new = _paths(0, f2, src, dst, il, ol, c2, 6)
    assert ref.keys() == new.keys()
    for k in ref:
        assert new[k] == pytest.approx(ref[k], abs=1e-9)


def test_remove_eps_local_patterns_keep_path_weights():
    # 0 -a:x-> 1 -eps-> 2 (2 has several arcs out: pattern 1), 3 -eps-> 4 with one arc out (pattern 2),
    # an epsilon into a final-only state, and a self-loop that must be left alone
    arcs = [(0, 1, 1, 7, 0.1), (1, 2, 0, 0, 0.4), (2, 3, 2, 0, 0.3), (2, 5, 0, 8, 0.9), (3, 4, 0, 0, 0.2),
            (4, 5, 3, 0, 0.6), (5, 6, 0, 0, 0.5), (5, 5, 4, 0, 1.0), (0, 3, 5, 0, 2.0)]
    src, dst, il, ol, cost, finals = _arrays(arcs, [math.inf] * 6 + [0.25])
    ref = _paths(0, finals, src, dst, il, ol, cost)
    f2, s2, d2, i2, o2, c2 = remove_eps_local(0, finals, src, dst, il, ol, cost)
    new = _paths(0, f2, s2, d2, i2, o2, c2)
    assert ref.keys() == new.keys()
    for k in ref:
        assert new[k] == pytest.approx(ref[k], abs=1e-9), k
    assert int(((i2 == 0) & (o2 == 0)).sum()) < int(((il == 0) & (ol == 0)).sum())
