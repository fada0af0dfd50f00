"""Kaldi alignment archives: fast reading of int32-vector tables and the transition-id conversions.

Alignments (``ali.*.gz``) are Kaldi archives of int32 vectors, one per utterance. In binary form each
entry is ``<key> \\0B \\x04 <int32 n>`` followed by n times ``\\x04 <int32>`` (5 bytes per frame); in text
form (``ark,t:``) it is ``<key> v0 v1 ...\\n``. The reader decompresses a whole file (gzip dominates
the cost) and turns each utterance into an int32 array with one strided numpy view, so no Python code
runs per frame. Conversions are table lookups: ``tm.tid2pdf[ali]`` is ``ali-to-pdf``,
``tm.tid2phone[ali]`` is ``ali-to-phones --per-frame``.

Specifiers follow Kaldi's rspecifiers: ``ark:file``, ``ark:-`` (stdin), ``ark:cmd ... |``,
``scp:file.scp`` (entries ``utt file:offset``, ``utt file`` or ``utt cmd |``); options such as
``ark,s,cs:`` are accepted and ignored. A plain path is read as an archive; a gzip file is
decompressed whether or not it comes through ``gunzip -c ... |``.
"""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
import warnings
import zlib
from typing import Iterator

import numpy as np

from dgmm.kaldi.transition_model import TransitionModel

_ELEM = np.dtype([("size", "u1"), ("value", "<i4")])   # packed: 5 bytes per binary element
_OFFSET = re.compile(r"^(.*):(\d+)$")


def _run(cmd: str) -> bytes:
    """stdout of a shell pipeline; a non-zero exit (e.g. gunzip on a truncated file) is an error."""
    p = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        err = p.stderr.decode(errors="replace").strip().splitlines()
        raise ValueError(f"command '{cmd}' failed with exit status {p.returncode}"
                         + (f": {err[-1]}" if err else ""))
    return p.stdout


