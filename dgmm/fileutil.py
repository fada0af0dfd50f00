"""Crash-safe file writing: everything is written to a temporary name and renamed into place.

A temporary of ``dir/name`` is ``dir/.name.<kind><pid>@<host>`` (kind ``tmp`` or ``part``). A writer
killed by SIGKILL, the OOM killer or a power cut leaves it behind; the next writer of the same path
removes it (``remove_stale_temps``) once no process of that pid is alive on this host. Temporaries of
other hosts (a shared filesystem) and of live processes are never touched.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import socket
from pathlib import Path
from typing import Iterator

log = logging.getLogger(__name__)
_HOST = socket.gethostname()


def tmp_name(path: str | os.PathLike, kind: str = "tmp") -> Path:
    """The temporary sibling of ``path`` used by this process while it is being written (same
    filesystem, so the final rename is atomic)."""
    p = Path(path)
    return p.with_name(f".{p.name}.{kind}{os.getpid()}@{_HOST}")


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host and is not a zombie (a killed writer whose parent
    has not reaped it yet is dead for our purpose)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:       # another user's live process
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def remove_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Remove the temporaries of ``path`` (files or directories) whose writer on this host is dead.

    Returns the removed paths. Called by every writer before it starts, so a rerun after a crash
    leaves no debris of the crashed run.
    """
    p = Path(path)
    own = re.compile(rf"\.{re.escape(p.name)}\.(?:tmp|part)(\d+)@{re.escape(_HOST)}")
    removed = []
    try:
        entries = list(os.scandir(p.parent))
    except FileNotFoundError:
        return removed
    for e in entries:
        m = own.fullmatch(e.name)
        if m is None or _alive(int(m.group(1))):
            continue
        try:
            if e.is_dir(follow_symlinks=False):
                shutil.rmtree(e.path)
            else:
                os.unlink(e.path)
        except FileNotFoundError:    # another rerun removed it first
            continue
        log.info("removed %s, left by a writer (pid %s) that was killed", e.path, m.group(1))
        removed.append(Path(e.path))
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it is fsync'ed and renamed to ``path``.

    On any exception the temporary file is removed and ``path`` is left as it was.
    """
    final = Path(path)
    remove_stale_temps(final)
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


def temp_dir_for(path: str | os.PathLike) -> Path:
    """A new empty temporary directory beside ``path`` (``.name.tmp<pid>@<host>``) in which a whole
    directory's files are built before they are renamed into ``path``; stale ones are removed first.
    The caller removes it when done."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(p)
    tmp = tmp_name(p)
    shutil.rmtree(tmp, ignore_errors=True)   # this process's own, from an earlier failed call
    tmp.mkdir()
    return tmp
