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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dgmm.cli import DgmmError
from dgmm.gmm import estimate
from dgmm.gmm.align import Graph, align, equal_align, transition_costs
from dgmm.kaldi.gmm_model import GmmModel, HmmTopology, TransitionModel
from dgmm.kaldi.ports import kaldifst, khg
from dgmm.kaldi.tables import read_table

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


@dataclass
class Lang:
    """What training needs from a Kaldi ``data/lang`` directory."""

    path: Path
    topo_text: str
    words: dict[str, int]
    phones: dict[str, int]
    oov: int | None
    disambig: list[int]
    phone_sets: list[list[int]]
    silence_phones: list[int]
    optional_silence: list[int]
    L: object = field(repr=False, default=None)

    @classmethod
    def read(cls, lang: str | Path) -> "Lang":
        d = Path(lang)
        for f in ("topo", "words.txt", "phones.txt", "L.fst", "phones/sets.int", "phones/disambig.int"):
            if not (d / f).exists():
                raise DgmmError(f"{d}/{f}: missing (not a Kaldi lang directory?)")
        ints = lambda p: [int(t) for t in (d / p).read_text().split()]  # noqa: E731
        oov = int((d / "oov.int").read_text().split()[0]) if (d / "oov.int").exists() else None
        L = kaldifst.StdVectorFst.read(str(d / "L.fst"))
        kaldifst.arcsort(L, sort_type="olabel")
        return cls(d, (d / "topo").read_text(), read_table(d / "words.txt", int),
                   read_table(d / "phones.txt", int), oov, ints("phones/disambig.int"),
                   [[int(t) for t in line.split()] for line in (d / "phones/sets.int").read_text().splitlines()
                    if line.strip()],
                   ints("phones/silence.int") if (d / "phones/silence.int").exists() else [],
                   ints("phones/optional_silence.int") if (d / "phones/optional_silence.int").exists() else [],
                   L)

    def word_ids(self, utt: str, words: list[str]) -> list[int]:
        """``sym2int.pl --map-oov``: word ids of a transcript, unknown words mapped to the OOV word."""
        out = []
        for w in words:
            if w in self.words:
                out.append(self.words[w])
            elif self.oov is not None:
                out.append(self.oov)
            else:
                raise DgmmError(f"utterance {utt}: word {w!r} is not in {self.path}/words.txt and the lang "
                                "has no oov.int")
        return out


def transition_model_from_khg(tm, topo: HmmTopology) -> TransitionModel:
    """Our TransitionModel (for writing final.mdl) from a kaldi-hmm-gmm one built on the same topo."""
    tuples = np.array([t.__getstate__() for t in tm.tuples], np.int32).reshape(-1, 4)
    return TransitionModel(topo, tuples, np.asarray(tm.log_probs, np.float32))


def boost_offsets(tm: TransitionModel, phones: list[int], boost: float) -> np.ndarray | None:
    """``gmm-boost-silence``: log(boost) added to the log-likelihood of pdfs of ``phones`` [num_pdfs]."""
    if boost == 1.0 or not phones:
        return None
    off = np.zeros(tm.num_pdfs, np.float32)
    sel = np.isin(tm.tuples[:, 0], phones)
    off[np.unique(tm.tuples[sel][:, 2:])] = np.log(boost)
    return off


class Trainer:
    """Shared loop of train_mono / train_deltas: accumulate, estimate, realign (all in memory)."""

    def __init__(self, model: GmmModel, graphs: dict[str, Graph], feats: dict[str, np.ndarray],
                 acoustic_scale=0.1, transition_scale=1.0, self_loop_scale=0.1,
                 boost_phones: list[int] | None = None, boost: float = 1.0):
        self.model = model
        self.graphs = graphs
        self.feats = feats
        self.acoustic_scale = acoustic_scale
        self.transition_scale = transition_scale
        self.self_loop_scale = self_loop_scale
        self.boost_phones = boost_phones or []
        self.boost = boost
        self.alis: dict[str, np.ndarray] = {}
        self.occs = np.zeros(model.trans_model.num_pdfs)

    def realign(self, beam: float, retry_beam: float) -> None:
        tm, am = self.model.trans_model, self.model.am
        tid2pdf = tm.tid_info()["pdf"]
        cost = transition_costs(tm, self.transition_scale, self.self_loop_scale)
        off = boost_offsets(tm, self.boost_phones, self.boost)
        alis, failed, tot_like, frames = {}, [], 0.0, 0
        for utt, g in self.graphs.items():
            ll = estimate.pdf_log_likelihoods(am, self.feats[utt])
            if off is not None:
                ll += off
            ali, like = align(g, ll, tid2pdf, cost, utt, beam, retry_beam, self.acoustic_scale)
            if ali is None:
                failed.append(utt)
                continue
            alis[utt] = ali
            tot_like += like
            frames += len(ali)
        if failed:
            log.warning("alignment failed for %d utterances (e.g. %s)", len(failed), failed[0])
        if not alis:
            raise DgmmError("alignment failed for every utterance")
        log.info("aligned %d utterances, average log-likelihood per frame %.4f over %d frames",
                 len(alis), tot_like / max(frames, 1), frames)
        self.alis = alis

    def estimate(self, mix_up: int = 0, power: float = 0.25, min_gaussian_occupancy: float = 10.0,
                 seed: int = 0) -> None:
        """One ``gmm-acc-stats-ali`` + ``gmm-est [--mix-up]`` pass over the current alignments."""
        tm, am = self.model.trans_model, self.model.am
        tid2pdf = tm.tid_info()["pdf"]
        utts = [u for u in self.alis]
        ali = np.concatenate([self.alis[u] for u in utts])
        x = np.concatenate([self.feats[u] for u in utts])
        stats = estimate.accumulate(am, x, tid2pdf[ali])
        tid_counts = np.bincount(ali, minlength=tm.num_transition_ids + 1).astype(np.float64)
        new_tm = estimate.update_transitions(tm, tid_counts)
        new_am = estimate.update_gmms(am, stats, min_gaussian_occupancy=min_gaussian_occupancy)
        self.occs = stats.pdf_occs
        if mix_up:
            new_am = estimate.mix_up(new_am, self.occs, mix_up, power, seed=seed)
        log.info("avg like per frame %.4f over %d frames; %d Gaussians", stats.tot_like / len(ali),
                 len(ali), new_am.num_gauss)
        self.model = GmmModel(new_tm, new_am)


def compile_graphs(lang: Lang, khg_tm, khg_tree, texts: dict[str, list[str]]) -> dict[str, Graph]:
    """``compile-train-graphs`` (transition and self-loop scales 0) for every transcript."""
    gc = khg.TrainingGraphCompiler(trans_model=khg_tm, ctx_dep=khg_tree, lex_fst=lang.L,
                                   disambig_syms=lang.disambig,
                                   opts=khg.TrainingGraphCompilerOptions(transition_scale=0.0,
                                                                         self_loop_scale=0.0))
    return {utt: Graph.from_fst(gc.compile_graph_from_text(lang.word_ids(utt, words)))
            for utt, words in texts.items()}


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
