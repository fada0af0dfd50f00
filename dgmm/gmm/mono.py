"""Monophone GMM-HMM training from a flat start (Kaldi's ``steps/train_mono.sh``).

Behaviour, as the Kaldi script:
* ``gmm-init-mono --shared-phones=phones/sets.int``: one single-Gaussian pdf per (phone set, pdf class),
  all with the global mean/variance of the first 10 utterances;
* ``compile-train-graphs`` (L.fst, transition/self-loop scale 0) and ``align-equal-compiled``;
* 40 iterations of accumulate + ``gmm-est`` (first with min-gaussian-occupancy 3), re-aligning with
  ``gmm-align-compiled`` (beam 6 / retry 24 on iteration 1, then 10 / 40) on iterations
  1-10, 12, 14, 16, 18, 20, 23, 26, ..., 38; the Gaussian count grows by (totgauss - #pdfs) / 30 per
  iteration for the first 30 iterations (``--mix-up`` with power 0.25).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from dgmm.cli import DgmmError
from dgmm.gmm import estimate
from dgmm.gmm.align import Graph, equal_align
from dgmm.gmm.langdir import Lang
from dgmm.gmm.trainer import Trainer
from dgmm.kaldi.gmm_model import GmmModel, HmmTopology, TransitionModel
from dgmm.kaldi.ports import khg

log = logging.getLogger(__name__)

REALIGN_ITERS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 18, 20, 23, 26, 29, 32, 35, 38)


@dataclass
class MonoConfig:
    """train_mono.sh options (same names and defaults)."""

    num_iters: int = 40
    max_iter_inc: int = 30
    totgauss: int = 1000
    boost_silence: float = 1.0
    realign_iters: tuple[int, ...] = REALIGN_ITERS
    power: float = 0.25
    beam: float = 10.0
    first_beam: float = 6.0
    acoustic_scale: float = 0.1
    transition_scale: float = 1.0
    self_loop_scale: float = 0.1


def transition_model_from_khg(tm, topo: HmmTopology) -> TransitionModel:
    """Our TransitionModel (for writing final.mdl) from a kaldi-hmm-gmm one built on the same topo."""
    tuples = np.array([t.__getstate__() for t in tm.tuples], np.int32).reshape(-1, 4)
    return TransitionModel(topo, tuples, np.asarray(tm.log_probs, np.float32))


def compile_graphs(lang: Lang, khg_tm, khg_tree, texts: dict[str, list[str]]) -> dict[str, Graph]:
    """``compile-train-graphs`` (transition and self-loop scales 0) for every transcript."""
    gc = khg.TrainingGraphCompiler(trans_model=khg_tm, ctx_dep=khg_tree, lex_fst=lang.L,
                                   disambig_syms=lang.disambig,
                                   opts=khg.TrainingGraphCompilerOptions(transition_scale=0.0,
                                                                         self_loop_scale=0.0))
    graphs = {}
    for utt, words in texts.items():
        g = Graph.from_fst(gc.compile_graph_from_text(lang.word_ids(utt, words)))
        if len(g.src) == 0:
            raise DgmmError(f"utterance {utt}: empty training graph for {' '.join(words)!r} "
                            f"(a word without pronunciation in {lang.path}/L.fst?)")
        graphs[utt] = g
    return graphs


def mono_tree_and_model(lang: Lang):
    """khg monophone tree (shared phone sets as ``gmm-init-mono --shared-phones``) and transition model."""
    topo = khg.HmmTopology()
    topo.read(lang.topo_text)
    tree = khg.monophone_context_dependency_shared(
        phone_classes=lang.phone_sets, phone2num_pdf_classes=topo.get_phone_to_num_pdf_classes())
    return tree, khg.TransitionModel(ctx_dep=tree, hmm_topo=topo)


def train_mono(lang: Lang, feats: dict[str, np.ndarray], texts: dict[str, list[str]],
               cfg: MonoConfig = MonoConfig(), init_utts: list[str] | None = None):
    """Train a monophone system. Returns (GmmModel, khg tree, Trainer with final alignments/occs)."""
    tree, ktm = mono_tree_and_model(lang)
    tm = transition_model_from_khg(ktm, HmmTopology.from_text(lang.topo_text, f"{lang.path}/topo"))
    utts = [u for u in texts if u in feats]
    if not utts:
        raise DgmmError("no utterance has both a transcript and features")
    init = init_utts or utts[:10]
    am = estimate.global_init(tm.num_pdfs, np.concatenate([feats[u] for u in init]))
    graphs = compile_graphs(lang, ktm, tree, {u: texts[u] for u in utts})
    tr = Trainer(GmmModel(tm, am), graphs, feats, cfg.acoustic_scale, cfg.transition_scale,
                 cfg.self_loop_scale, lang.optional_silence, cfg.boost_silence)
    # iteration 0: equal alignment, then estimate with min-gaussian-occupancy 3
    for i, (utt, g) in enumerate(graphs.items()):
        ali = equal_align(g, len(feats[utt]), seed=i)
        if ali is None:
            log.warning("equal alignment failed for %s (%d frames too few?)", utt, len(feats[utt]))
            continue
        tr.alis[utt] = ali
    numgauss = tm.num_pdfs
    incgauss = (cfg.totgauss - numgauss) // cfg.max_iter_inc
    log.info("iteration 0: equal alignment of %d utterances", len(tr.alis))
    tr.estimate(mix_up=numgauss, power=cfg.power, min_gaussian_occupancy=3.0, seed=0)
    beam = cfg.first_beam
    for x in range(1, cfg.num_iters):
        log.info("iteration %d", x)
        if x in cfg.realign_iters:
            tr.realign(beam, beam * 4)
        tr.estimate(mix_up=numgauss, power=cfg.power, seed=x)
        if x <= cfg.max_iter_inc:
            numgauss += incgauss
        beam = cfg.beam
    return tr.model, tree, tr
