"""Context-dependent (triphone) GMM-HMM training (Kaldi's ``steps/train_deltas.sh``) and training graphs
for any tree (Kaldi's ``compile-train-graphs``).

train_deltas.sh behaviour: tree statistics from the source alignments (context-independent phones =
``phones/context_indep.int``), questions from ``cluster-phones`` on ``phones/sets.int`` plus
``extra_questions.int``, ``build-tree`` with ``phones/roots.int`` to ``num_leaves``; one Gaussian per
leaf from the tree statistics (``gmm-init-model``), ``gmm-mixup`` to num_leaves, alignments converted to
the new model (``convert-ali``), then 35 iterations, realigning at 10, 20, 30 and mixing up by
(tot_gauss - num_leaves) / 25 per iteration for the first 25.

Training graphs are H o C o (L o G_utt): the utterance's word string composed with L, the phone-context
transducer C (kaldifst's ComposeContext), our H (:mod:`dgmm.graph.hmm_fst`, transition scale 0) and
self-loops (scale 0); transition probabilities are added at alignment time (``dgmm.gmm.align``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from dgmm.cli import DgmmError
from dgmm.gmm import estimate
from dgmm.gmm.align import Graph
from dgmm.gmm.langdir import Lang
from dgmm.gmm.trainer import Trainer
from dgmm.gmm.tree import (PDF_CLASS, TreeStats, _col, acc_tree_stats, build_tree, cluster_phones,
                           phone_lookup, phone_segments, read_roots)
from dgmm.graph import hmm_fst
from dgmm.kaldi.event_map import ConstantEventMap, ContextDependency, TableEventMap
from dgmm.kaldi.gmm_model import AmDiagGmm, DiagGmm, GmmModel, HmmTopology, TransitionModel
from dgmm.kaldi.ports import kaldifst

log = logging.getLogger(__name__)


@dataclass
class TriConfig:
    """train_deltas.sh options (same defaults)."""

    num_iters: int = 35
    max_iter_inc: int = 25
    realign_iters: tuple[int, ...] = (10, 20, 30)
    power: float = 0.25
    beam: float = 10.0
    retry_beam: float = 40.0
    boost_silence: float = 1.0
    cluster_thresh: float = -1.0
    thresh: float = 300.0


# ------------------------------------------------------------------------------ transition model
def _reachable(node, event: dict[int, int]) -> set[int]:
    """Leaves reachable for a partial event (keys absent from ``event`` follow every branch)."""
    if node is None:
        return set()
    if isinstance(node, ConstantEventMap):
        return {node.answer}
    if node.key in event:
        v = event[node.key]
        if isinstance(node, TableEventMap):
            return _reachable(node.table[v] if 0 <= v < len(node.table) else None, event)
        return _reachable(node.yes if v in node.yes_set else node.no, event)
    kids = node.table if isinstance(node, TableEventMap) else (node.yes, node.no)
    return set().union(*(_reachable(k, event) for k in kids))


def transition_model_for_tree(topo: HmmTopology, tree: ContextDependency) -> TransitionModel:
    """``TransitionModel(ctx_dep, topo)``: every (phone, hmm-state, forward pdf, self-loop pdf) the tree
    allows, sorted; log-probs from the topology."""
    tuples = set()
    for p in topo.phones:
        for h, st in enumerate(topo.entry(p)):
            if st.forward_pdf_class < 0:
                continue
            fwd = _reachable(tree.to_pdf, {tree.P: p, PDF_CLASS: st.forward_pdf_class})
            slp = _reachable(tree.to_pdf, {tree.P: p, PDF_CLASS: st.self_loop_pdf_class})
            if st.forward_pdf_class == st.self_loop_pdf_class:
                tuples |= {(p, h, f, f) for f in fwd}
            else:
                tuples |= {(p, h, f, s) for f in fwd for s in slp}
    tuples_a = np.array(sorted(tuples), np.int32).reshape(-1, 4)
    log_probs = [0.0]
    for p, h, _, _ in tuples_a:
        log_probs += [np.log(prob) for _, prob in topo.entry(int(p))[int(h)].transitions]
    return TransitionModel(topo, tuples_a, np.array(log_probs, np.float32))


# --------------------------------------------------------------------------------- graphs
class GraphCompiler:
    """``compile-train-graphs`` for a tree of any context width, without transition probabilities."""

    def __init__(self, lang: Lang, tree: ContextDependency, tm: TransitionModel):
        self.lang, self.tree, self.tm = lang, tree, tm
        self._L = lang.L

    def __call__(self, utt: str, words: list[str]) -> Graph:
        wids = self.lang.word_ids(utt, words)
        g_text = "".join(f"{i} {i + 1} {w} {w}\n" for i, w in enumerate(wids)) + f"{len(wids)}\n"
        G = kaldifst.compile(s=g_text, acceptor=False)
        LG = kaldifst.compose(self._L, G)
        kaldifst.rmepsilon(LG)
        CLG, ilabels = kaldifst.compose_context(disambig_syms=[], context_width=self.tree.N,
                                                central_position=self.tree.P, ifst=LG)
        kaldifst.arcsort(CLG, sort_type="ilabel")
        H, _ = hmm_fst.h_transducer(ilabels, self.tree, self.tm, transition_scale=0.0)
        lines = [f"{s} {d} {i} {o} {c}" for s, d, i, o, c in zip(H.src, H.dst, H.ilabel, H.olabel, H.cost)]
        # the start state's arcs must come first in the text form
        lines.sort(key=lambda ln: int(ln.split()[0]) != H.start)
        lines += [f"{s} {c}" for s, c in H.finals.items()]
        Hf = kaldifst.compile(s="\n".join(lines) + "\n", acceptor=False)
        kaldifst.arcsort(Hf, sort_type="olabel")
        HCLG = kaldifst.compose(Hf, CLG)
        kaldifst.rmepsilon(HCLG)
        g = Graph.from_fst(HCLG)
        if len(g.src) == 0:
            raise DgmmError(f"utterance {utt}: empty training graph (words not in the lexicon?)")
        n = int(max(g.src.max(), g.dst.max(), g.final_state.max())) + 1
        finals = np.full(n, np.inf)
        finals[g.final_state] = g.final_weight
        src, dst, il, ol, cost, finals = hmm_fst.add_self_loops(
            g.src.astype(np.int64), g.dst.astype(np.int64), g.ilabel.astype(np.int64),
            g.olabel.astype(np.int64), g.weight, finals, 0, self.tm, self_loop_scale=0.0)
        fs = np.flatnonzero(np.isfinite(finals))
        return Graph(src.astype(np.int32), dst.astype(np.int32), il.astype(np.int32), ol.astype(np.int32),
                     np.asarray(cost, np.float64), fs.astype(np.int32), finals[fs])


# ------------------------------------------------------------------------------ model init
def init_model(tm: TransitionModel, tree: ContextDependency, ts: TreeStats) -> tuple[AmDiagGmm, np.ndarray]:
    """``gmm-init-model``: one Gaussian per pdf from the tree statistics mapped through the tree
    (variance floored at 0.01; pdfs without data get the global statistics). Returns (am, occs)."""
    num_pdfs = tm.num_pdfs
    d = ts.dim
    acc = np.zeros((num_pdfs, 2 * d + 1))
    for e, st in zip(ts.events, ts.stats):
        ev = {k: int(e[_col(k)]) for k in (PDF_CLASS, 0, 1, 2) if e[_col(k)] >= 0}
        pdf = _map(tree.to_pdf, ev)
        if pdf is None:
            raise DgmmError(f"tree has no pdf for context {ev}")
        acc[pdf] += st
    glob = ts.stats.sum(0)
    empty = np.flatnonzero(acc[:, 0] == 0)
    if len(empty):
        log.warning("gmm-init-model: %d pdfs have no statistics (e.g. pdf %d); using global stats",
                    len(empty), empty[0])
    pdfs = []
    for j in range(num_pdfs):
        s = acc[j] if acc[j, 0] > 0 else glob
        mu = s[1:d + 1] / s[0]
        var = np.maximum(s[d + 1:] / s[0] - mu * mu, 0.01)
        pdfs.append(DiagGmm.from_moments(np.ones(1), mu[None], var[None]))
    return AmDiagGmm(d, pdfs), acc[:, 0]


def _map(node, ev):
    while node is not None and not isinstance(node, ConstantEventMap):
        v = ev.get(node.key)
        if v is None:
            return None
        node = (node.table[v] if 0 <= v < len(node.table) else None) if isinstance(node, TableEventMap) \
            else (node.yes if v in node.yes_set else node.no)
    return None if node is None else node.answer


def convert_alignments(old: TransitionModel, new: TransitionModel, tree: ContextDependency,
                       alis: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``convert-ali``: same phones, HMM states and transitions, the new tree's pdfs."""
    oi, ni = old.tid_info(), new.tid_info()
    lookup = phone_lookup(old)
    # index of each old tid within its transition-state; first tid of each new transition-state
    ots = oi["transition_state"]
    first_old = np.full(len(old.tuples) + 2, len(ots))
    np.minimum.at(first_old, ots[1:], np.arange(1, len(ots)))
    index = np.arange(len(ots)) - first_old[ots]
    nts = ni["transition_state"]
    first_new = np.full(len(new.tuples) + 2, len(nts))
    np.minimum.at(first_new, nts[1:], np.arange(1, len(nts)))
    tstate_of = {tuple(int(v) for v in row): i + 1 for i, row in enumerate(new.tuples)}
    cache: dict[tuple, int] = {}

    def first_tid(window: tuple, phone: int, h: int) -> int:
        key = (window, h)
        if key not in cache:
            st = new.topo.entry(phone)[h]
            tup = (phone, h, tree.compute(window, st.forward_pdf_class), tree.compute(window, st.self_loop_pdf_class))
            if tup not in tstate_of:
                raise DgmmError(f"cannot convert alignment: no transition-state {tup} in the new model")
            cache[key] = int(first_new[tstate_of[tup]])
        return cache[key]

    out = {}
    for utt, ali in alis.items():
        segs = phone_segments(lookup, ali)
        phones = [int(oi["phone"][ali[s[0]]]) for s in segs]
        new_ali = np.empty_like(ali)
        for k, s in enumerate(segs):  # per phone, vectorised over its frames
            window = tuple(phones[k + o] if 0 <= k + o < len(phones) else 0
                           for o in range(-tree.P, tree.N - tree.P))
            h = oi["hmm_state"][ali[s]]
            base = np.array([first_tid(window, phones[k], int(x)) for x in range(h.max() + 1)])
            new_ali[s] = base[h] + index[ali[s]]
        out[utt] = new_ali
    return out


