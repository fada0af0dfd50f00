"""Phonetic decision trees for context-dependent GMM-HMMs: our implementation of Kaldi's
``acc-tree-stats``, ``cluster-phones``, ``compile-questions`` and ``build-tree`` (src/tree/build-tree.cc,
build-tree-utils.cc, clusterable-classes.cc, src/hmm/tree-accu.cc).

* Tree statistics: for every frame of an alignment, the event {0: left phone, 1: phone, 2: right phone,
  -1: pdf-class} (phone 0 = utterance edge; the context keys are left out for context-independent
  phones) gets Gaussian sufficient statistics (count, sum x, sum x^2) -- ``TreeStats``.
* Objective of a set of frames: the log-likelihood under one diagonal Gaussian with variances floored
  at 0.01, ``count * (-0.5 * (sum_d log var_d + D log 2pi) - 0.5 * sum_d var_d / floored_var_d)``.
* Questions: phone sets from a top-down binary clustering (k-means with 2 clusters, 10 random starts)
  of the per-phone-set statistics of pdf-class 1, every node of the cluster tree a question, plus
  ``extra_questions.int``; pdf-class questions {0}, {0,1}, ... up to the largest pdf-class - 1.
* Tree: the stub from ``roots.int`` (a binary split of the phone sets in halves; one leaf per shared
  root), then greedy splitting: the leaf whose best question gains most likelihood is split, until
  ``max_leaves`` leaves or a gain below ``thresh`` (300); then, within each root, leaves whose merge
  costs less than the smallest split gain are merged bottom-up (``--cluster-thresh=-1``), and the
  leaves are renumbered 0..N-1 in the order of their old numbers.

Shapes: ``events`` [E, 4] int (values of keys -1, 0, 1, 2; -1 = key absent); ``stats`` [E, 2D+1]
float64 (count, sum, sum of squares).
"""

from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass

import numpy as np

from dgmm.kaldi.event_map import (PDF_CLASS, ConstantEventMap, ContextDependency, EventMap,
                                  SplitEventMap, TableEventMap)
from dgmm.kaldi.alignments import split_to_phones
from dgmm.kaldi.gmm_model import TransitionModel
from dgmm.kaldi.transition_model import TransitionModel as KaldiTransitionModel

log = logging.getLogger(__name__)

VAR_FLOOR = 0.01
_KEYS = (PDF_CLASS, 0, 1, 2)  # column order of TreeStats.events


def _col(key: int) -> int:
    return _KEYS.index(key)


def objf(stats: np.ndarray, var_floor: float = VAR_FLOOR) -> np.ndarray:
    """Kaldi's ``GaussClusterable::Objf`` of stats [..., 2D+1] -> [...] (0 where the count is 0)."""
    stats = np.asarray(stats, np.float64)
    d = (stats.shape[-1] - 1) // 2
    c = stats[..., :1]
    safe = np.where(c > 0, c, 1.0)
    mean = stats[..., 1:d + 1] / safe
    var = stats[..., d + 1:] / safe - mean * mean
    fv = np.maximum(var, var_floor)
    per_frame = -0.5 * (var / fv).sum(-1) - 0.5 * (np.log(fv).sum(-1) + d * np.log(2 * np.pi))
    return np.where(c[..., 0] > 0, per_frame * c[..., 0], 0.0)


@dataclass
class TreeStats:
    """Accumulated tree statistics: distinct events and their Gaussian statistics."""

    events: np.ndarray  # [E, 4]
    stats: np.ndarray   # [E, 2D+1]

    @property
    def dim(self) -> int:
        return (self.stats.shape[1] - 1) // 2


def phone_lookup(tm: TransitionModel) -> KaldiTransitionModel:
    """The transition-id lookup tables of ``tm`` (for :func:`phone_segments`)."""
    return KaldiTransitionModel.from_parts(tm.topo, tm.tuples, tm.log_probs)


def phone_segments(lookup: KaldiTransitionModel, ali: np.ndarray) -> list[np.ndarray]:
    """Frame indices of each phone instance of an alignment (Kaldi's SplitToPhones)."""
    pieces = split_to_phones(lookup, ali)
    bounds = np.cumsum([0] + [len(p) for p in pieces])
    return [np.arange(bounds[i], bounds[i + 1]) for i in range(len(pieces))]


