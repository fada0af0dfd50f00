"""Training graphs, Viterbi forced alignment and alignment archives (Kaldi's ``compile-train-graphs``,
``align-equal-compiled``, ``gmm-align-compiled``, ``ali.JOB.gz``).

A training graph is stored without transition probabilities (Kaldi compiles them with
``--transition-scale=0 --self-loop-scale=0``): its arcs keep only the lexicon weights, and the current
model's transition log-probs are added at alignment time (``--transition-scale=1.0
--self-loop-scale=0.1``), exactly as ``gmm-align-compiled`` does. Input labels are transition-ids,
output labels word-ids. The alignment search is the k2-fsa port of Kaldi's aligner
(``align_utterance_wrapper``) fed with a pre-scaled [T, num_tids] log-likelihood matrix.
"""

from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass

import numpy as np

from dgmm.fileutil import atomic_open
from dgmm.kaldi.gmm_model import TransitionModel
from dgmm.kaldi.ports import kaldifst, khg


@dataclass
class Graph:
    """An FST as arrays: arcs (src, dst, ilabel, olabel, weight) and final states (state, weight)."""

    src: np.ndarray
    dst: np.ndarray
    ilabel: np.ndarray
    olabel: np.ndarray
    weight: np.ndarray
    final_state: np.ndarray
    final_weight: np.ndarray

    @classmethod
    def from_fst(cls, fst) -> "Graph":
        arcs, finals = [], []
        for line in fst.to_str().splitlines():
            f = line.split()
            if len(f) >= 4:
                arcs.append((int(f[0]), int(f[1]), int(f[2]), int(f[3]), float(f[4]) if len(f) > 4 else 0.0))
            elif f:
                finals.append((int(f[0]), float(f[1]) if len(f) > 1 else 0.0))
        a = np.array(arcs, np.float64).reshape(-1, 5)
        fi = np.array(finals, np.float64).reshape(-1, 2)
        return cls(a[:, 0].astype(np.int32), a[:, 1].astype(np.int32), a[:, 2].astype(np.int32),
                   a[:, 3].astype(np.int32), a[:, 4], fi[:, 0].astype(np.int32), fi[:, 1])

    def to_fst(self, tid_cost: np.ndarray | None = None, ilabels: np.ndarray | None = None):
        """A kaldifst StdVectorFst; ``tid_cost`` [num_tids+1] is added to arcs by input label, and
        ``ilabels`` (one per arc) replaces the input labels when given."""
        w = self.weight if tid_cost is None else self.weight + tid_cost[self.ilabel]
        il = self.ilabel if ilabels is None else ilabels
        lines = [f"{s} {d} {i} {o} {c:.7g}" for s, d, i, o, c in
                 zip(self.src.tolist(), self.dst.tolist(), il.tolist(), self.olabel.tolist(), w.tolist())]
        lines += [f"{s} {c:.7g}" for s, c in zip(self.final_state.tolist(), self.final_weight.tolist())]
        return kaldifst.compile(s="\n".join(lines) + "\n", acceptor=False)


def transition_costs(tm: TransitionModel, transition_scale: float = 1.0,
                     self_loop_scale: float = 0.1) -> np.ndarray:
    """Cost (negated scaled log-prob) to add per transition-id [num_tids+1], as Kaldi's
    ``AddTransitionProbs``: self-loops ``self_loop_scale * log p``; other transitions
    ``transition_scale * log p(ignoring self-loops) + self_loop_scale * log(1 - p(self-loop))``."""
    info = tm.tid_info()
    lp = tm.log_probs.astype(np.float64)
    n_states = len(tm.tuples)
    self_lp = np.full(n_states + 1, -np.inf)
    sl = np.nonzero(info["is_self_loop"])[0]
    self_lp[info["transition_state"][sl]] = lp[sl]
    non_self = np.log1p(-np.minimum(np.exp(self_lp), 1 - 1e-10))  # log(1 - p_self); 0 without self-loop
    ns = non_self[info["transition_state"]]
    cost = -(transition_scale * (lp - ns) + self_loop_scale * ns)
    cost[info["is_self_loop"]] = -self_loop_scale * lp[info["is_self_loop"]]
    cost[0] = 0.0
    return cost


def equal_align(graph: Graph, num_frames: int, seed: int = 0) -> np.ndarray | None:
    """``align-equal-compiled``: a random path of exactly ``num_frames`` transition-ids, or None."""
    ok, path = kaldifst.equal_align(ifst=graph.to_fst(), length=num_frames, rand_seed=seed)
    if not ok:
        return None
    ok, ilabels, _, _ = kaldifst.get_linear_symbol_sequence(path)
    ali = np.array([i for i in ilabels if i != 0], np.int32)
    return ali if len(ali) == num_frames else None


def align(graph: Graph, pdf_loglikes: np.ndarray, tid2pdf: np.ndarray, tid_cost: np.ndarray,
          utt: str, beam: float = 10.0, retry_beam: float = 40.0,
          acoustic_scale: float = 0.1) -> tuple[np.ndarray | None, float]:
    """Viterbi forced alignment (``gmm-align-compiled``): returns (transition-ids [T] or None, log-like).

    ``pdf_loglikes`` [T, num_pdfs]; ``tid2pdf`` [num_tids+1]. Retries with ``retry_beam`` as Kaldi.
    """
    # the graph's transition-ids are renumbered 1..K so that the [T, K] score matrix holds only them
    tids, local = np.unique(graph.ilabel, return_inverse=True)  # tids[0] == 0 (epsilon) when present
    if tids[0] != 0:
        tids, local = np.concatenate([[0], tids]), local + 1
    m = np.ascontiguousarray(acoustic_scale * pdf_loglikes[:, tid2pdf[tids[1:]]], np.float32)
    fst = graph.to_fst(tid_cost, local.reshape(-1))
    cfg = khg.AlignConfig(beam=beam, retry_beam=retry_beam)
    res = khg.align_utterance_wrapper(config=cfg, utt=utt, acoustic_scale=acoustic_scale, fst=fst,
                                      decodable=khg.DecodableCtc(m), num_done=0, num_error=0,
                                      num_retried=0, tot_like=0.0, frame_count=0)
    ali = tids[np.asarray(res[5], np.int64)].astype(np.int32)
    if len(ali) != len(pdf_loglikes):
        return None, 0.0
    return ali, float(res[3])


def write_alignments(path: str | os.PathLike, alis: dict[str, np.ndarray], binary: bool = True) -> None:
    """Write a gzip'd Kaldi int32-vector archive (``ark:|gzip -c > ali.JOB.gz``; ``binary=False``
    for Kaldi's ``ark,t:`` form ``utt tid tid ...``), atomically."""
    # no file name in the gzip header (it would be the temporary's, with a pid), as `gzip -c >`
    with atomic_open(path, "wb") as raw, gzip.GzipFile("", fileobj=raw, mode="wb", mtime=0) as f:
        for utt, ali in alis.items():
            a = np.asarray(ali, "<i4")
            if binary:
                body = np.empty((len(a), 5), np.uint8)
                body[:, 0] = 4
                body[:, 1:] = a.view(np.uint8).reshape(-1, 4)
                f.write(utt.encode() + b" \0B\x04" + struct.pack("<i", len(a)) + body.tobytes())
            else:
                f.write((utt + " " + " ".join(map(str, a.tolist())) + " \n").encode())
