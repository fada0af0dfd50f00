"""Write a GMM experiment directory in Kaldi's layout (``exp/mono``, ``exp/tri1``, ``exp/tri1_ali``):

    final.mdl   TransitionModel + AmDiagGmm, binary (as gmm-est)
    tree        the ContextDependency, binary (as gmm-init-mono / build-tree)
    ali.N.gz    gzip'd alignments (transition-ids) of job N's utterances; job N = the N-th part of
                ``utils/split_data.sh <data> <nj>`` (split by speaker), as Kaldi's scripts
    final.occs  pdf occupation counts (text vector, as gmm-est --write-occs)
    num_jobs    nj
    cmvn_opts   the CMVN options the features were made with
    phones.txt  copy of the lang's (Kaldi's scripts copy it too)

so that ``steps/import_ali.sh``, ``steps/align_si.sh`` and Kaldi's own tools read it as a Kaldi one.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from dgmm.data.datadir import split_data_dir
from dgmm.fileutil import atomic_open
from dgmm.gmm.align import write_alignments
from dgmm.kaldi.alignments import read_int_vectors
from dgmm.kaldi.gmm_model import GmmModel, write_gmm_model, write_occs
from dgmm.kaldi.tables import read_table


def job_utterances(data: str | os.PathLike, nj: int) -> list[list[str]]:
    """Utterances of each of the ``nj`` jobs (``utils/split_data.sh`` by speaker, as Kaldi's scripts)."""
    return [list(read_table(Path(p) / "utt2spk")) for p in split_data_dir(data, nj)]


def write_exp_dir(exp: str | os.PathLike, model: GmmModel, tree_bytes: bytes,
                  alis: dict[str, np.ndarray], jobs: list[list[str]], occs: np.ndarray | None,
                  cmvn_opts: str, lang: str | os.PathLike, ali_binary: bool = True) -> None:
    """Write everything listed in the module docstring (each file atomically), ``final.mdl`` last:
    the recipes take its presence as "this stage is done", so a kill before it redoes the stage."""
    d = Path(exp)
    d.mkdir(parents=True, exist_ok=True)
    with atomic_open(d / "tree", "wb") as f:
        f.write(tree_bytes)
    for n, utts in enumerate(jobs, 1):
        write_alignments(d / f"ali.{n}.gz", {u: alis[u] for u in utts if u in alis}, binary=ali_binary)
    if occs is not None:
        write_occs(d / "final.occs", occs)
    with atomic_open(d / "num_jobs") as f:
        f.write(f"{len(jobs)}\n")
    with atomic_open(d / "cmvn_opts") as f:
        f.write(f"{cmvn_opts}\n")  # as `echo $cmvn_opts > cmvn_opts`
    if (Path(lang) / "phones.txt").exists():
        shutil.copyfile(Path(lang) / "phones.txt", d / "phones.txt")
    write_gmm_model(d / "final.mdl", model)


def read_ali_dir(d: str | os.PathLike) -> dict[str, np.ndarray]:
    """All alignments of a Kaldi alignment/experiment dir (``ali.1.gz`` .. ``ali.<num_jobs>.gz``)."""
    d = Path(d)
    if not (d / "num_jobs").exists():
        raise FileNotFoundError(f"{d}/num_jobs: missing (not an alignment directory?)")
    nj = int((d / "num_jobs").read_text().split()[0])
    out: dict[str, np.ndarray] = {}
    for n in range(1, nj + 1):
        f = d / f"ali.{n}.gz"
        if not f.exists():
            raise FileNotFoundError(f"{f}: missing (num_jobs is {nj})")
        for key, vec, _ in read_int_vectors(f"ark:gunzip -c {f} |"):
            out[key] = vec
    return out
