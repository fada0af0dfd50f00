"""Kaldi's ``TransitionModel`` (src/hmm/transition-model.cc), read from the start of any ``final.mdl``.

Every Kaldi acoustic model file (GMM ``gmm-est`` output, nnet2/nnet3/chain models) begins with a
``<TransitionModel>`` object: the HMM topology, one *tuple* per transition-state ``(phone, hmm_state,
forward_pdf, self_loop_pdf)`` and the transition log-probabilities. Transition-ids are numbered from 1 by
walking the tuples in order and giving each the consecutive ids of the transitions out of its HMM state.
This module reads that object (binary or text) and derives, as numpy lookup tables indexed by
transition-id, what ``ali-to-pdf`` / ``ali-to-phones`` / ``show-alignments`` need.

Format variants handled:
  * ``<Triples>`` (HMM topologies, self-loop pdf = forward pdf) and ``<Tuples>`` (separate self-loop pdfs,
    e.g. chain models);
  * topology in text (``<PdfClass>`` or ``<ForwardPdfClass>``/``<SelfLoopPdfClass>``) and binary (a leading
    entry count of -1 marks the variant with self-loop pdf-classes).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

import numpy as np

from dgmm.kaldi import gmm_model
from dgmm.kaldi.gmm_model import HmmState, HmmTopology  # noqa: F401  (part of this module's interface)


@dataclass
class TransitionModel:
    """A Kaldi transition model with its transition-id lookup tables.

    Arrays indexed by transition-id have ``num_transition_ids + 1`` entries; entry 0 is unused
    (transition-ids start at 1) and holds -1 (``False`` for booleans, 0 for ``log_probs``).

    Attributes:
        tuples: ``[num_transition_states, 4]`` int32 (phone, hmm_state, forward_pdf, self_loop_pdf);
            transition-state ``s`` (1-based) is ``tuples[s - 1]``.
        log_probs: ``[T + 1]`` float32 transition log-probabilities.
        num_pdfs: 1 + the largest pdf-id in the tuples (Kaldi's ``TransitionModel::NumPdfs``).
        tid2pdf: ``[T + 1]`` int32 pdf-id (``TransitionIdToPdf``: self-loops map to the self-loop pdf).
        tid2phone, tid2hmm_state: ``[T + 1]`` int32.
        tid2tuple: ``[T + 1]`` int32 index into ``tuples`` (= transition-state - 1).
        tid2trans_index: ``[T + 1]`` int32 index of the transition within its HMM state.
        tid_is_self_loop: ``[T + 1]`` bool (``IsSelfLoop``).
        tid_is_final: ``[T + 1]`` bool, the transition enters the final state of the phone (``IsFinal``).
    """

    topology: HmmTopology
    tuples: np.ndarray
    log_probs: np.ndarray
    num_pdfs: int
    tid2pdf: np.ndarray
    tid2phone: np.ndarray
    tid2hmm_state: np.ndarray
    tid_is_self_loop: np.ndarray
    tid2tuple: np.ndarray
    tid2trans_index: np.ndarray
    tid_is_final: np.ndarray

    @property
    def num_transition_ids(self) -> int:
        return len(self.tid2pdf) - 1

    @property
    def num_transition_states(self) -> int:
        return len(self.tuples)

    @property
    def num_phones(self) -> int:
        """Largest phone id in the tuples (Kaldi's ``NumPhones``)."""
        return int(self.tuples[:, 0].max()) if len(self.tuples) else 0

    @classmethod
    def from_parts(cls, topology: HmmTopology, tuples: np.ndarray, log_probs: np.ndarray,
                   name: str = "transition model") -> "TransitionModel":
        """Derive the lookup tables as Kaldi's ``ComputeDerived`` does; ``name`` is used in errors."""
        tuples = np.asarray(tuples, dtype=np.int32).reshape(-1, 4)
        dest_lists = []   # per transition-state: destination HMM state of each of its transitions
        entry_len = []    # per transition-state: number of states of its phone's topology entry
        for i, (phone, hmm_state, _, _) in enumerate(tuples):
            try:
                entry = topology.entry(int(phone))
            except KeyError as e:
                raise ValueError(f"{name}: transition-state {i + 1}: {e.args[0]}") from None
            if not 0 <= hmm_state < len(entry):
                raise ValueError(f"{name}: transition-state {i + 1}: HMM state {hmm_state} out of range "
                                 f"for phone {phone}")
            dest_lists.append([d for d, _ in entry[hmm_state].transitions])
            entry_len.append(len(entry))
        counts = np.array([len(d) for d in dest_lists], dtype=np.int64)
        num_tids = int(counts.sum())
        tstate = np.repeat(np.arange(len(tuples), dtype=np.int32), counts)   # 0-based, for tids 1..T
        first_tid = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        trans_index = (np.arange(num_tids) - np.repeat(first_tid, counts)).astype(np.int32)
        dest = np.array([d for ds in dest_lists for d in ds], dtype=np.int32)
        t = tuples[tstate]
        is_self_loop = dest == t[:, 1]
        pdf = np.where(is_self_loop, t[:, 3], t[:, 2]).astype(np.int32)
        is_final = dest + 1 == np.asarray(entry_len, dtype=np.int32)[tstate]

        log_probs = np.asarray(log_probs, dtype=np.float32)
        if len(log_probs) != num_tids + 1:
            raise ValueError(f"{name}: {len(log_probs)} log-probs for {num_tids} transition-ids "
                             f"(expected {num_tids + 1}, entry 0 unused)")

        def with_zero(a, fill):
            return np.concatenate([np.array([fill], dtype=a.dtype), a])

        num_pdfs = int(tuples[:, 2:].max()) + 1 if len(tuples) else 0
        return cls(topology=topology, tuples=tuples, log_probs=log_probs, num_pdfs=num_pdfs,
                   tid2pdf=with_zero(pdf, -1), tid2phone=with_zero(t[:, 0].astype(np.int32), -1),
                   tid2hmm_state=with_zero(t[:, 1].astype(np.int32), -1),
                   tid_is_self_loop=with_zero(is_self_loop, False), tid2tuple=with_zero(tstate, -1),
                   tid2trans_index=with_zero(trans_index, -1), tid_is_final=with_zero(is_final, False))


def read_transition_model(path: str | os.PathLike) -> TransitionModel:
    """Read the transition model at the start of a Kaldi model file (``final.mdl`` of any kind, or
    ``copy-transition-model`` output), binary or text. Raises ``ValueError`` naming the file.

    Parsing is :func:`dgmm.kaldi.gmm_model.read_transition_model` (one parser of the format in dgmm);
    this module adds the transition-id lookup tables.
    """
    with open(path, "rb") as f:
        head = f.read(64)
    if not (head.startswith(b"\0B<TransitionModel>") or head.lstrip().startswith(b"<TransitionModel>")):
        raise ValueError(f"{path}: not a Kaldi model file: it does not start with <TransitionModel> "
                         f"(starts {head[:30]!r})")
    try:
        parts = gmm_model.read_transition_model(path)
    except (struct.error, IndexError) as e:   # the parser runs off the end of a truncated file
        raise ValueError(f"{path}: truncated or corrupt model file ({e})") from None
    return TransitionModel.from_parts(parts.topo, parts.tuples, parts.log_probs, name=str(path))