def read_bytes(rxfilename: str) -> bytes:
    """Contents of a Kaldi rxfilename: a file (gunzipped if it is gzip), ``-`` or ``cmd |``.

    A truncated or corrupt gzip file raises ValueError naming the file.
    """
    if rxfilename.rstrip().endswith("|"):
        return _run(rxfilename.rstrip()[:-1])
    if rxfilename == "-":
        return sys.stdin.buffer.read()
    with open(rxfilename, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except EOFError:
            raise ValueError(f"{rxfilename}: truncated gzip file (compressed data ends early)") from None
        except (gzip.BadGzipFile, zlib.error) as e:
            raise ValueError(f"{rxfilename}: corrupt gzip file ({e})") from None
    return data


def _parse_object(data: bytes, pos: int, name: str, key: str) -> tuple[np.ndarray, int]:
    """One int32 vector starting at ``data[pos]`` (binary ``\\0B`` or text up to the newline)."""
    if data[pos:pos + 2] == b"\0B":
        if data[pos + 2:pos + 3] != b"\x04" or pos + 7 > len(data):
            raise ValueError(f"{name}: entry {key!r} is not a Kaldi int32 vector"
                             + (" (archive truncated)" if pos + 7 > len(data) else ""))
        n = int.from_bytes(data[pos + 3:pos + 7], "little", signed=True)
        start, end = pos + 7, pos + 7 + 5 * n
        if n < 0 or end > len(data):
            raise ValueError(f"{name}: archive truncated in entry {key!r} "
                             f"(needs {n} values, file ends after {max(0, (len(data) - start) // 5)})")
        elems = np.frombuffer(data, _ELEM, n, start)
        if n and not (elems["size"] == 4).all():
            raise ValueError(f"{name}: entry {key!r} is not a Kaldi int32 vector (bad element size byte)")
        return elems["value"].astype(np.int32), end
    nl = data.find(b"\n", pos)
    end = len(data) if nl < 0 else nl
    try:
        with warnings.catch_warnings():   # numpy only warns when it stops at a non-number
            warnings.simplefilter("error")
            vec = np.fromstring(data[pos:end], dtype=np.int64, sep=" ")
    except (ValueError, OverflowError, DeprecationWarning):
        raise ValueError(f"{name}: entry {key!r}: not a line of integers") from None
    if len(vec) and (vec.min() < -2**31 or vec.max() >= 2**31):
        raise ValueError(f"{name}: entry {key!r}: value outside the int32 range")
    vec = vec.astype(np.int32)
    return vec, end + 1


def parse_int_vector_archive(data: bytes, name: str) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(key, int32 array)`` for each entry of an archive held in ``data``; ``name`` for errors."""
    pos, size = 0, len(data)
    while True:
        while pos < size and data[pos:pos + 1].isspace():
            pos += 1
        if pos >= size:
            return
        sp = data.find(b" ", pos)
        nl = data.find(b"\n", pos)
        if sp < 0 or (0 <= nl < sp):   # key without a value: an empty text vector or garbage
            end = size if nl < 0 else nl
            key = data[pos:end].decode(errors="replace")
            if sp < 0 and nl < 0 and len(key) > 200:
                raise ValueError(f"{name}: not a Kaldi archive (no key found)")
            yield key, np.zeros(0, np.int32)
            pos = end + 1
            continue
        key = data[pos:sp].decode(errors="replace")
        vec, pos = _parse_object(data, sp + 1, name, key)
        yield key, vec


def _split_spec(rspecifier: str) -> tuple[str, str]:
    """``("ark"|"scp", target)`` from an rspecifier; a bare path is an archive."""
    m = re.match(r"^(ark|scp)(,[a-z,]*)?:(.*)$", rspecifier, re.S)
    if m is None:
        return "ark", rspecifier
    return m.group(1), m.group(3)


def read_int_vectors(rspecifier: str) -> Iterator[tuple[str, np.ndarray, str]]:
    """Yield ``(key, int32 array, source)`` for every entry of a Kaldi int32-vector table.

    ``source`` is the file or command the entry came from (for error messages).
    """
    kind, target = _split_spec(rspecifier)
    if kind == "ark":
        for key, vec in parse_int_vector_archive(read_bytes(target), target):
            yield key, vec, target
        return
    cache: tuple[str, bytes] | None = None
    with open(target, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            fields = line.strip().split(maxsplit=1)
            if not fields:
                continue
            if len(fields) != 2:
                raise ValueError(f"{target}:{lineno}: expected '<key> <rxfilename>'")
            key, rx = fields
            if rx.endswith("]"):
                raise ValueError(f"{target}:{lineno}: range specifiers ([...]) are not supported")
            m = _OFFSET.match(rx)
            path, offset = (m.group(1), int(m.group(2))) if m and not rx.endswith("|") else (rx, None)
            if cache is None or cache[0] != path:
                cache = (path, read_bytes(path))
            data = cache[1]
            if offset is not None and offset >= len(data):
                raise ValueError(f"{target}:{lineno}: offset {offset} is beyond the end of {path}")
            vec, _ = _parse_object(data, offset or 0, path, key)
            yield key, vec, path


def split_to_phones(tm: TransitionModel, ali: np.ndarray) -> list[np.ndarray]:
    """Split a transition-id sequence into per-phone pieces, as Kaldi's ``SplitToPhones``.

    A phone ends with the transition into its final HMM state; for "reordered" alignments (self-loops
    after the forward transition) the self-loops that follow it still belong to it.
    """
    ali = np.asarray(ali)
    n = len(ali)
    if n == 0:
        return []
    ts = tm.tid2tuple[ali]
    loop = tm.tid_is_self_loop[ali]
    final = np.flatnonzero(tm.tid_is_final[ali])
    change = np.flatnonzero(ts[:-1] != ts[1:])
    edge = loop[change] | loop[change + 1]
    if edge.any():   # first state change next to a self-loop tells the order (Kaldi's IsReordered)
        k = int(np.argmax(edge))
        reordered = bool(loop[change[k]])
    else:
        reordered = bool(loop[-1]) and not bool(loop[0])
    if reordered:   # extend each phone end over the self-loops that follow it
        not_loop = np.append(np.flatnonzero(~loop), n)
        ends = not_loop[np.searchsorted(not_loop, final + 1)]
    else:
        ends = final + 1
    phone = tm.tid2phone[ali]
    phone_change = np.flatnonzero(phone[:-1] != phone[1:]) + 1   # malformed input: split anyway
    ends = np.unique(np.concatenate([ends, phone_change, [n]]))
    return np.split(ali, ends[:-1])
