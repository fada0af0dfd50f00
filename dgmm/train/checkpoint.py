"""Atomic training checkpoints: everything a killed run needs to continue bit for bit.

One file, ``<exp>/checkpoint.pt``, written to a temporary name and renamed (a kill leaves either the
previous or the new checkpoint, never half of one). It holds: model and optimizer state, the best
model/optimizer so far (newbob restores it on a rejected epoch), the schedule's state, the RNG
states of every rank (torch, numpy, python), the data position (epoch, next batch, global step,
this epoch's partial train sums), the metrics history, the training options and the data options
that change the features (a resumed run refuses other values), and the train/CV split
(``split_fingerprint`` plus the CV ids: a resumed run refuses another split). Loaded with ``weights_only=True``.
"""

from __future__ import annotations

import os
import pickle
import random
from pathlib import Path

import numpy as np
import torch

from dgmm.fileutil import atomic_path


def rng_state() -> dict:
    """RNG states of torch (CPU, and CUDA when used), numpy and python, as tensors / plain types."""
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *map(float, np_state[2:])],
        "python": _py_state_to_plain(random.getstate()),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    name, keys, pos, gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), int(pos), int(gauss), float(cached)))
    random.setstate((state["python"][0], tuple(state["python"][1]), state["python"][2]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def _py_state_to_plain(st):
    return [st[0], list(st[1]), st[2]]


def save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """torch.save ``state`` to ``path`` atomically (temp file + fsync + rename)."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | os.PathLike) -> dict | None:
    """The checkpoint at ``path``, or None when there is none."""
    p = Path(path)
    if not p.exists():
        return None
    try:   # weights_only: tensors and plain values, never pickled code
        return torch.load(p, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError) as e:
        raise ValueError(f"{p}: not a readable training checkpoint ({str(e).splitlines()[0][:200]}); "
                         f"remove it (or use --resume false) to start over") from None
