"""Decode [T, num_pdfs] acoustic log-likelihoods with an HCLG graph, as ``latgen-faster-mapped`` does.

Kaldi's mapped decodable (``DecodableMatrixScaledMapped``) scores graph input label = transition-id
``t`` of frame ``f`` as ``acwt * loglikes[f, tid2pdf[t]]``. The pip port has no mapped decodable, so the
pdf matrix is expanded once per utterance to transition-id columns with the acoustic scale folded in,
``m[:, t-1] = acwt * loglikes[:, tid2pdf[t]]``, and handed to khg's ``DecodableCtc`` (index ``t`` reads
column ``t-1``). The search is khg's ``LatticeFasterDecoder`` (Kaldi's ``LatticeFasterDecoderTpl``, same
beam/max-active/lattice-beam pruning); its best path equals ``latgen-faster-mapped | lattice-best-path``
on the reference decodes (tests/test_decode_golden.py).

What the port cannot do: khg 1.1.4 returns only the best path, never the lattice. So LM-weight /
insertion-penalty sweeps are done by re-decoding (acwt = 1/LMWT on a graph whose word arcs carry the
penalty, see :func:`dgmm.decode.fst_io.read_fst`) rather than by rescoring a lattice; see
``steps/decode.sh``. On the FSDD/yesno references this reproduces every ``wer_LMWT_WIP`` of Kaldi's
lattice scoring (tests). Alternative checked and not used: kaldi-decoder 0.2.11's
``LatticeSimpleDecoder.get_raw_lattice()`` does return a state-level ``kaldifst.Lattice``, but the ports
have no lattice determinization (Kaldi's lat.*.gz hold determinized CompactLattices), the simple
decoder has no max-active pruning (slow on large graphs), and its best path matched
``decode-faster-mapped`` rather than ``latgen-faster-mapped`` on 3 of the 500 FSDD tri1 utterances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dgmm.kaldi.ports import khg

# khg.decode_utterance_lattice_faster requires a khg TransitionModel argument, which Kaldi's version
# uses only to determinize the lattice. khg's binding returns the best path without determinizing,
# so any transition model serves; this one-phone model is built once and never consulted.
_ONE_PHONE_TOPO = """<Topology>
<TopologyEntry>
<ForPhones> 1 </ForPhones>
<State> 0 <PdfClass> 0 <Transition> 0 0.5 <Transition> 1 0.5 </State>
<State> 1 </State>
</TopologyEntry>
</Topology>
"""
_placeholder_tm = None


def _placeholder_transition_model():
    global _placeholder_tm
    if _placeholder_tm is None:
        topo = khg.HmmTopology()
        topo.read(_ONE_PHONE_TOPO)
        tree = khg.monophone_context_dependency(phones=topo.phones,
                                                phone2num_pdf_classes=topo.get_phone_to_num_pdf_classes())
        _placeholder_tm = khg.TransitionModel(ctx_dep=tree, hmm_topo=topo)
    return _placeholder_tm


@dataclass
class DecoderConfig:
    """Options of ``latgen-faster-mapped`` (Kaldi defaults except beam/lattice-beam as steps/decode.sh)."""

    beam: float = 13.0
    max_active: int = 7000
    min_active: int = 200
    lattice_beam: float = 6.0
    allow_partial: bool = True


@dataclass
class DecodeResult:
    """``words``: word-ids of the best path; ``alignment``: its transition-id per frame;
    ``loglike``: total (acoustically scaled + graph) log-likelihood; ``ok``: a final state was reached
    (or a partial result was allowed)."""

    words: list[int]
    alignment: list[int]
    loglike: float
    ok: bool


def expand_to_transition_ids(loglikes: np.ndarray, tid2pdf: np.ndarray, acwt: float) -> np.ndarray:
    """[T, num_pdfs] pdf log-likelihoods -> float32 [T, num_tids], column ``t-1`` = acwt * pdf of tid ``t``."""
    return np.ascontiguousarray(np.float32(acwt) * loglikes[:, tid2pdf[1:]], dtype=np.float32)


class MappedDecoder:
    """One graph, one transition-id -> pdf map; decode utterance after utterance."""

    def __init__(self, graph, tid2pdf: np.ndarray, config: DecoderConfig | None = None):
        self.graph = graph  # the C++ decoder keeps a pointer to it: it must outlive the decoder
        self.config = config or DecoderConfig()
        self.tid2pdf = np.asarray(tid2pdf, dtype=np.int64)
        self.num_pdfs = int(self.tid2pdf[1:].max()) + 1
        c = self.config
        self._decoder = khg.LatticeFasterDecoder(graph, khg.LatticeFasterDecoderConfig(
            beam=c.beam, max_active=c.max_active, min_active=c.min_active, lattice_beam=c.lattice_beam))

    def decode(self, utt: str, loglikes: np.ndarray, acwt: float) -> DecodeResult:
        """Best path for one utterance; ``loglikes`` is [T, num_pdfs] (column j = pdf-id j)."""
        if loglikes.ndim != 2 or loglikes.shape[1] != self.num_pdfs:
            raise ValueError(f"utterance {utt}: log-likelihood matrix has shape {loglikes.shape}, "
                             f"the model has {self.num_pdfs} pdfs (graph/model mismatch?)")
        if loglikes.shape[0] == 0:
            return DecodeResult([], [], 0.0, False)
        mat = expand_to_transition_ids(loglikes, self.tid2pdf, acwt)
        ok, ali, words, like = khg.decode_utterance_lattice_faster(
            decoder=self._decoder, decodable=khg.DecodableCtc(mat), trans_model=_placeholder_transition_model(),
            utt=utt, allow_partial=self.config.allow_partial)
        return DecodeResult(list(words), list(ali), float(like), bool(ok) and len(ali) == loglikes.shape[0])