def acc_tree_stats(tm: TransitionModel, feats: dict[str, np.ndarray], alis: dict[str, np.ndarray],
                   ci_phones: list[int], context_width: int = 3, central_position: int = 1) -> TreeStats:
    """``acc-tree-stats --ci-phones=...``: triphone-context statistics of aligned frames."""
    if (context_width, central_position) != (3, 1):
        raise ValueError("only context width 3, central position 1 (triphones) is supported")
    info = tm.tid_info()
    lookup = phone_lookup(tm)
    pdf_class = np.zeros(len(info["pdf"]), np.int64)
    for t in range(1, len(pdf_class)):
        st = tm.topo.entry(int(info["phone"][t]))[int(info["hmm_state"][t])]
        pdf_class[t] = st.self_loop_pdf_class if info["is_self_loop"][t] else st.forward_pdf_class
    ci = np.zeros(max(tm.tuples[:, 0].max(), max(ci_phones, default=0)) + 1, bool)
    ci[list(ci_phones)] = True
    ev_rows, x_rows = [], []
    for utt, ali in alis.items():
        x = feats[utt]
        if len(x) != len(ali):
            raise ValueError(f"utterance {utt}: {len(ali)} alignment frames but {len(x)} feature frames")
        segs = phone_segments(lookup, ali)
        phones = np.array([info["phone"][ali[s[0]]] for s in segs])
        left = np.concatenate([[0], phones[:-1]])
        right = np.concatenate([phones[1:], [0]])
        seg_len = np.array([len(s) for s in segs])
        ph = np.repeat(phones, seg_len)
        lf = np.where(ci[ph], -1, np.repeat(left, seg_len))
        rt = np.where(ci[ph], -1, np.repeat(right, seg_len))
        ev_rows.append(np.stack([pdf_class[ali], lf, ph, rt], 1))
        x_rows.append(x.astype(np.float64))
    ev = np.concatenate(ev_rows)
    x = np.concatenate(x_rows)
    uniq, inv = np.unique(ev, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    d = x.shape[1]
    st = np.zeros((len(uniq), 2 * d + 1))
    np.add.at(st[:, 0], inv, 1.0)
    np.add.at(st[:, 1:d + 1], inv, x)
    np.add.at(st[:, d + 1:], inv, x * x)
    return TreeStats(uniq, st)


# ------------------------------------------------------------------------------------- questions
def _kmeans2(points: np.ndarray, rng: np.random.Generator, tries: int = 10) -> tuple[np.ndarray, float]:
    """Best 2-way partition of stats points [n, 2D+1] by local search from random starts (Kaldi's
    ClusterKMeans with 2 clusters): returns (assignment [n] in {0,1}, objective gain over one cluster)."""
    n = len(points)
    base = float(objf(points.sum(0)))
    best_a, best_gain = None, -np.inf
    for _ in range(tries):
        a = rng.integers(0, 2, n)
        if a.min() == a.max():
            a[rng.integers(n)] ^= 1
        for _ in range(100):
            changed = False
            for i in rng.permutation(n):
                sums = [points[a == k].sum(0) for k in (0, 1)]
                k = a[i]
                if (a == k).sum() == 1:
                    continue
                cur = objf(sums[0]) + objf(sums[1])
                moved = objf(sums[k] - points[i]) + objf(sums[1 - k] + points[i])
                if moved > cur + 1e-9:
                    a[i] = 1 - k
                    changed = True
            if not changed:
                break
        gain = float(objf(points[a == 0].sum(0)) + objf(points[a == 1].sum(0))) - base
        if gain > best_gain:
            best_a, best_gain = a.copy(), gain
    return best_a, best_gain


def cluster_phones(ts: TreeStats, phone_sets: list[list[int]], pdf_classes=(1,), seed: int = 0,
                   ) -> list[list[int]]:
    """``cluster-phones``: questions (sorted phone lists) from top-down clustering of phone sets."""
    keep = np.isin(ts.events[:, _col(PDF_CLASS)], pdf_classes)
    central = ts.events[keep, _col(1)]
    st = ts.stats[keep]
    per_set = np.zeros((len(phone_sets), st.shape[1]))
    for i, ps in enumerate(phone_sets):
        per_set[i] = st[np.isin(central, ps)].sum(0)
    no_data = [i for i in range(len(phone_sets)) if per_set[i, 0] == 0]
    if no_data:
        log.warning("cluster_phones: %d phone sets have no data (e.g. %s)", len(no_data), phone_sets[no_data[0]])
    rng = np.random.default_rng(seed)
    questions = []
    stack = [list(range(len(phone_sets)))]
    while stack:  # every node of the binary cluster tree is a question
        node = stack.pop()
        questions.append(sorted(p for i in node for p in phone_sets[i]))
        if len(node) < 2:
            continue
        a, _ = _kmeans2(per_set[node], rng)
        stack += [[node[j] for j in range(len(node)) if a[j] == k] for k in (0, 1)]
    uniq = sorted({tuple(q) for q in questions})
    return [list(q) for q in uniq]


# ------------------------------------------------------------------------------------------ tree
@dataclass
class _Leaf:
    id: int
    idx: np.ndarray  # event indices


def _best_split(ts: TreeStats, idx: np.ndarray, questions: dict[int, list[np.ndarray]]):
    """(gain, key, question) of the best question for the events ``idx``, or (-inf, None, None)."""
    st = ts.stats[idx]
    total = float(objf(st.sum(0)))
    best = (-np.inf, None, None)
    for key, qs in questions.items():
        vals = ts.events[idx, _col(key)]
        if (vals < 0).any():  # some events lack this key (context-independent phones): not askable
            continue
        uv, inv = np.unique(vals, return_inverse=True)
        if len(uv) < 2:
            continue
        per_val = np.zeros((len(uv), st.shape[1]))
        np.add.at(per_val, inv.reshape(-1), st)
        member = np.array([np.isin(uv, q) for q in qs])  # [Q, V]
        n_yes = member.sum(1)
        ok = (n_yes > 0) & (n_yes < len(uv))
        if not ok.any():
            continue
        yes = member[ok].astype(np.float64) @ per_val
        no = per_val.sum(0) - yes
        gains = objf(yes) + objf(no) - total
        j = int(np.argmax(gains))
        if gains[j] > best[0]:
            best = (float(gains[j]), key, qs[np.flatnonzero(ok)[j]])
    return best


def read_roots(path) -> list[tuple[list[int], bool, bool]]:
    """``phones/roots.int`` lines ``shared|not-shared split|not-split phone...`` -> (phones, shared, split)."""
    out = []
    for n, line in enumerate(open(path), 1):
        f = line.split()
        if not f:
            continue
        if len(f) < 3 or f[0] not in ("shared", "not-shared") or f[1] not in ("split", "not-split"):
            raise ValueError(f"{path}:{n}: expected 'shared|not-shared split|not-split <phones>'")
        out.append(([int(p) for p in f[2:]], f[0] == "shared", f[1] == "split"))
    return out


def _stub(roots, num_pdf_classes: dict[int, int], counter: list[int]) -> EventMap:
    """Kaldi's GetStubMap: phone sets split in halves on the central phone; one leaf per shared root."""
    if len(roots) == 1:
        phones, shared, _ = roots[0]
        if shared:
            counter[0] += 1
            return ConstantEventMap(counter[0] - 1)
        n = max(num_pdf_classes[p] for p in phones)
        table = []
        for _ in range(n):
            counter[0] += 1
            table.append(ConstantEventMap(counter[0] - 1))
        return TableEventMap(PDF_CLASS, tuple(table))
    all_phones = [p for r in roots for p in r[0]]
    if max(len(r[0]) for r in roots) == 1 and len(roots) <= 2 * max(all_phones):
        table: list[EventMap | None] = [None] * (max(all_phones) + 1)
        for r in roots:
            table[r[0][0]] = _stub([r], num_pdf_classes, counter)
        return TableEventMap(1, tuple(table))
    half = len(roots) // 2
    yes = tuple(sorted(p for r in roots[:half] for p in r[0]))
    m1 = _stub(roots[:half], num_pdf_classes, counter)
    m2 = _stub(roots[half:], num_pdf_classes, counter)
    return SplitEventMap(1, yes, m1, m2)


def _stub_leaf(node: EventMap, phone: int, pdf_class: int) -> int:
    while not isinstance(node, ConstantEventMap):
        v = pdf_class if node.key == PDF_CLASS else phone
        node = node.table[v] if isinstance(node, TableEventMap) else (node.yes if v in node.yes_set else node.no)
    return node.answer


def build_tree(ts: TreeStats, roots, phone_questions: list[list[int]], num_pdf_classes: dict[int, int],
               max_leaves: int, thresh: float = 300.0, cluster_thresh: float = -1.0) -> ContextDependency:
    """``build-tree --max-leaves=... --cluster-thresh=...`` -> triphone ContextDependency (N=3, P=1)."""
    counter = [0]
    stub = _stub(roots, num_pdf_classes, counter)
    num_leaves = counter[0]
    max_pc = max(num_pdf_classes.values())
    questions = {k: [np.array(q) for q in phone_questions] for k in (0, 1, 2)}
    questions[PDF_CLASS] = [np.arange(i + 1) for i in range(max_pc - 1)]
    stub_of_event = np.array([_stub_leaf(stub, int(e[_col(1)]), int(e[_col(PDF_CLASS)])) for e in ts.events])
    no_split = {p for phones, _, split in roots if not split for p in phones}
    splittable = ~np.isin(ts.events[:, _col(1)], list(no_split))
    # the splits in the order they were made: (leaf, key, yes_set, new leaf id of the "no" branch);
    # the "yes" branch keeps the leaf's id and may be split again later
    splits: list[tuple[int, int, tuple[int, ...], int]] = []
    heap = []
    for leaf in range(num_leaves):
        idx = np.flatnonzero((stub_of_event == leaf) & splittable)
        if len(idx):
            gain, key, q = _best_split(ts, idx, questions)
            if key is not None:
                heapq.heappush(heap, (-gain, leaf, key, tuple(int(v) for v in q), idx))
    smallest = np.inf
    total_gain = 0.0
    while heap and num_leaves < max_leaves:
        neg, leaf, key, q, idx = heapq.heappop(heap)
        if -neg < thresh:
            break
        new = num_leaves
        num_leaves += 1
        splits.append((leaf, key, q, new))
        smallest = min(smallest, -neg)
        total_gain += -neg
        yes_mask = np.isin(ts.events[idx, _col(key)], q)
        for child, cidx in ((leaf, idx[yes_mask]), (new, idx[~yes_mask])):
            gain, k2, q2 = _best_split(ts, cidx, questions)
            if k2 is not None:
                heapq.heappush(heap, (-gain, child, k2, tuple(int(v) for v in q2), cidx))
    log.info("build_tree: %d leaves after splitting, likelihood gain %.4f per frame over %d frames",
             num_leaves, total_gain / ts.stats[:, 0].sum(), int(ts.stats[:, 0].sum()))
    # leaf of every event after splitting
    leaf_of = stub_of_event.copy()
    for leaf, key, q, new in splits:  # replay the splits in the order they were made
        sel = (leaf_of == leaf) & np.isin(ts.events[:, _col(key)], q, invert=True) & splittable
        leaf_of[sel] = new
    # cluster leaves within each stub leaf (ClusterEventMapRestrictedByMap), merge cost < thresh
    cthresh = smallest if cluster_thresh < 0 else cluster_thresh
    mapping = np.arange(num_leaves)
    leaf_stats = np.zeros((num_leaves, ts.stats.shape[1]))
    np.add.at(leaf_stats, leaf_of, ts.stats)
    leaf_stub = np.full(num_leaves, -1)
    leaf_stub[leaf_of] = stub_of_event
    removed = 0
    if np.isfinite(cthresh) and cthresh > 0:
        for s in range(counter[0]):
            members = [int(x) for x in np.flatnonzero(leaf_stub == s)]
            removed += _cluster_bottom_up(members, leaf_stats, cthresh, mapping)
    log.info("build_tree: clustering with threshold %.2f removed %d leaves", cthresh, removed)
    used = np.unique(mapping)
    renumber = np.full(num_leaves, -1)
    renumber[used] = np.arange(len(used))
    final = renumber[mapping]
    tree = _rebuild(stub, splits, final)
    return ContextDependency(3, 1, tree)


def _cluster_bottom_up(members: list[int], leaf_stats: np.ndarray, thresh: float, mapping: np.ndarray) -> int:
    """Merge the cheapest pair of clusters while the likelihood loss is below thresh; ``mapping`` of
    every merged leaf points to the smallest id of its cluster. Returns the number of merges."""
    clusters = {m: leaf_stats[m].copy() for m in members if leaf_stats[m, 0] > 0}
    merged = 0
    while len(clusters) > 1:
        ids = list(clusters)
        st = np.array([clusters[i] for i in ids])
        o = objf(st)
        pair = st[:, None, :] + st[None, :, :]
        cost = o[:, None] + o[None, :] - objf(pair)
        np.fill_diagonal(cost, np.inf)
        i, j = np.unravel_index(np.argmin(cost), cost.shape)
        if cost[i, j] > thresh:
            break
        a, b = sorted((ids[i], ids[j]))
        clusters[a] = clusters[a] + clusters.pop(b)
        mapping[mapping == b] = a
        merged += 1
    return merged


def _rebuild(node: EventMap, splits, final: np.ndarray) -> EventMap:
    """The stub with every split leaf replaced by its SplitEventMap, leaves renumbered by ``final``."""
    if isinstance(node, ConstantEventMap):
        return _expand(node.answer, splits, final)
    if isinstance(node, TableEventMap):
        return TableEventMap(node.key, tuple(None if c is None else _rebuild(c, splits, final)
                                             for c in node.table))
    return SplitEventMap(node.key, node.yes_set, _rebuild(node.yes, splits, final),
                         _rebuild(node.no, splits, final))


def _expand(leaf: int, splits, final: np.ndarray, start: int = 0) -> EventMap:
    """Subtree of ``leaf`` given the splits made from ``splits[start]`` on: the first split of ``leaf``
    becomes a SplitEventMap whose yes child is ``leaf`` again (later splits) and no child the new leaf."""
    for k in range(start, len(splits)):
        if splits[k][0] == leaf:
            _, key, q, new = splits[k]
            return SplitEventMap(key, q, _expand(leaf, splits, final, k + 1), _expand(new, splits, final, k + 1))
    return ConstantEventMap(int(final[leaf]))
