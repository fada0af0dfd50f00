"""The HMM level of a decoding graph, from a Kaldi ``final.mdl`` + ``tree``: H and the self-loops.

khg's ``get_h_transducer`` / ``add_self_loops`` need khg's own ContextDependency, which cannot be built
from a Kaldi tree file (no Python constructor), so triphone graphs could not be made with them. This
module does the same two jobs from our readers (:mod:`dgmm.kaldi.event_map`, :mod:`dgmm.kaldi.gmm_model`),
following Kaldi's ``src/hmm/hmm-utils.cc``:

* :func:`h_transducer` (``make-h-transducer``): for every input symbol of C (``ilabel_info``: a phone
  window, or ``[-d]`` for a phone disambiguation symbol) the HMM of the central phone with the tree's
  pdfs, as a path of transition-ids *without* self-loops whose costs are the transition log-probs
  renormalised without the self-loop (``GetTransitionLogProbIgnoringSelfLoops``), times
  ``transition_scale``. The HMMs hang off one start/final loop state, the C symbol is output on the
  entering arc. Disambiguation symbols become new input symbols num_tids+1, num_tids+2, ...
* :func:`add_self_loops` (``add-self-loops --reorder=true``): states are split so that all arcs entering a
  state carry one transition-state; each such state gets the self-loop (cost -log p_loop *
  self_loop_scale) and its outgoing arcs and final cost -log(1 - p_loop) * self_loop_scale.

FSTs are exchanged as :class:`FstArrays` (numpy), so no weight is rounded through text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from dgmm.kaldi.event_map import ContextDependency
from dgmm.kaldi.gmm_model import TransitionModel


@dataclass
class Arcs:
    """An FST under construction: arc columns (src, dst, ilabel, olabel, cost) and final costs."""

    src: list[int]
    dst: list[int]
    ilabel: list[int]
    olabel: list[int]
    cost: list[float]
    num_states: int
    finals: dict[int, float]
    start: int = 0

    @classmethod
    def empty(cls) -> "Arcs":
        return cls([], [], [], [], [], 0, {})

    def add_state(self) -> int:
        self.num_states += 1
        return self.num_states - 1

    def add_arc(self, src: int, dst: int, ilabel: int, olabel: int, cost: float) -> None:
        self.src.append(src)
        self.dst.append(dst)
        self.ilabel.append(ilabel)
        self.olabel.append(olabel)
        self.cost.append(cost)


class TransitionTable:
    """Lookups of a TransitionModel used by graph building (Kaldi's TransitionModel accessors)."""

    def __init__(self, tm: TransitionModel):
        self.tm = tm
        info = tm.tid_info()
        self.num_tids = tm.num_transition_ids
        self.tstate_of_tid = info["transition_state"]                 # [num_tids+1], 0 unused
        self.log_probs = np.asarray(tm.log_probs, np.float64)
        self.tuple_to_tstate = {tuple(int(v) for v in row): i + 1 for i, row in enumerate(tm.tuples)}
        n_tstates = len(tm.tuples)
        self.first_tid = np.zeros(n_tstates + 2, np.int64)               # first tid of each tstate
        counts = np.bincount(self.tstate_of_tid[1:], minlength=n_tstates + 1)
        self.first_tid[1:] = 1 + np.concatenate([[0], np.cumsum(counts[1:])])
        self.self_loop_tid = np.zeros(n_tstates + 1, np.int64)           # 0 = no self-loop
        loops = np.flatnonzero(info["is_self_loop"])
        self.self_loop_tid[self.tstate_of_tid[loops]] = loops

    def log_prob_ignoring_self_loops(self, tid: int) -> float:
        loop = self.self_loop_tid[self.tstate_of_tid[tid]]
        lp = float(self.log_probs[tid])
        return lp if loop == 0 else lp - math.log1p(-math.exp(float(self.log_probs[loop])))

    @property
    def non_self_loop_log_probs(self) -> np.ndarray:
        """log(1 - p_self_loop) per transition-state [num_tstates+1] (0 without a self-loop)."""
        p_loop = np.where(self.self_loop_tid > 0, np.exp(self.log_probs[self.self_loop_tid]), 0.0)
        return np.log1p(-p_loop)


def _hmm_arcs(window: Sequence[int], tree: ContextDependency, tt: TransitionTable, transition_scale: float):
    """(phone, pdfs) cache key and the arcs (src, dst, tid, cost) of the HMM of the window's central phone;
    state 0 is the start, the topology's last state the final one."""
    phone = window[tree.P]
    if phone <= 0:
        raise ValueError(f"context window {tuple(window)} has no central phone")
    try:
        entry = tt.tm.topo.entry(phone)
    except KeyError:
        raise ValueError(f"phone {phone} (from the graph) is not in the model's topology") from None
    n_classes = tt.tm.topo.num_pdf_classes(phone)
    pdfs = []
    for c in range(n_classes):
        pdf = tree.compute(window, c)
        if pdf is None:
            raise ValueError(f"the tree has no pdf for phone window {tuple(window)}, pdf-class {c} "
                             f"(tree and lang/graph from different systems?)")
        pdfs.append(pdf)
    arcs = []
    for h, state in enumerate(entry):
        for k, (dest, prob) in enumerate(state.transitions):
            if dest == h:
                continue  # self-loops come later (add_self_loops)
            if state.forward_pdf_class < 0:  # non-emitting state: epsilon with the topology's prob
                arcs.append((h, dest, 0, -math.log(prob) * transition_scale))
                continue
            key = (phone, h, pdfs[state.forward_pdf_class], pdfs[state.self_loop_pdf_class])
            tstate = tt.tuple_to_tstate.get(key)
            if tstate is None:
                raise ValueError(f"transition model has no transition-state {key} (model/tree mismatch)")
            tid = int(tt.first_tid[tstate]) + k
            arcs.append((h, dest, tid, -tt.log_prob_ignoring_self_loops(tid) * transition_scale))
    return (phone, tuple(pdfs)), arcs, len(entry) - 1


def h_transducer(ilabel_info: Sequence[Sequence[int]], tree: ContextDependency, tm: TransitionModel,
                 transition_scale: float = 1.0) -> tuple[Arcs, list[int]]:
    """Kaldi's ``make-h-transducer``: (H as Arcs, the input labels standing for disambiguation symbols)."""
    if not ilabel_info or len(ilabel_info[0]) != 0:
        raise ValueError("ilabel_info[0] must be the empty (epsilon) entry")
    tt = TransitionTable(tm)
    H = Arcs.empty()
    loop = H.add_state()
    H.finals[loop] = 0.0
    next_disambig = tt.num_tids + 1
    disambig_tids: list[int] = []
    # per distinct HMM: its entry into the loop (first arc shared as in Kaldi's MakeLoopFst)
    entries: dict[tuple, tuple[int, int, float]] = {}
    for j in range(1, len(ilabel_info)):
        info = list(ilabel_info[j])
        if not info:
            raise ValueError(f"ilabel_info[{j}] is empty")
        if len(info) == 1 and info[0] <= 0:
            H.add_arc(loop, loop, next_disambig, j, 0.0)
            disambig_tids.append(next_disambig)
            next_disambig += 1
            continue
        if info[0] < 0:
            raise ValueError(f"ilabel_info[{j}] = {info}: grammar-FST symbols are not supported")
        if len(info) != tree.N:
            raise ValueError(f"ilabel_info[{j}] = {info} has {len(info)} phones, the tree's context width is {tree.N}")
        key, arcs, final = _hmm_arcs(info, tree, tt, transition_scale)
        if key not in entries:
            starts = [a for a in arcs if a[0] == 0]
            # the start state is shared with the loop state when it has a single arc and nothing enters it
            share = len(starts) == 1 and not any(a[1] == 0 for a in arcs) and final != 0
            smap = {s: (loop if (s == 0 and share) else H.add_state()) for s in range(final + 1)}
            for s, d, tid, cost in arcs:
                if not (s == 0 and share):
                    H.add_arc(smap[s], smap[d], tid, 0, cost)
            H.add_arc(smap[final], loop, 0, 0, 0.0)
            if share:
                _, d, tid, cost = starts[0]
                entries[key] = (smap[d], tid, cost)
            else:
                entries[key] = (smap[0], 0, 0.0)
        dst, tid, cost = entries[key]
        H.add_arc(loop, dst, tid, j, cost)
    return H, disambig_tids


def add_self_loops(src: np.ndarray, dst: np.ndarray, ilabel: np.ndarray, olabel: np.ndarray, cost: np.ndarray,
                   finals: np.ndarray, start: int, tm: TransitionModel, self_loop_scale: float = 0.1):
    """Kaldi's ``add-self-loops --reorder=true`` on an FST given as arc arrays (no disambiguation symbols
    left: every input label is 0 or a transition-id). ``finals`` holds final costs (inf = not final).

    Returns the new (src, dst, ilabel, olabel, cost, finals) arrays; the start state is unchanged.
    """
    tt = TransitionTable(tm)
    src, dst, ilabel, olabel = (np.asarray(x, np.int64) for x in (src, dst, ilabel, olabel))
    cost, finals = np.asarray(cost, np.float64), np.asarray(finals, np.float64)
    n = len(finals)
    if ilabel.size and (ilabel.max() > tt.num_tids or ilabel.min() < 0):
        raise ValueError(f"input label {int(ilabel.max())} is not a transition-id (disambiguation symbols left?)")
    cls = tt.tstate_of_tid[ilabel].astype(np.int64)      # class of an arc's input: transition-state, 0 = eps
    # MakePrecedingInputSymbolsSameClass: the start state counts as entered by epsilon; a state entered
    # with two classes is "bad" and gets one dummy state per class in front (dummy -eps-> bad state).
    cmin = np.full(n, np.iinfo(np.int64).max)
    cmax = np.full(n, -1, np.int64)
    np.minimum.at(cmin, dst, cls)
    np.maximum.at(cmax, dst, cls)
    cmin[start], cmax[start] = min(cmin[start], 0), max(cmax[start], 0)
    bad = (cmax >= 0) & (cmin != cmax)
    state_in = cmax.copy()                                # -1 = nothing enters
    state_in[bad] = 0
    into_bad = np.flatnonzero(bad[dst])
    if into_bad.size:
        keys, inverse = np.unique(np.stack([dst[into_bad], cls[into_bad]], 1), axis=0, return_inverse=True)
        dummies = n + np.arange(len(keys))
        dst = dst.copy()
        dst[into_bad] = dummies[inverse.ravel()]
        src = np.concatenate([src, dummies])
        dst = np.concatenate([dst, keys[:, 0]])
        ilabel = np.concatenate([ilabel, np.zeros(len(keys), np.int64)])
        olabel = np.concatenate([olabel, np.zeros(len(keys), np.int64)])
        cost = np.concatenate([cost, np.zeros(len(keys))])
        finals = np.concatenate([finals, np.full(len(keys), np.inf)])
        state_in = np.concatenate([state_in, keys[:, 1]])
    # a state entered by transition-state t: its self-loop, and -log(1 - p_loop) on all that leaves it
    t = np.maximum(state_in, 0)
    fwd = np.where(state_in > 0, -tt.non_self_loop_log_probs[t] * self_loop_scale, 0.0)
    cost = cost + fwd[src]
    finals = finals + fwd
    loop_tid = np.where(state_in > 0, tt.self_loop_tid[t], 0)
    ls = np.flatnonzero(loop_tid)
    lt = loop_tid[ls]
    return (np.concatenate([src, ls]), np.concatenate([dst, ls]), np.concatenate([ilabel, lt]),
            np.concatenate([olabel, np.zeros(len(ls), np.int64)]),
            np.concatenate([cost, -tt.log_probs[lt] * self_loop_scale]), finals)
