"""Kaldi decision trees: ``EventMap`` nodes and the ``ContextDependency`` ``tree`` file (read + write).

A Kaldi ``tree`` file (written by ``gmm-init-mono`` / ``build-tree``, dumped by ``copy-tree``) is::

    ContextDependency <N> <P> ToPdf <EventMap> EndContextDependency

``N`` is the context width (1 monophone, 3 triphone) and ``P`` the central position. The EventMap maps an
*event* -- the phones of an N-phone window (keys 0..N-1, phone 0 = no phone at an utterance edge) plus the
pdf-class (key -1) -- to a pdf-id. Three node kinds (Kaldi's src/tree/event-map.h):

* ``CE a``                       constant: the answer is pdf ``a``;
* ``TE k n ( m_0 ... m_{n-1} )`` table: child ``m_v`` for value ``v`` of key ``k`` (``NULL`` = no answer);
* ``SE k [ v ... ] { yes no }``  split: ``yes`` if the value of key ``k`` is in the set, else ``no``.

Binary and text forms are written token for token as Kaldi writes them, so ``write_tree(read_tree(f))``
reproduces ``f`` byte for byte (tested on the trees in ``../shared/kaldi_ref``).

Usage::

    ctx = read_tree("exp/tri1/tree")
    ctx.compute((left, phone, right), pdf_class)   # -> pdf-id, or None where the tree has no answer
    ctx.num_pdfs                                     # max answer + 1, as Kaldi's NumPdfs()
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from functools import cached_property
from typing import Iterator, Sequence, Union

from dgmm.fileutil import atomic_open

#: The event key of the pdf-class (Kaldi's kPdfClass).
PDF_CLASS = -1


@dataclass(frozen=True)
class ConstantEventMap:
    """``CE answer``: every event maps to ``answer``."""

    answer: int


@dataclass(frozen=True)
class TableEventMap:
    """``TE key n ( ... )``: ``table[value of key]``; ``None`` entries (``NULL``) have no answer."""

    key: int
    table: tuple["EventMap | None", ...]


@dataclass(frozen=True)
class SplitEventMap:
    """``SE key [ yes_set ] { yes no }``: branch on whether the value of ``key`` is in ``yes_set``."""

    key: int
    yes_set: tuple[int, ...]
    yes: "EventMap"
    no: "EventMap"

    @cached_property
    def yes_lookup(self) -> frozenset[int]:
        """``yes_set`` as a set, for lookups (yes_set keeps the file's order)."""
        return frozenset(self.yes_set)


EventMap = Union[ConstantEventMap, TableEventMap, SplitEventMap]


def map_event(node: EventMap | None, event: dict[int, int]) -> int | None:
    """Answer of the EventMap for ``event`` ({key: value}); None where Kaldi's Map() returns false."""
    while node is not None:
        if isinstance(node, ConstantEventMap):
            return node.answer
        if node.key not in event:
            raise KeyError(f"event {event} has no value for key {node.key}")
        value = event[node.key]
        if isinstance(node, TableEventMap):
            node = node.table[value] if 0 <= value < len(node.table) else None
        else:
            node = node.yes if value in node.yes_lookup else node.no
    return None


def iter_answers(node: EventMap | None) -> Iterator[int]:
    """All answers (leaf pdf-ids) of the EventMap, in file order, with repeats."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n is None:
            continue
        if isinstance(n, ConstantEventMap):
            yield n.answer
        elif isinstance(n, TableEventMap):
            stack.extend(reversed(n.table))
        else:
            stack.extend((n.no, n.yes))


@dataclass(frozen=True)
class ContextDependency:
    """Kaldi's ContextDependency: context width ``N``, central position ``P`` and the EventMap ``to_pdf``."""

    N: int
    P: int
    to_pdf: EventMap

    @property
    def context_width(self) -> int:
        return self.N

    @property
    def central_position(self) -> int:
        return self.P

    @property
    def num_pdfs(self) -> int:
        """max pdf-id + 1 (Kaldi's ContextDependency::NumPdfs)."""
        return max(iter_answers(self.to_pdf), default=-1) + 1

    def compute(self, phone_window: Sequence[int], pdf_class: int) -> int | None:
        """pdf-id of ``pdf_class`` of the central phone in the N-phone window (phone 0 = edge).

        None where the tree has no answer (Kaldi's Compute() returning false).
        """
        if len(phone_window) != self.N:
            raise ValueError(f"phone window {tuple(phone_window)} has length {len(phone_window)}, tree needs {self.N}")
        event = dict(enumerate(phone_window))
        event[PDF_CLASS] = pdf_class
        return map_event(self.to_pdf, event)


# ----------------------------------------------------------------------------------------------------------
# Reading: one token stream for Kaldi's binary and text forms.

class _Reader:
    """Kaldi token/int reader over the bytes of a file (binary if it starts with ``\\0B``)."""

    def __init__(self, data: bytes, name: str):
        self.data, self.name = data, name
        self.binary = data.startswith(b"\0B")
        self.pos = 2 if self.binary else 0

    def _fail(self, what: str) -> None:
        raise ValueError(f"{self.name}: {what} at byte {self.pos}")

    def _skip_ws(self) -> None:
        d = self.data
        while self.pos < len(d) and d[self.pos] in b" \t\n\r":
            self.pos += 1

    def token(self) -> str:
        if not self.binary:
            self._skip_ws()
        start = self.pos
        d = self.data
        while self.pos < len(d) and d[self.pos] not in b" \t\n\r":
            self.pos += 1
        if self.pos == start:
            self._fail("expected a token, found end of file" if start >= len(d) else "expected a token")
        tok = d[start:self.pos].decode("utf-8", "replace")
        if self.binary:
            self.pos += 1  # the single space Kaldi writes after every binary token
        return tok

    def peek_token(self) -> str:
        pos = self.pos
        tok = self.token()
        self.pos = pos
        return tok

    def expect(self, token: str) -> None:
        got = self.token()
        if got != token:
            self._fail(f"expected token {token!r}, got {got!r}")

    def int32(self, signed: bool = True) -> int:
        if not self.binary:
            tok = self.token()
            try:
                return int(tok)
            except ValueError:
                self._fail(f"expected an integer, got {tok!r}")
        size = self.data[self.pos:self.pos + 1]
        want = 4 if signed else -4
        if len(size) != 1 or struct.unpack("b", size)[0] != want:
            self._fail(f"expected a {'' if signed else 'u'}int32 size byte")
        (v,) = struct.unpack_from("<i" if signed else "<I", self.data, self.pos + 1)
        self.pos += 5
        return v

    def int_vector(self) -> tuple[int, ...]:
        if not self.binary:
            self.expect("[")
            out = []
            while (tok := self.token()) != "]":
                try:
                    out.append(int(tok))
                except ValueError:
                    self._fail(f"expected an integer or ']', got {tok!r}")
            return tuple(out)
        if self.data[self.pos:self.pos + 1] != b"\x04":
            self._fail("expected an int32 vector")
        (n,) = struct.unpack_from("<i", self.data, self.pos + 1)
        self.pos += 5
        vals = struct.unpack_from(f"<{n}i", self.data, self.pos)
        self.pos += 4 * n
        return tuple(vals)


def _read_event_map(r: _Reader) -> EventMap | None:
    # Iterative over an explicit stack is not needed: tree depth is bounded by the number of splits
    # along one path (tens), far below Python's recursion limit.
    tok = r.token()
    if tok == "NULL":
        return None
    if tok == "CE":
        return ConstantEventMap(r.int32())
    if tok == "TE":
        key = r.int32()
        size = r.int32(signed=False)
        r.expect("(")
        table = tuple(_read_event_map(r) for _ in range(size))
        r.expect(")")
        return TableEventMap(key, table)
    if tok == "SE":
        key = r.int32()
        yes_set = r.int_vector()
        r.expect("{")
        yes = _read_event_map(r)
        no = _read_event_map(r)
        r.expect("}")
        if yes is None or no is None:
            r._fail("SE node with a NULL child")
        return SplitEventMap(key, yes_set, yes, no)
    r._fail(f"expected CE, TE, SE or NULL, got {tok!r}")


def parse_tree(data: bytes, name: str = "<tree>") -> ContextDependency:
    """Parse the bytes of a Kaldi ``tree`` file (binary or text)."""
    r = _Reader(data, name)
    r.expect("ContextDependency")
    n, p = r.int32(), r.int32()
    if not 0 <= p < n:
        r._fail(f"bad context width {n} / central position {p}")
    r.expect("ToPdf")
    to_pdf = _read_event_map(r)
    r.expect("EndContextDependency")
    if to_pdf is None:
        r._fail("tree has a NULL root")
    return ContextDependency(n, p, to_pdf)


def read_tree(path: str | os.PathLike) -> ContextDependency:
    """Read a Kaldi ``tree`` file, binary or text (``copy-tree --binary=false``)."""
    with open(path, "rb") as f:
        return parse_tree(f.read(), str(path))


# ----------------------------------------------------------------------------------------------------------
# Writing, token for token as Kaldi's WriteToken / WriteBasicType / WriteIntegerVector.

class _Writer:
    def __init__(self, binary: bool):
        self.binary = binary
        self.parts: list[bytes] = [b"\0B"] if binary else []

    def token(self, tok: str) -> None:
        self.parts.append(tok.encode() + b" ")

    def int32(self, v: int, signed: bool = True) -> None:
        if self.binary:
            self.parts.append(struct.pack("<bi" if signed else "<bI", 4 if signed else -4, v))
        else:
            self.parts.append(f"{v} ".encode())

    def int_vector(self, vals: Sequence[int]) -> None:
        if self.binary:
            self.parts.append(struct.pack(f"<bi{len(vals)}i", 4, len(vals), *vals))
        else:
            self.parts.append(("[ " + "".join(f"{v} " for v in vals) + "]\n").encode())

    def newline(self) -> None:
        if not self.binary:
            self.parts.append(b"\n")


def _write_event_map(w: _Writer, node: EventMap | None) -> None:
    if node is None:
        w.token("NULL")
    elif isinstance(node, ConstantEventMap):
        w.token("CE")
        w.int32(node.answer)
    elif isinstance(node, TableEventMap):
        w.token("TE")
        w.int32(node.key)
        w.int32(len(node.table), signed=False)
        w.token("(")
        for child in node.table:
            _write_event_map(w, child)
        w.token(")")
        w.newline()
    else:
        w.token("SE")
        w.int32(node.key)
        w.int_vector(node.yes_set)
        w.token("{")
        _write_event_map(w, node.yes)
        _write_event_map(w, node.no)
        w.token("}")
        w.newline()


def format_tree(ctx: ContextDependency, binary: bool = True) -> bytes:
    """The bytes of a Kaldi ``tree`` file for ``ctx`` (binary, or text as ``copy-tree --binary=false``)."""
    w = _Writer(binary)
    w.token("ContextDependency")
    w.int32(ctx.N)
    w.int32(ctx.P)
    w.token("ToPdf")
    _write_event_map(w, ctx.to_pdf)
    w.token("EndContextDependency")
    return b"".join(w.parts)


def write_tree(path: str | os.PathLike, ctx: ContextDependency, binary: bool = True) -> None:
    """Write ``ctx`` as a Kaldi ``tree`` file (atomically)."""
    with atomic_open(path, "wb") as f:
        f.write(format_tree(ctx, binary))