def train_deltas(lang: Lang, feats: dict[str, np.ndarray], texts: dict[str, list[str]],
                 src_model: GmmModel, src_alis: dict[str, np.ndarray], num_leaves: int, tot_gauss: int,
                 cfg: TriConfig = TriConfig()):
    """Train a triphone system from source alignments. Returns (GmmModel, tree, Trainer)."""
    d = lang.path
    ci = [int(t) for t in (d / "phones/context_indep.int").read_text().split()]
    ts = acc_tree_stats(src_model.trans_model, feats, src_alis, ci)
    log.info("tree stats: %d distinct events over %d frames", len(ts.events), int(ts.stats[:, 0].sum()))
    questions = cluster_phones(ts, lang.phone_sets)
    extra = d / "phones/extra_questions.int"
    if extra.exists():
        questions += [sorted(int(t) for t in line.split()) for line in extra.read_text().splitlines() if line.strip()]
    topo = HmmTopology.from_text(lang.topo_text, f"{d}/topo")
    npc = {p: topo.num_pdf_classes(p) for p in topo.phones}
    tree = build_tree(ts, read_roots(d / "phones/roots.int"), questions, npc, num_leaves,
                      cfg.thresh, cfg.cluster_thresh)
    tm = transition_model_for_tree(topo, tree)
    am, occs = init_model(tm, tree, ts)
    am = estimate.mix_up(am, occs, num_leaves, cfg.power)
    log.info("tree: %d pdfs, %d transition-ids", tm.num_pdfs, tm.num_transition_ids)
    alis = convert_alignments(src_model.trans_model, tm, tree, {u: a for u, a in src_alis.items() if u in texts})
    compile_graph = GraphCompiler(lang, tree, tm)
    graphs = {u: compile_graph(u, texts[u]) for u in texts if u in feats}
    tr = Trainer(GmmModel(tm, am), graphs, feats, boost_phones=lang.optional_silence, boost=cfg.boost_silence)
    tr.alis = alis
    numgauss = num_leaves
    incgauss = (tot_gauss - numgauss) // cfg.max_iter_inc
    for x in range(1, cfg.num_iters):
        log.info("iteration %d", x)
        if x in cfg.realign_iters:
            tr.realign(cfg.beam, cfg.retry_beam)
        tr.estimate(mix_up=numgauss, power=cfg.power, seed=x)
        if x <= cfg.max_iter_inc:
            numgauss += incgauss
    return tr.model, tree, tr
