"""State priors p(s) for turning network outputs into acoustic scores, three ways (steps/compute_prior.sh).

* ``counts``: frames per pdf of the training alignments (``<ali-dir>/pdf_counts``, Kaldi nnet1's
  ``ali_train_pdf.counts``), each count raised to ``count_floor`` frames first, so a pdf never seen in
  training gets a small finite prior instead of log 0 = -inf (which would make every acoustic score
  of that pdf +inf after the subtraction).
* ``posterior``: the mean of the network's posteriors p(s|x) over a random subset of training frames,
  as Kaldi nnet3 re-estimates its priors (``nnet3-am-adjust-priors``).
* ``online``: the GMM-family model's own learned prior (the paper's prior module).

Every method ends with probabilities floored at ``prob_floor`` and renormalised. The prior is written as
a Kaldi text vector of probabilities (``prior.vec``, like an nnet3 model's priors) plus ``prior_method``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from dgmm.decode.features import InputPipeline, feats_table
from dgmm.fileutil import atomic_open
from dgmm.kaldi.archive import read_vector, write_text_vector
from dgmm.models.prior import count_prior

PRIOR_FILE = "prior.vec"
METHOD_FILE = "prior_method"


def finalize(probs: np.ndarray, prob_floor: float = 1e-10) -> np.ndarray:
    """Non-negative finite ``probs`` -> floored at ``prob_floor``, renormalised to sum 1 (float64)."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 1 or p.size == 0 or not np.all(np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
        raise ValueError("prior: expected a non-empty vector of finite, non-negative values")
    p = np.maximum(p / p.sum(), prob_floor)
    return p / p.sum()


def prior_from_counts(counts: np.ndarray, count_floor: float = 1.0, prob_floor: float = 1e-10) -> np.ndarray:
    """p(s) from per-pdf frame counts, counts below ``count_floor`` raised to it (see module doc)."""
    return finalize(np.exp(count_prior(counts, count_floor).double().numpy()), prob_floor)


@torch.no_grad()
def prior_from_posteriors(model, extra: dict, data_dir: str | os.PathLike, num_frames: int = 20000,
                          seed: int = 777, prob_floor: float = 1e-10) -> tuple[np.ndarray, int]:
    """Mean of ``exp(model(x))`` over ``num_frames`` frames drawn uniformly without replacement from
    all frames of ``data_dir`` (all frames when fewer). Returns (p(s), frames used)."""
    table = feats_table(data_dir)
    utts = sorted(table.keys())
    lengths = np.array([table[u].shape[0] for u in utts], dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        raise ValueError(f"{data_dir}/feats.scp: no frames")
    take = np.sort(np.random.default_rng(seed).choice(total, size=min(num_frames, total), replace=False))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    utt_of = np.searchsorted(starts, take, side="right") - 1
    pipe = InputPipeline(extra, data_dir)
    model.eval()
    acc = torch.zeros(model.config["num_states"], dtype=torch.float64)
    for i in np.unique(utt_of):
        rows = torch.from_numpy(take[utt_of == i] - starts[i])
        x = pipe.inputs(utts[i], np.asarray(table[utts[i]]))[rows]
        acc += model(x).exp().double().sum(0)
    return finalize(acc.numpy(), prob_floor), len(take)


def online_prior(model, prob_floor: float = 1e-10) -> np.ndarray:
    """The model's learned prior exp(log_prior()); error when it has none."""
    lp = model.log_prior() if hasattr(model, "log_prior") else None
    if lp is None or model.config.get("prior") != "online":
        raise ValueError(f"model (type {model.config.get('type')}, prior {model.config.get('prior')!r}) "
                         "has no online prior; use --method counts or posterior")
    return finalize(lp.detach().double().exp().numpy(), prob_floor)


def write_prior(model_dir: str | os.PathLike, probs: np.ndarray, description: str) -> Path:
    """Write ``<model-dir>/prior.vec`` (Kaldi text vector) and ``<model-dir>/prior_method``."""
    d = Path(model_dir)
    write_text_vector(d / PRIOR_FILE, probs)
    with atomic_open(d / METHOD_FILE) as f:
        f.write(description.rstrip() + "\n")
    return d / PRIOR_FILE


def read_log_prior(path: str | os.PathLike) -> np.ndarray:
    """log p(s) from a prior vector file (probabilities); error naming the file for values <= 0."""
    p = read_vector(path)
    if p.size == 0 or not np.all(np.isfinite(p)) or np.any(p <= 0):
        raise ValueError(f"{path}: a prior must be finite and > 0 for every pdf "
                         f"(min {p.min() if p.size else 'n/a'}); recompute it with steps/compute_prior.sh")
    return np.log(p / p.sum())
