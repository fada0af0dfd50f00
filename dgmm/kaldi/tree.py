"""The number of pdfs of a Kaldi phonetic-context tree (``tree`` file, src/tree/context-dep.cc).

A tree file is ``ContextDependency <N> <P> ToPdf <EventMap> EndContextDependency`` (binary or text;
old files have a ``ToLength <EventMap>`` before ``ToPdf``). The EventMap is a tree of
``CE <answer>`` leaves, ``SE <key> [ yes-set ] { <yes> <no> }`` splits and
``TE <key> <size> ( <map>... )`` tables whose entries may be ``NULL``. The number of pdfs is the largest
leaf answer + 1, as Kaldi's ``ContextDependency::NumPdfs`` (and ``tree-info``) computes it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from dgmm.kaldi.binary import ObjectReader


@dataclass
class TreeInfo:
    """What ``tree-info`` prints: ``num_pdfs``, ``context_width`` (N) and ``central_position`` (P)."""

    num_pdfs: int
    context_width: int
    central_position: int


def _max_answer(r: ObjectReader) -> int:
    """Read one EventMap and return its largest leaf answer (-1 if it has none).

    Iterative (an explicit stack) so that deep trees cannot hit Python's recursion limit.
    """
    best = -1
    stack: list[str] = ["map"]
    while stack:
        item = stack.pop()
        if item != "map":          # a closing bracket owed by an SE/TE read earlier
            r.expect_token(item)
            continue
        tok = r.read_token()
        if tok == "NULL":
            continue
        if tok == "CE":
            best = max(best, r.read_int())
        elif tok == "SE":
            r.read_int()             # key
            r.read_int_vector()      # yes-set
            r.expect_token("{")
            stack += ["}", "map", "map"]
        elif tok == "TE":
            r.read_int()             # key
            size = r.read_int()
            r.expect_token("(")
            stack += [")"] + ["map"] * size
        else:
            r.fail(f"expected an EventMap (CE, SE, TE or NULL), got {tok!r}")
    return best


def read_tree_info(path: str | os.PathLike) -> TreeInfo:
    """Read a Kaldi ``tree`` file (binary or text, e.g. ``copy-tree --binary=false`` output)."""
    with ObjectReader.open(path) as r:
        tok = r.read_token() if r.peek_char() else ""
        if tok != "ContextDependency":
            r.fail(f"not a Kaldi tree file: expected ContextDependency, got {tok[:40]!r}")
        width, central = r.read_int(), r.read_int()
        tok = r.read_token()
        if tok == "ToLength":      # back-compatibility with very old trees
            _max_answer(r)
            tok = r.read_token()
        if tok != "ToPdf":
            r.fail(f"expected ToPdf, got {tok!r}")
        best = _max_answer(r)
        r.expect_token("EndContextDependency")
    return TreeInfo(num_pdfs=best + 1, context_width=width, central_position=central)


def read_tree_num_pdfs(path: str | os.PathLike) -> int:
    """Number of pdfs of a Kaldi ``tree`` file (as ``tree-info`` reports ``num-pdfs``)."""
    return read_tree_info(path).num_pdfs
