"""GMM-HMM decoding with an HCLG graph (Kaldi's ``gmm-latgen-faster`` best path).

Per-pdf log-likelihoods come from our own evaluation of the ``final.mdl`` GMMs
(``estimate.pdf_log_likelihoods`` = ``gmm-compute-likes``); the search is the mapped decoder of
:mod:`dgmm.decode.decoder` (Kaldi's LatticeFasterDecoder via the pip port), so the result equals
``gmm-latgen-faster ... | lattice-best-path``. Works for any Kaldi GMM model and graph (monophone or
triphone), as it needs no Kaldi tree object.
"""

from __future__ import annotations

import numpy as np

from dgmm.decode.decoder import DecodeResult, DecoderConfig, MappedDecoder
from dgmm.gmm.estimate import pdf_log_likelihoods
from dgmm.kaldi.gmm_model import GmmModel


class GmmDecoder:
    """``GmmDecoder(model, hclg)(utt, feats [T, D], acwt)`` -> DecodeResult (word-ids, transition-ids)."""

    def __init__(self, model: GmmModel, hclg, config: DecoderConfig | None = None):
        self.model = model
        self._dec = MappedDecoder(hclg, model.trans_model.tid_info()["pdf"], config)

    def __call__(self, utt: str, feats: np.ndarray, acwt: float = 0.083333) -> DecodeResult:
        if feats.shape[1] != self.model.am.dim:
            raise ValueError(f"utterance {utt}: features have dimension {feats.shape[1]}, the model "
                             f"expects {self.model.am.dim}")
        return self._dec.decode(utt, pdf_log_likelihoods(self.model.am, feats), acwt)
