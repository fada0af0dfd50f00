"""Low-level readers for Kaldi's object serialisation (``base/io-funcs``), binary and text.

A Kaldi object file is either binary (starts with ``\\0B``) or text. In both, objects are sequences of
tokens (``<TransitionModel>``, ``CE``...), basic types and vectors:

=================  ==========================================  ===============================
item               binary                                      text
=================  ==========================================  ===============================
token              bytes up to a space, then the space          whitespace-separated word
int32 / uint32     size byte (+4 / -4), 4 bytes little-endian   decimal word
float / double     size byte (4 / 8), IEEE little-endian        decimal word
integer vector     size byte 4, int32 count, raw int32s         ``[ 1 2 3 ]``
float vector       token ``FV``/``DV``, int32 count, raw data   ``[ 0.1 -2 ]``
=================  ==========================================  ===============================

:class:`ObjectReader` reads these from the start of a file; only what is asked for is read (the reader
of a ``final.mdl`` stops after the transition model and never touches the acoustic model behind it).
"""

from __future__ import annotations

import os
import re
import struct
from typing import BinaryIO

import numpy as np

_CHUNK = 1 << 16
_SPACE = re.compile(rb"\s+")
_WORD = re.compile(rb"\S+")


class KaldiFormatError(ValueError):
    """The file does not hold the Kaldi object that was expected; the message names the file."""


class ObjectReader:
    """Sequential reader of one Kaldi object stream (binary or text), with positions in errors.

    >>> with ObjectReader.open("final.mdl") as r:
    ...     r.expect_token("<TransitionModel>")
    """

    def __init__(self, f: BinaryIO, name: str):
        self._f = f
        self.name = name
        self._buf = b""
        self._pos = 0          # position in _buf
        self._base = 0         # file offset of _buf[0]
        self.binary = self._fill(2) and self._buf[:2] == b"\0B"
        if self.binary:
            self._pos = 2

    @classmethod
    def open(cls, path: str | os.PathLike) -> "ObjectReader":
        return cls(open(path, "rb"), str(path))

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> "ObjectReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- buffer -------------------------------------------------------------------------------
    def _fill(self, n: int) -> bool:
        """Make at least ``n`` unread bytes available if the file has them."""
        while len(self._buf) - self._pos < n:
            chunk = self._f.read(max(_CHUNK, n))
            if not chunk:
                return False
            self._base += self._pos
            self._buf = self._buf[self._pos:] + chunk
            self._pos = 0
        return True

    def _take(self, n: int, what: str) -> bytes:
        if not self._fill(n):
            self.fail(f"unexpected end of file while reading {what}")
        b = self._buf[self._pos:self._pos + n]
        self._pos += n
        return b

    @property
    def offset(self) -> int:
        """Byte offset in the file of the next unread byte."""
        return self._base + self._pos

    def fail(self, msg: str):
        raise KaldiFormatError(f"{self.name}: {msg} (at byte {self.offset})")

    def _skip_space(self) -> None:
        while self._fill(1):
            m = _SPACE.match(self._buf, self._pos)
            if m is None:
                return
            self._pos = m.end()

    def _word(self, what: str) -> str:
        """Next whitespace-delimited word (text mode, and tokens in binary mode)."""
        self._skip_space()
        if not self._fill(1):
            self.fail(f"unexpected end of file while reading {what}")
        while True:
            end = _WORD.match(self._buf, self._pos).end()
            # a word touching the end of the buffer may continue in the next chunk
            if end < len(self._buf) or not self._fill(end - self._pos + 1):
                break
        word = self._buf[self._pos:end]
        self._pos = end
        if self.binary:  # binary tokens are followed by exactly one space
            self._pos += 1
        return word.decode("utf-8", errors="replace")

    # -- public API ---------------------------------------------------------------------------
    def peek_char(self) -> str:
        """The first character of the next token (as Kaldi's ``Peek``), '' at end of file."""
        if not self.binary:
            self._skip_space()
        return self._buf[self._pos:self._pos + 1].decode("latin-1") if self._fill(1) else ""

    def read_token(self) -> str:
        return self._word("a token")

    def expect_token(self, token: str) -> None:
        got = self._word(f"token {token}")
        if got != token:
            self.fail(f"expected token {token}, got {got!r}")

    def read_int(self) -> int:
        if self.binary:
            size = struct.unpack("b", self._take(1, "an integer"))[0]
            if abs(size) != 4:
                self.fail(f"expected a 4-byte integer, got size byte {size}")
            return struct.unpack("<i" if size > 0 else "<I", self._take(4, "an integer"))[0]
        w = self._word("an integer")
        try:
            return int(w)
        except ValueError:
            self.fail(f"expected an integer, got {w!r}")

    def read_float(self) -> float:
        if self.binary:
            size = self._take(1, "a float")[0]
            if size not in (4, 8):
                self.fail(f"expected a float, got size byte {size}")
            return struct.unpack("<f" if size == 4 else "<d", self._take(size, "a float"))[0]
        w = self._word("a float")
        try:
            return float(w)
        except ValueError:
            self.fail(f"expected a number, got {w!r}")

    def read_int_vector(self) -> np.ndarray:
        """Kaldi ``ReadIntegerVector`` of int32 -> int32 array."""
        if self.binary:
            size = self._take(1, "an integer vector")[0]
            if size != 4:
                self.fail(f"expected an int32 vector, got element size {size}")
            n = struct.unpack("<i", self._take(4, "an integer vector"))[0]
            if n < 0:
                self.fail(f"negative vector length {n}")
            return np.frombuffer(self._take(4 * n, "an integer vector"), "<i4").astype(np.int32)
        return np.array(self._bracketed("an integer vector", int), dtype=np.int32)

    def read_float_vector(self) -> np.ndarray:
        """Kaldi ``Vector<BaseFloat>::Read`` (binary ``FV``/``DV`` or text ``[ ... ]``) -> float32."""
        if self.binary:
            tok = self.read_token()
            if tok not in ("FV", "DV"):
                self.fail(f"expected a vector (FV or DV), got {tok!r}")
            n = self.read_int()
            if n < 0:
                self.fail(f"negative vector length {n}")
            dt = "<f4" if tok == "FV" else "<f8"
            width = 4 if tok == "FV" else 8
            return np.frombuffer(self._take(width * n, "a vector"), dt).astype(np.float32)
        return np.array(self._bracketed("a vector", float), dtype=np.float32)

    def _bracketed(self, what: str, convert) -> list:
        self.expect_token("[")
        out = []
        while True:
            w = self._word(what)
            if w == "]":
                return out
            try:
                out.append(convert(w))
            except ValueError:
                self.fail(f"bad number {w!r} in {what}")
