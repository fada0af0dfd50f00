"""Kaldi archives (ark + scp) and Kaldi text vectors, written atomically.

Readers are kaldiio's (``kaldiio.load_scp``, ``kaldiio.load_ark``), which understand Kaldi's
``ark:``/``scp:`` specifiers including pipes such as ``ark:gunzip -c ali.1.gz |``.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import kaldiio
import numpy as np

from dgmm.fileutil import atomic_open, remove_stale_temps, tmp_name

_INT32_ELEM = np.dtype([("size", "u1"), ("value", "<i4")])   # packed, 5 bytes


class ArchiveWriter:
    """Write ``<name>.ark`` + ``<name>.scp`` so that neither exists until both are complete.

    >>> with ArchiveWriter("feats.1.ark", "feats.1.scp") as w:
    ...     w["utt1"] = np.zeros((10, 40), np.float32)

    The scp points at the final ark path (absolute unless ``relative_to`` is given). ``compress`` uses
    Kaldi's CompressedMatrix (method 2 = kSpeechFeature, as ``copy-feats --compress=true``).
    Int32 vectors are written as Kaldi's int vectors (readable by ``copy-int-vector``).
    """

    def __init__(self, ark: str | os.PathLike, scp: str | os.PathLike | None = None,
                 compress: bool = False):
        self.ark = Path(ark).absolute()
        self.scp = Path(scp).absolute() if scp is not None else None
        remove_stale_temps(self.ark)   # debris of a killed earlier writer (the scp's: atomic_open's)
        self._tmp_ark = tmp_name(self.ark)
        # the scp is written under another temporary name first: tmp_name(scp) is the one atomic_open
        # takes when the scp is rewritten in __exit__
        self._tmp_scp = tmp_name(self.scp, "part") if self.scp else None
        spec = f"ark,scp:{self._tmp_ark},{self._tmp_scp}" if self.scp else f"ark:{self._tmp_ark}"
        self._writer = kaldiio.WriteHelper(spec, compression_method=2 if compress else None)
        self.num_written = 0

    def __setitem__(self, key: str, value: np.ndarray) -> None:
        if not key or any(c.isspace() for c in key):
            raise ValueError(f"{self.ark}: invalid utterance id {key!r} (empty or contains whitespace)")
        try:
            if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype == np.int32:
                self._write_int32_vector(key, value)
            else:
                self._writer(key, value)
        except OSError as e:   # e.g. a full disk: name the archive and the utterance
            raise OSError(e.errno, f"{self.ark}: cannot write utterance {key}: {e.strerror}") from None
        self.num_written += 1

    def _write_int32_vector(self, key: str, vec: np.ndarray) -> None:
        """Kaldi's binary int32 vector (``\\0B``, ``\\4`` + count, ``\\4`` + value per element),
        encoded with numpy: kaldiio packs it element by element in Python, which made writing
        alignments (hundreds of thousands of frames) the slowest step of importing them."""
        ark, scp = self._writer.fark, self._writer.fscp
        ark.write(key.encode() + b" ")
        offset = ark.tell()
        elems = np.empty(len(vec), _INT32_ELEM)
        elems["size"] = 4
        elems["value"] = vec
        ark.write(b"\0B\x04" + struct.pack("<i", len(vec)) + elems.tobytes())
        if scp is not None:   # the same line kaldiio writes (its __exit__ rewrites the temp path)
            scp.write(f"{key} {ark.name}:{offset}\n")

    def __enter__(self) -> "ArchiveWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self._writer.close()   # flushes: a full disk can fail here too
            if exc_type is not None:
                return
            with open(self._tmp_ark, "rb+") as f:
                os.fsync(f.fileno())
            if self.scp is None:
                os.replace(self._tmp_ark, self.ark)
                return
            # the new scp is complete on disk before the ark is renamed: a failure (full disk) can
            # never leave an old scp indexing the new ark
            old = str(self._tmp_ark)
            with open(self._tmp_scp) as f, atomic_open(self.scp) as out:
                for line in f:
                    key, loc = line.rstrip("\n").split(" ", 1)
                    out.write(f"{key} {loc.replace(old, str(self.ark), 1)}\n")
                out.flush()
                os.fsync(out.fileno())
                os.replace(self._tmp_ark, self.ark)
        except OSError as e:
            exc_type = type(e)
            raise OSError(e.errno, f"{self.ark}: cannot finish writing: {e.strerror}") from None
        finally:
            for p in (self._tmp_ark, self._tmp_scp):   # only the partial ones remain on failure
                if p is not None and p.exists() and (exc_type is not None or p == self._tmp_scp):
                    p.unlink()


def write_text_vector(path: str | os.PathLike, vec) -> None:
    """Write a Kaldi text vector ``[ v0 v1 ... ]`` (format of ``copy-vector --binary=false``)."""
    vec = np.asarray(vec)
    body = " ".join(str(int(v)) if np.issubdtype(vec.dtype, np.integer) else repr(float(v)) for v in vec)
    with atomic_open(path) as f:
        f.write(f"[ {body} ]\n")


def read_vector(path: str | os.PathLike) -> np.ndarray:
    """Read a Kaldi vector file, text (``[ v0 v1 ... ]``) or binary (``\\0BFV``/``\\0BDV``), as float64."""
    with open(path, "rb") as f:
        head = f.read(2)
    if head == b"\0B":
        return np.asarray(kaldiio.load_mat(str(path)), dtype=np.float64)
    text = Path(path).read_text().split()
    if not text or text[0] != "[" or text[-1] != "]":
        raise ValueError(f"{path}: not a Kaldi text vector (expected '[ v0 v1 ... ]')")
    try:
        return np.array([float(t) for t in text[1:-1]], dtype=np.float64)
    except ValueError as e:
        raise ValueError(f"{path}: bad number in Kaldi text vector: {e}") from None
