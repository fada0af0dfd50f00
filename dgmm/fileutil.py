"""Crash-safe file writing: everything is written to a temporary name and renamed into place."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator


def tmp_name(path: str | os.PathLike) -> Path:
    """The temporary sibling of ``path`` used while it is being written (same filesystem)."""
    p = Path(path)
    return p.with_name(f".{p.name}.tmp{os.getpid()}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it is fsync'ed and renamed to ``path``.

    On any exception the temporary file is removed and ``path`` is left as it was.
    """
    final = Path(path)
    tmp = tmp_name(final)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator:
    """``open`` that writes to a temporary name and renames to ``path`` only on success."""
    with atomic_path(path) as tmp:
        with open(tmp, mode, **kwargs) as f:
            yield f
