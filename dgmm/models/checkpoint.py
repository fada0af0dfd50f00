"""Model checkpoints: ``{"config": ..., "state_dict": ..., **extra}`` written atomically, read with
``torch.load(weights_only=True)`` (plain tensors and Python values only; no pickled code)."""

from __future__ import annotations

import os

import torch
from torch import nn

from dgmm.fileutil import atomic_path
from dgmm.models.networks import build_model


def save_model(path: str | os.PathLike, model: nn.Module, extra: dict | None = None) -> None:
    """Write ``model`` (its ``config`` and state dict) plus ``extra`` entries (e.g. epoch, optimiser
    state) to ``path``; the file appears only once it is complete."""
    extra = dict(extra or {})
    clash = {"config", "state_dict"} & set(extra)
    if clash:
        raise ValueError(f"save_model: extra may not contain {sorted(clash)}")
    obj = {"config": dict(model.config), "state_dict": model.state_dict(), **extra}
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """The raw checkpoint dict of ``path`` (config, state_dict and the extra entries)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"model file {path} does not exist")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # truncated file, not a torch file, pickled code, ...
        raise ValueError(f"model file {path} is not a readable dgmm checkpoint: {e}") from None
    if not isinstance(obj, dict) or "config" not in obj or "state_dict" not in obj:
        raise ValueError(f"model file {path} is not a dgmm checkpoint (needs 'config' and 'state_dict')")
    return obj


def load_model(path: str | os.PathLike, map_location="cpu") -> nn.Module:
    """Rebuild the model described by the checkpoint's config and load its weights (strictly)."""
    return load_model_and_extra(path, map_location)[0]


def load_model_and_extra(path: str | os.PathLike, map_location="cpu") -> tuple[nn.Module, dict]:
    """``load_model`` plus the file's ``extra`` entries (everything but config and state_dict: split,
    splice, ...), from one read of the file (paper-scale models are ~200 MB)."""
    obj = load_checkpoint(path, map_location)
    try:
        model = build_model(obj["config"])
    except ValueError as e:
        raise ValueError(f"model file {path}: bad config: {e}") from None
    try:
        model.load_state_dict(obj["state_dict"], strict=True)
    except RuntimeError as e:
        raise ValueError(f"model file {path}: weights do not match the architecture of its config "
                         f"{obj['config']}: {e}") from None
    extra = {k: v for k, v in obj.items() if k not in ("config", "state_dict")}
    return (model.to(map_location) if map_location is not None else model), extra
