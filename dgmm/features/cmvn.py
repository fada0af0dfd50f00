"""Cepstral mean and variance normalisation with Kaldi's statistics layout and arithmetic.

Statistics are a float64 matrix [2, D+1] (``compute-cmvn-stats``): row 0 = per-dimension sums of the
frames with the frame count in the last column, row 1 = per-dimension sums of squares and 0.
``apply_cmvn`` follows ``apply-cmvn`` (transform/cmvn.cc): offset and scale computed in double, stored
and applied in float32, variance floored at 1e-20.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import kaldiio
import numpy as np

from dgmm.cli import DgmmError
from dgmm.kaldi.tables import read_table

VAR_FLOOR = 1.0e-20


def compute_cmvn_stats(feats_list: Iterable[np.ndarray]) -> np.ndarray:
    """Accumulate CMVN statistics over utterances, each [T, D] float32 -> [2, D+1] float64.

    As Kaldi's AccCmvnStats, each frame's square is formed in float32 before the double sum.
    """
    stats = None
    for feats in feats_list:
        x = np.asarray(feats, dtype=np.float32)
        if x.ndim != 2:
            raise ValueError(f"features must be [frames, dim], got shape {x.shape}")
        if stats is None:
            stats = np.zeros((2, x.shape[1] + 1), np.float64)
        elif x.shape[1] != stats.shape[1] - 1:
            raise ValueError(f"feature dim {x.shape[1]} differs from earlier utterances ({stats.shape[1] - 1})")
        stats[0, :-1] += x.sum(axis=0, dtype=np.float64)
        stats[1, :-1] += (x * x).sum(axis=0, dtype=np.float64)
        stats[0, -1] += x.shape[0]
    if stats is None:
        raise ValueError("no features to accumulate CMVN statistics from")
    return stats


def fake_cmvn_stats(dim: int) -> np.ndarray:
    """Stats that leave features unchanged (mean 0, variance 1, count 1), as ``compute_cmvn_stats.sh --fake``."""
    stats = np.zeros((2, dim + 1), np.float64)
    stats[0, dim] = 1.0
    stats[1, :dim] = 1.0
    return stats


def apply_cmvn(feats: np.ndarray, stats: np.ndarray, norm_vars: bool = False) -> np.ndarray:
    """Normalise ``feats`` [T, D] with ``stats`` [2, D+1] -> [T, D] float32, as Kaldi's ``apply-cmvn``.

    Mean only by default (``--norm-vars=false``); with ``norm_vars`` also to unit variance, the
    variance floored at 1e-20. Raises ``ValueError`` for a count below 1 or a dimension mismatch.
    """
    stats = np.asarray(stats, dtype=np.float64)
    feats = np.asarray(feats, dtype=np.float32)
    dim = stats.shape[1] - 1
    if stats.shape[0] != 2 or feats.ndim != 2 or feats.shape[1] != dim:
        raise ValueError(f"dim mismatch in apply_cmvn: cmvn {stats.shape}, feats {feats.shape}")
    count = stats[0, dim]
    if count < 1.0:
        raise ValueError(f"insufficient stats for cepstral mean and variance normalization: count = {count}")
    mean = stats[0, :dim] / count
    if not norm_vars:
        return feats + (-mean).astype(np.float32)
    var = np.maximum(stats[1, :dim] / count - mean * mean, VAR_FLOOR)
    scale = 1.0 / np.sqrt(var)
    offset = -(mean * scale)
    return (offset.astype(np.float32) + feats * scale.astype(np.float32)).astype(np.float32, copy=False)


def load_cmvn_for_utts(data_dir: str | os.PathLike) -> dict[str, np.ndarray]:
    """Utterance -> its CMVN stats [2, D+1] from ``<data>/cmvn.scp``, as ``apply-cmvn`` finds them.

    cmvn.scp keyed by speaker (the default of compute_cmvn_stats.sh, also for ``--global``, which
    writes the same stats under every speaker) is mapped through ``utt2spk``; keyed by utterance it is
    used directly; a cmvn.scp with a single entry that is neither (e.g. ``global``) applies to every
    utterance, like a matrix given to ``apply-cmvn`` as a plain file. Each distinct matrix is loaded
    once and shared.
    """
    d = Path(data_dir)
    scp, u2s = d / "cmvn.scp", d / "utt2spk"
    for p in (scp, u2s):
        if not p.exists():
            raise DgmmError(f"{p}: missing")
    entries = read_table(scp)
    utt2spk = read_table(u2s)
    cache: dict[str, np.ndarray] = {}

    def load(key: str) -> np.ndarray:
        loc = entries[key]
        if loc not in cache:
            cache[loc] = np.asarray(kaldiio.load_mat(loc), dtype=np.float64)
        return cache[loc]

    out = {}
    for utt, spk in utt2spk.items():
        if spk in entries:
            out[utt] = load(spk)
        elif utt in entries:
            out[utt] = load(utt)
        elif len(entries) == 1:
            out[utt] = load(next(iter(entries)))
        else:
            raise DgmmError(f"{scp}: no CMVN stats for utterance {utt} (speaker {spk})")
    return out
