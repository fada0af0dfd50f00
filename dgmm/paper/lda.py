"""Linear discriminant analysis on spliced features from pdf alignments (Table 2's engineered features).

Our stand-in for the paper's PLP+LDA front end, like Kaldi's ``acc-lda`` + ``est-lda``: classes are
the tied states, the transform maximises between-class over within-class scatter, and its rows are
scaled so that the within-class covariance of the output is the identity. The global mean is
removed (Kaldi's LDA matrix has the offset as an extra column), so outputs are zero-mean.
"""

from __future__ import annotations

import numpy as np
import torch

from dgmm.data.frames import FrameSet, iter_batches


def lda_stats(data: FrameSet, left: int, right: int, batch_size: int = 8192):
    """Per-class counts [S], sums [S, D] and total scatter [D, D] (float64) of spliced frames."""
    S = data.num_pdfs
    counts = torch.zeros(S, dtype=torch.float64)
    sums = scatter = None
    for frames, _ in iter_batches(torch.arange(len(data)), batch_size):
        x, y = data.gather(frames, left, right)
        x = x.double()
        if sums is None:
            sums = torch.zeros(S, x.shape[1], dtype=torch.float64)
            scatter = torch.zeros(x.shape[1], x.shape[1], dtype=torch.float64)
        counts.index_add_(0, y, torch.ones_like(y, dtype=torch.float64))
        sums.index_add_(0, y, x)
        scatter += x.T @ x
    return counts.numpy(), sums.numpy(), scatter.numpy()


def estimate_lda(counts: np.ndarray, sums: np.ndarray, scatter: np.ndarray, dim: int,
                 floor: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """(W [dim, D], mean [D]): y = W (x - mean), with W Sw W^T = I and W Sb W^T diagonal, decreasing.

    Sw, Sb: within- and between-class covariances. Sw's eigenvalues are floored at ``floor`` times
    the largest (spliced features are strongly correlated), as est-lda smooths its within-class
    covariance.
    """
    n = counts.sum()
    D = sums.shape[1]
    if not 1 <= dim <= D:
        raise ValueError(f"LDA dimension must be in [1, {D}], got {dim}")
    mean = sums.sum(0) / n
    seen = counts > 0
    class_means = sums[seen] / counts[seen, None]
    total = scatter / n - np.outer(mean, mean)
    between = (counts[seen, None] * (class_means - mean)).T @ (class_means - mean) / n
    within = total - between
    # whiten the within-class covariance, then diagonalise the between-class one in that space
    e, V = np.linalg.eigh((within + within.T) / 2)
    e = np.maximum(e, floor * e.max())
    whiten = (V / np.sqrt(e)).T                      # whiten @ within @ whiten.T = I
    b = whiten @ between @ whiten.T
    eb, U = np.linalg.eigh((b + b.T) / 2)
    order = np.argsort(eb)[::-1][:dim]
    return U[:, order].T @ whiten, mean


def apply_lda(spliced: np.ndarray, W: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """[T, D] spliced frames -> [T, dim] float32 LDA features."""
    return ((spliced - mean) @ W.T).astype(np.float32)
