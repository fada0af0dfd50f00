"""The number of pdfs of a Kaldi phonetic-context tree (``tree`` file, src/tree/context-dep.cc).

Parsing is :func:`dgmm.kaldi.event_map.read_tree` (binary or text, ``copy-tree --binary=false``); the
number of pdfs is the largest leaf answer + 1, as Kaldi's ``ContextDependency::NumPdfs`` and
``tree-info`` compute it.
"""

from __future__ import annotations

import os

from dgmm.kaldi.event_map import read_tree


def read_tree_num_pdfs(path: str | os.PathLike) -> int:
    """Number of pdfs of a Kaldi ``tree`` file (``tree-info``'s ``num-pdfs``); ValueError names the file."""
    with open(path, "rb") as f:
        head = f.read(32)
    if not (head.startswith(b"\0BContextDependency") or head.lstrip().startswith(b"ContextDependency")):
        raise ValueError(f"{path}: not a Kaldi tree file: it does not start with ContextDependency "
                         f"(starts {head[:30]!r})")
    return read_tree(path).num_pdfs
