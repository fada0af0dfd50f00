"""Context splicing by index arithmetic, as Kaldi's ``splice-feats`` (edge frames repeated).

A spliced frame ``t`` with context ``left``/``right`` is the concatenation of frames
``t-left .. t+right`` of the same utterance, indices clamped to the utterance's first and last
frame. Training never materialises the spliced matrix of a corpus: it keeps the frames once and
gathers ``[B, left+1+right, D]`` per batch with ``context_index``.
"""

from __future__ import annotations

import numpy as np
import torch


def context_offsets(left: int, right: int) -> np.ndarray:
    """Offsets ``[-left, ..., right]`` (int64, length ``left+1+right``)."""
    if left < 0 or right < 0:
        raise ValueError(f"splice context must be >= 0, got left={left} right={right}")
    return np.arange(-left, right + 1, dtype=np.int64)


def context_index(frames, starts, ends, left: int, right: int):
    """Indices of the context window of each frame, clamped within its utterance.

    frames, starts, ends: int tensors/arrays [B] - global frame index, and the global index of the
    first and (exclusive) last frame of the frame's utterance. Returns int64 [B, left+1+right]
    (a torch tensor for torch input, numpy otherwise).
    """
    offsets = context_offsets(left, right)
    if isinstance(frames, torch.Tensor):
        off = torch.from_numpy(offsets).to(frames.device)
        idx = frames[:, None] + off[None, :]
        return torch.maximum(torch.minimum(idx, (ends - 1)[:, None]), starts[:, None])
    idx = np.asarray(frames)[:, None] + offsets[None, :]
    return np.clip(idx, np.asarray(starts)[:, None], (np.asarray(ends) - 1)[:, None])


def splice_frames(feats, left: int = 20, right: int = 5):
    """Splice one utterance: feats [T, D] (numpy or torch) -> [T, (left+1+right)*D], same type/dtype.

    Row t is ``feats[clamp(t-left)], ..., feats[clamp(t+right)]`` concatenated (Kaldi's
    ``splice-feats --left-context --right-context``). Used for whole-utterance inference.
    """
    T = feats.shape[0]
    if T == 0:
        raise ValueError("cannot splice an utterance with 0 frames")
    if isinstance(feats, torch.Tensor):
        t = torch.arange(T, dtype=torch.int64, device=feats.device)
        idx = context_index(t, torch.zeros_like(t), torch.full_like(t, T), left, right)
    else:
        t = np.arange(T, dtype=np.int64)
        idx = context_index(t, np.zeros_like(t), np.full_like(t, T), left, right)
    return feats[idx].reshape(T, -1)
