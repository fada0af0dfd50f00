"""Acoustic log-likelihood archives for a WFST decoder (``latgen-faster-mapped``'s input).

Per utterance a float32 matrix [frames, num_pdfs]; column j scores pdf-id j of the ``final.mdl`` the
training alignments came from. What a row holds:

* DNN: the scaled likelihood ``log p(s|x) - prior_scale * log p(s)`` (the hybrid recipe).
* GMM family (dgmm, shallow_gmm, dsgmm), ``gmm_output="loglik"`` (the default): the GMM layer's own
  ``log p(x|s)``. It is a true class-conditional density of the bottleneck features, which is exactly
  what a Kaldi GMM gives the decoder (``gmm-compute-likes``), and it needs no prior estimate at all.
  ``gmm_output="posterior"`` gives ``log p(s|x) - prior_scale * log p(s)`` as for the DNN; with the
  model's own prior and scale 1 it equals ``log p(x|s) - log p(x)``, i.e. the default shifted by a
  per-frame constant (same best path), so the option matters only for another prior or scale.
"""

from __future__ import annotations

import numpy as np
import torch

GMM_OUTPUTS = ("loglik", "posterior")


@torch.no_grad()
def acoustic_scores(model, x: torch.Tensor, log_prior: torch.Tensor | None = None, prior_scale: float = 1.0,
                    gmm_output: str = "loglik") -> np.ndarray:
    """x [T, input_dim] -> float32 [T, num_pdfs] acoustic log-likelihoods (see module doc).

    ``log_prior`` [S] is subtracted (times ``prior_scale``) from log-posteriors; for the GMM family it
    defaults to the model's own prior. Raises ValueError when a needed prior is missing or not finite.
    """
    if gmm_output not in GMM_OUTPUTS:
        raise ValueError(f"gmm_output must be one of {GMM_OUTPUTS}, got {gmm_output!r}")
    is_dnn = model.config["type"] == "dnn"
    if not is_dnn and gmm_output == "loglik":
        out = model.log_likelihoods(x)
    else:
        out = model(x)
        if prior_scale != 0.0:
            if log_prior is None and not is_dnn:
                log_prior = model.log_prior()
            if log_prior is None:
                raise ValueError("a prior is needed to turn posteriors into likelihoods: run "
                                 "steps/compute_prior.sh (or use --prior-scale 0)")
            if not torch.all(torch.isfinite(log_prior)):
                raise ValueError("log prior has non-finite entries")
            out = out - prior_scale * log_prior.to(out)
    return out.float().numpy()
