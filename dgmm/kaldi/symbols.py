"""Kaldi/OpenFst text symbol tables (``phones.txt``, ``words.txt``): one ``<symbol> <id>`` per line."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass
class SymbolTable:
    """Bidirectional symbol table; ``name`` is the file it came from (used in errors)."""

    sym2id: dict[str, int]
    id2sym: dict[int, str]
    name: str = "symbol table"

    def symbol(self, i: int) -> str:
        try:
            return self.id2sym[i]
        except KeyError:
            raise ValueError(f"{self.name}: no symbol with id {i}") from None

    def id(self, sym: str) -> int:
        try:
            return self.sym2id[sym]
        except KeyError:
            raise ValueError(f"{self.name}: no symbol {sym!r}") from None

    def __len__(self) -> int:
        return len(self.sym2id)


def read_symbol_table(path: str | os.PathLike) -> SymbolTable:
    """Read ``phones.txt``/``words.txt``. Errors name the file and line: wrong field count, a
    non-integer or negative id, a duplicate symbol or id."""
    sym2id: dict[str, int] = {}
    id2sym: dict[int, str] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2:
                raise ValueError(f"{path}:{lineno}: expected '<symbol> <id>', got {line.strip()!r}")
            sym, sid = fields
            try:
                i = int(sid)
            except ValueError:
                raise ValueError(f"{path}:{lineno}: id {sid!r} of {sym!r} is not an integer") from None
            if i < 0:
                raise ValueError(f"{path}:{lineno}: negative id {i} for {sym!r}")
            if sym in sym2id:
                raise ValueError(f"{path}:{lineno}: duplicate symbol {sym!r}")
            if i in id2sym:
                raise ValueError(f"{path}:{lineno}: id {i} used by both {id2sym[i]!r} and {sym!r}")
            sym2id[sym] = i
            id2sym[i] = sym
    if not sym2id:
        raise ValueError(f"{path}: empty symbol table")
    return SymbolTable(sym2id, id2sym, str(path))
