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
from dataclasses import dataclass, field

import numpy as np

from dgmm.kaldi.binary import ObjectReader

NO_PDF = -1  # Kaldi's kNoPdf: a non-emitting HMM state


@dataclass
class HmmState:
    """One state of a topology entry; ``transitions`` are ``(destination_state, probability)``."""

    forward_pdf_class: int
    self_loop_pdf_class: int
    transitions: list[tuple[int, float]] = field(default_factory=list)

    @property
    def pdf_class(self) -> int:
        """The pdf-class of an ordinary HMM state (forward and self-loop pdf-classes equal)."""
        return self.forward_pdf_class


@dataclass
class HmmTopology:
    """Kaldi ``HmmTopology``: ``entries[phone2idx[phone]]`` is the list of :class:`HmmState` of ``phone``.

    ``phones`` is sorted; ``phone2idx`` is -1 for phones without a topology (e.g. <eps>, disambig).
    The last state of every entry is the non-emitting final state.
    """

    phones: list[int]
    phone2idx: list[int]
    entries: list[list[HmmState]]

    def topology_for_phone(self, phone: int) -> list[HmmState]:
        if not 0 <= phone < len(self.phone2idx) or self.phone2idx[phone] < 0:
            raise ValueError(f"phone {phone} has no entry in the HMM topology")
        return self.entries[self.phone2idx[phone]]

    @property
    def is_hmm(self) -> bool:
        """True when no state has a separate self-loop pdf-class (Kaldi's ``IsHmm``)."""
        return all(s.forward_pdf_class == s.self_loop_pdf_class for e in self.entries for s in e)


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
        dest_lists = []  # per transition-state: destination HMM state of each transition
        for i, (phone, hmm_state, _, _) in enumerate(tuples):
            try:
                entry = topology.topology_for_phone(int(phone))
            except ValueError as e:
                raise ValueError(f"{name}: tuple {i}: {e}") from None
            if not 0 <= hmm_state < len(entry):
                raise ValueError(f"{name}: tuple {i}: HMM state {hmm_state} out of range for phone {phone}")
            dest_lists.append([d for d, _ in entry[hmm_state].transitions])
        counts = np.array([len(d) for d in dest_lists], dtype=np.int64)
        num_tids = int(counts.sum())
        tstate = np.repeat(np.arange(len(tuples), dtype=np.int32), counts)   # 0-based, per tid-1
        first_tid = np.concatenate([[0], np.cumsum(counts)[:-1]]) if len(counts) else counts
        trans_index = (np.arange(num_tids) - np.repeat(first_tid, counts)).astype(np.int32)
        dest = np.array([d for ds in dest_lists for d in ds], dtype=np.int32)
        t = tuples[tstate]
        is_self_loop = dest == t[:, 1]
        pdf = np.where(is_self_loop, t[:, 3], t[:, 2]).astype(np.int32)
        num_states = np.array([len(topology.topology_for_phone(int(p))) for p in t[:, 0]], dtype=np.int32)
        is_final = dest + 1 == num_states

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


def _read_topology(r: ObjectReader) -> HmmTopology:
    r.expect_token("<Topology>")
    if r.binary:
        phones = r.read_int_vector().tolist()
        phone2idx = r.read_int_vector().tolist()
        n = r.read_int()
        separate_self_loop = n == -1   # marker of the <ForwardPdfClass>/<SelfLoopPdfClass> variant
        if separate_self_loop:
            n = r.read_int()
        entries = []
        for _ in range(n):
            states = []
            for _ in range(r.read_int()):
                fwd = r.read_int()
                loop = r.read_int() if separate_self_loop else fwd
                st = HmmState(fwd, loop)
                for _ in range(r.read_int()):
                    st.transitions.append((r.read_int(), r.read_float()))
                states.append(st)
            entries.append(states)
        r.expect_token("</Topology>")
    else:
        phones, phone2idx, entries = [], [], []
        while (tok := r.read_token()) != "</Topology>":
            if tok != "<TopologyEntry>":
                r.fail(f"expected <TopologyEntry> or </Topology>, got {tok!r}")
            r.expect_token("<ForPhones>")
            entry_phones = []
            while (tok := r.read_token()) != "</ForPhones>":
                try:
                    entry_phones.append(int(tok))
                except ValueError:
                    r.fail(f"expected a phone id in <ForPhones>, got {tok!r}")
            states: list[HmmState] = []
            tok = r.read_token()
            while tok != "</TopologyEntry>":
                if tok != "<State>":
                    r.fail(f"expected <State> or </TopologyEntry>, got {tok!r}")
                if r.read_int() != len(states):
                    r.fail(f"HMM states must be numbered in order from 0 (expected {len(states)})")
                tok = r.read_token()
                fwd = loop = NO_PDF
                if tok == "<PdfClass>":
                    fwd = loop = r.read_int()
                    tok = r.read_token()
                elif tok == "<ForwardPdfClass>":
                    fwd = r.read_int()
                    r.expect_token("<SelfLoopPdfClass>")
                    loop = r.read_int()
                    tok = r.read_token()
                st = HmmState(fwd, loop)
                while tok == "<Transition>":
                    st.transitions.append((r.read_int(), r.read_float()))
                    tok = r.read_token()
                if tok != "</State>":
                    r.fail(f"expected <Transition> or </State>, got {tok!r}")
                states.append(st)
                tok = r.read_token()
            for p in entry_phones:
                if p >= len(phone2idx):
                    phone2idx.extend([-1] * (p + 1 - len(phone2idx)))
                if phone2idx[p] != -1:
                    r.fail(f"phone {p} appears in more than one topology entry")
                phone2idx[p] = len(entries)
                phones.append(p)
            entries.append(states)
        phones.sort()
    for i, e in enumerate(entries):
        if len(e) < 2 or e[-1].transitions or e[-1].forward_pdf_class != NO_PDF:
            r.fail(f"topology entry {i}: needs an emitting state and a final state without transitions")
    return HmmTopology(phones=phones, phone2idx=phone2idx, entries=entries)


def read_transition_model_from(r: ObjectReader) -> TransitionModel:
    """Read a ``<TransitionModel>`` object at the reader's position (e.g. inside a larger file)."""
    r.expect_token("<TransitionModel>")
    topo = _read_topology(r)
    kind = r.read_token()
    if kind not in ("<Triples>", "<Tuples>"):
        r.fail(f"expected <Triples> or <Tuples>, got {kind!r}")
    n = r.read_int()
    width = 4 if kind == "<Tuples>" else 3
    vals = [r.read_int() for _ in range(n * width)]
    tup = np.array(vals, dtype=np.int32).reshape(n, width)
    if width == 3:
        tup = np.concatenate([tup, tup[:, 2:3]], axis=1)
    r.expect_token("</Tuples>" if kind == "<Tuples>" else "</Triples>")
    r.expect_token("<LogProbs>")
    log_probs = r.read_float_vector()
    r.expect_token("</LogProbs>")
    r.expect_token("</TransitionModel>")
    return TransitionModel.from_parts(topo, tup, log_probs, name=r.name)


def read_transition_model(path: str | os.PathLike) -> TransitionModel:
    """Read the transition model at the start of a Kaldi model file (``final.mdl``, ``*.mdl``, or
    ``copy-transition-model`` output), binary or text. Raises ``ValueError`` naming the file."""
    with ObjectReader.open(path) as r:
        if r.peek_char() != "<":
            head = r.read_token()[:40] if r.peek_char() else ""
            r.fail(f"not a Kaldi model file: expected <TransitionModel>, got {head!r}")
        return read_transition_model_from(r)
