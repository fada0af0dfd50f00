"""The loop shared by monophone and triphone training and ``align_si``: Viterbi realignment with
the current model, statistics accumulation and re-estimation (``gmm-align-compiled``,
``gmm-acc-stats-ali``, ``gmm-est [--mix-up]``), all in memory.
"""

from __future__ import annotations

import logging

import numpy as np

from dgmm.cli import DgmmError
from dgmm.gmm import estimate
from dgmm.gmm.align import Graph, align, transition_costs
from dgmm.kaldi.gmm_model import GmmModel, TransitionModel

log = logging.getLogger(__name__)


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
        gmms = estimate.StackedGmms(am)
        for utt, g in self.graphs.items():
            # only the pdfs on this utterance's graph are ever looked at by the aligner
            used = np.unique(tid2pdf[g.ilabel[g.ilabel > 0]])
            ll = gmms.log_likelihoods(self.feats[utt], used)
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
