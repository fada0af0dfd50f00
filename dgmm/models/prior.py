"""State priors log p(s): the paper's online prior module (Fig. 2, top) and Kaldi-style count priors."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn
import torch.nn.functional as F


class OnlinePrior(nn.Module):
    """A learned vector of logits, log p(s) = log_softmax(logits), trained by cross-entropy
    against the frame labels alongside the network (initialised uniform)."""

    def __init__(self, num_states: int):
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(num_states))

    def forward(self) -> Tensor:
        """[S] log p(s)."""
        return F.log_softmax(self.logits, dim=0)

    def loss(self, y: Tensor) -> Tensor:
        """Mean cross-entropy -log p(y_b) of the labels y [B] under the prior (its own training signal)."""
        return -self.forward()[y].mean()


class CountPrior(nn.Module):
    """A fixed log p(s) from frame counts (buffer ``log_prior`` [S]; set with ``set_counts``)."""

    def __init__(self, num_states: int):
        super().__init__()
        self.register_buffer("log_prior", torch.full((num_states,), -float(np.log(num_states))))

    def set_counts(self, pdf_counts: np.ndarray, floor: float = 1.0) -> None:
        self.log_prior.copy_(count_prior(pdf_counts, floor).to(self.log_prior))

    def forward(self) -> Tensor:
        return self.log_prior


def count_prior(pdf_counts: np.ndarray, floor: float = 1.0) -> Tensor:
    """log p(s) from per-pdf frame counts (Kaldi's ``ali-to-pdf | analyze-counts`` output), [S] float32.

    Counts below ``floor`` (a frame count; default 1, i.e. an unseen pdf counts as seen once) are
    raised to it before normalising, so an unseen or negative-count pdf gets a finite, small log prior
    and never produces -inf or NaN downstream. (Kaldi nnet1's ``--prior-cutoff`` instead disables
    such pdfs in decoding; a decoder that wants that can test ``pdf_counts < floor`` itself.)
    """
    c = np.asarray(pdf_counts, dtype=np.float64).reshape(-1)
    if c.size == 0:
        raise ValueError("count_prior: empty pdf_counts")
    if not np.all(np.isfinite(c)):
        raise ValueError("count_prior: pdf_counts contains inf or NaN")
    if not floor > 0:
        raise ValueError(f"count_prior: floor must be > 0, got {floor}")
    c = np.maximum(c, floor)
    return torch.from_numpy(np.log(c) - np.log(c.sum())).float()
