"""Kaldi text tables: one ``<key> <value...>`` per line (utt2spk, text, utt2num_frames, wav.scp...)."""

from __future__ import annotations

import os
import re
from typing import Callable, TypeVar

T = TypeVar("T")


def read_table(path: str | os.PathLike, convert: Callable[[str], T] = str,
               allow_empty_value: bool = False) -> dict[str, T]:
    """Read ``<key> <rest of line>`` into an insertion-ordered dict, ``convert`` applied to the rest.

    Raises ``ValueError`` naming the file and line for a missing value, a duplicate key or a value
    that ``convert`` rejects.
    """
    table: dict[str, T] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            parts = line.split(maxsplit=1)
            key = parts[0]
            rest = parts[1].strip() if len(parts) > 1 else ""
            if not rest and not allow_empty_value:
                raise ValueError(f"{path}:{lineno}: no value for key {key!r}")
            if key in table:
                raise ValueError(f"{path}:{lineno}: duplicate key {key!r}")
            try:
                table[key] = convert(rest)
            except ValueError as e:
                raise ValueError(f"{path}:{lineno}: bad value for {key!r}: {e}") from None
    return table


def read_sentences(path: str | os.PathLike, utt_ids: bool = True) -> list[list[str]]:
    """The words of each non-blank line, in file order: of a Kaldi ``text`` (``utt_ids``: the first
    field, the utterance id, dropped; a duplicate id raises ``ValueError`` naming file and line; an id
    alone is an empty sentence) or of a plain sentence file (``utt_ids=False``)."""
    if utt_ids:
        return list(read_table(path, str.split, allow_empty_value=True).values())
    with open(path, encoding="utf-8") as f:
        return [line.split() for line in f if line.strip()]


_SPECIAL = re.compile(r"<eps>|<s>|</s>|#[0-9]+")


def read_vocab(path: str | os.PathLike) -> list[str]:
    """The words of a ``words.txt`` or a word list (the first field of each non-blank line), in file
    order, without Kaldi's special symbols ``<eps>``, ``<s>``, ``</s>`` and ``#0``, ``#1``, ....

    Raises ``ValueError`` naming the file and line for a word listed twice or a line that is not UTF-8.
    """
    first: dict[str, int] = {}
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                fields = raw.decode("utf-8").split()
            except UnicodeDecodeError as e:
                raise ValueError(f"{path}:{lineno}: not UTF-8 text ({e.reason})") from None
            if not fields or _SPECIAL.fullmatch(fields[0]):
                continue
            if fields[0] in first:
                raise ValueError(f"{path}:{lineno}: word {fields[0]!r} already on line {first[fields[0]]}")
            first[fields[0]] = lineno
    return list(first)


def write_table(path: str | os.PathLike, table: dict, sort: bool = True) -> None:
    """Write ``<key> <value>`` lines atomically, sorted by key in C-locale (byte) order by default."""
    from dgmm.fileutil import atomic_open

    keys = sorted(table, key=lambda k: k.encode()) if sort else list(table)
    with atomic_open(path, encoding="utf-8") as f:
        for k in keys:
            v = table[k]
            f.write(f"{k} {' '.join(map(str, v)) if isinstance(v, (list, tuple)) else v}\n")
