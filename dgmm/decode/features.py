"""Network inputs of a data dir for inference, prepared exactly as training prepared them.

The checkpoint of ``dgmm.bin.train`` records ``splice`` = [left, right], ``cmvn_mode``, ``norm_vars``
and, for global CMVN, the training set's ``global_cmvn_stats``; features come from ``<data>/feats.scp``
and CMVN stats from ``<data>/cmvn.scp`` (speaker mode), as in training.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Sequence

import kaldiio
import numpy as np
import torch

from dgmm.data.frames import Cmvn
from dgmm.data.splice import splice_frames


class InputPipeline:
    """CMVN + splicing of one model; ``inputs(utt, feats)`` -> float32 tensor [T, (L+1+R)*D]."""

    def __init__(self, extra: dict, data_dir: str | os.PathLike):
        left, right = extra.get("splice", (20, 5))
        self.left, self.right = int(left), int(right)
        stats = extra.get("global_cmvn_stats")
        mode = extra.get("cmvn_mode", "speaker")
        self.cmvn = Cmvn(mode, bool(extra.get("norm_vars", False)), data_dir,
                         global_stats=None if stats is None else np.asarray(stats, np.float64))

    def inputs(self, utt: str, feats: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(self.cmvn(utt, feats), dtype=np.float32))
        return splice_frames(x, self.left, self.right)


def feats_table(data_dir: str | os.PathLike):
    """Lazy ``utt -> [T, D]`` of ``<data>/feats.scp`` (error naming the file when absent)."""
    scp = Path(data_dir) / "feats.scp"
    if not scp.is_file():
        raise FileNotFoundError(f"{scp} not found (make features first, e.g. steps/make_fbank.sh)")
    return kaldiio.load_scp(str(scp))


def job_utterances(utts: Sequence[str], nj: int, job: int) -> list[str]:
    """The ``job``-th (1-based) of ``nj`` contiguous chunks (``utils/split_scp.pl`` order)."""
    n = len(utts)
    if not 1 <= job <= nj:
        raise ValueError(f"job {job} not in 1..{nj}")
    chunk = list(utts[(job - 1) * n // nj: job * n // nj])
    if not chunk:
        raise ValueError(f"job {job} of {nj} has no utterances: more jobs than utterances ({n}); use a smaller --nj")
    return chunk


def iter_inputs(pipeline: InputPipeline, table, utts: Sequence[str]) -> Iterator[tuple[str, torch.Tensor]]:
    for u in utts:
        yield u, pipeline.inputs(u, np.asarray(table[u]))
