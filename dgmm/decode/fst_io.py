"""Read a Kaldi decoding graph (HCLG.fst) into a ``kaldifst.StdVectorFst``, optionally with a word penalty.

``utils/mkgraph.sh`` writes HCLG as an OpenFst *const* FST (``fstconvert --fst_type=const``), a type the
pinned kaldifst 1.7.17 cannot read ("Unknown FST type const"). This module parses const and vector
files into arrays with numpy, can add a word insertion penalty to every arc with a word (output) label
(what ``lattice-add-penalty`` does to a lattice), and writes the *vector* layout for kaldifst to read.

OpenFst binary layouts used (little-endian, ``fst/const-fst.h``, ``fst/vector-fst.h``):
header = magic int32, fst type (int32 length + bytes), arc type (same), version int32, flags int32,
properties uint64, start int64, num_states int64, num_arcs int64;
const body = states [final float32, pos uint32, narcs uint32, niepsilons uint32, noepsilons uint32]
then arcs [ilabel int32, olabel int32, weight float32, nextstate int32];
vector body = per state: final float32, narcs int64, then its arcs as above.
"""

from __future__ import annotations

import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dgmm.kaldi.ports import kaldifst

_MAGIC = 2125659606
_ALIGN = 16  # OpenFst MappedFile::kArchAlignment
_IS_ALIGNED = 0x8
# property bits touched when arc weights change (fst/properties.h)
_WEIGHTED, _UNWEIGHTED = 0x100000000, 0x200000000
_WEIGHTED_CYCLES, _UNWEIGHTED_CYCLES = 0x1000000000000, 0x2000000000000


@dataclass
class FstArrays:
    """A standard-arc FST as arrays: ``finals`` float32 [S] (inf = not final), ``narcs`` int64 [S],
    ``arcs`` int32 [A, 4] = (ilabel, olabel, weight bits, nextstate), arcs grouped by source state."""

    start: int
    finals: np.ndarray
    narcs: np.ndarray
    arcs: np.ndarray
    props: int


def _read_string(buf: bytes, pos: int) -> tuple[str, int]:
    (n,) = struct.unpack_from("<i", buf, pos)
    return buf[pos + 4:pos + 4 + n].decode(errors="replace"), pos + 4 + n


def parse_fst_bytes(buf: bytes, path) -> FstArrays:
    """The arrays of an OpenFst binary vector or const FST of standard arcs (``path`` names it in errors)."""
    if len(buf) < 4 or struct.unpack_from("<i", buf, 0)[0] != _MAGIC:
        raise ValueError(f"{path}: not an OpenFst binary FST (bad magic number)")
    fst_type, pos = _read_string(buf, 4)
    arc_type, pos = _read_string(buf, pos)
    version, flags, props, start, ns, na = struct.unpack_from("<iiQqqq", buf, pos)
    pos += 40
    if arc_type != "standard" or fst_type not in ("const", "vector"):
        raise ValueError(f"{path}: expected a vector or const FST of standard arcs, got {fst_type}/{arc_type}")
    if flags & ~_IS_ALIGNED:
        raise ValueError(f"{path}: FSTs with stored symbol tables are not supported (flags {flags})")
    if fst_type == "vector":
        finals = np.empty(ns, np.float32)
        narcs = np.empty(ns, np.int64)
        chunks = []
        for s in range(ns):  # per state, not per arc: the layout is sequential
            finals[s], narcs[s] = struct.unpack_from("<fq", buf, pos)
            pos += 12
            chunks.append(np.frombuffer(buf, "<i4", count=4 * int(narcs[s]), offset=pos))
            pos += 16 * int(narcs[s])
        arcs = np.concatenate(chunks).reshape(-1, 4) if chunks else np.zeros((0, 4), np.int32)
        return FstArrays(start, finals, narcs, arcs, props)
    aligned = version == 1 or bool(flags & _IS_ALIGNED)
    if aligned:
        pos = -(-pos // _ALIGN) * _ALIGN
    st = np.frombuffer(buf, np.dtype([("final", "<f4"), ("pos", "<u4"), ("narcs", "<u4"),
                                      ("nie", "<u4"), ("noe", "<u4")]), count=ns, offset=pos)
    pos += 20 * ns
    if aligned:
        pos = -(-pos // _ALIGN) * _ALIGN
    if len(buf) < pos + 16 * na:
        raise ValueError(f"{path}: truncated FST file")
    arcs = np.frombuffer(buf, "<i4", count=4 * na, offset=pos).reshape(na, 4)
    order = np.argsort(st["pos"], kind="stable")
    if not np.all(order == np.arange(ns)):  # arcs of state s must follow those of s-1 for the rewrite
        raise ValueError(f"{path}: const FST with out-of-order arc blocks is not supported")
    return FstArrays(start, st["final"].copy(), st["narcs"].astype(np.int64), arcs, props)


def vector_fst_bytes(f: FstArrays) -> bytes:
    """``f`` as the bytes of an OpenFst binary vector FST (what fstcompile/fstcopy write)."""
    ns, na = len(f.finals), len(f.arcs)
    words = np.zeros(3 * ns + 4 * na, dtype="<i4")  # state: final + narcs (int64) = 3 words, arc = 4
    first_arc = np.concatenate([[0], np.cumsum(f.narcs)[:-1]]) if ns else np.zeros(0, np.int64)
    head = 3 * np.arange(ns, dtype=np.int64) + 4 * first_arc
    words[head] = f.finals.view("<i4")
    words[head + 1] = (f.narcs & 0xFFFFFFFF).astype(np.uint32).view("<i4")
    words[head + 2] = (f.narcs >> 32).astype("<i4")
    arc_state = np.repeat(np.arange(ns, dtype=np.int64), f.narcs)
    arc_pos = 3 * (arc_state + 1) + 4 * np.arange(na, dtype=np.int64)
    for j in range(4):
        words[arc_pos + j] = f.arcs[:, j]
    header = (struct.pack("<i", _MAGIC) + struct.pack("<i", 6) + b"vector" + struct.pack("<i", 8)
              + b"standard" + struct.pack("<iiQqqq", 2, 0, f.props, f.start, ns, na))
    return header + words.tobytes()


def add_word_penalty(f: FstArrays, penalty: float) -> FstArrays:
    """Add ``penalty`` to the cost of every arc with a non-epsilon output (word) label."""
    if penalty == 0.0:
        return f
    arcs = f.arcs.copy()
    has_word = arcs[:, 1] != 0
    w = arcs[:, 2].view(np.float32)
    w[has_word] += np.float32(penalty)
    props = (f.props & ~(_UNWEIGHTED | _WEIGHTED_CYCLES | _UNWEIGHTED_CYCLES)) | _WEIGHTED
    return FstArrays(f.start, f.finals, f.narcs, arcs, props)


def read_fst(path: str | os.PathLike, word_penalty: float = 0.0, num_tids: int | None = None,
             model: str | os.PathLike | None = None):
    """Read a standard-arc OpenFst file (vector or const) as a ``kaldifst.StdVectorFst``.

    ``word_penalty`` is added to every arc that outputs a word (Kaldi's word insertion penalty).
    ``num_tids``: the transition-ids of the ``model`` that will score the graph (HCLG input labels);
    a larger input label is an error (a graph made for another model).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such FST file: {path}")
    buf = path.read_bytes()
    arrays = parse_fst_bytes(buf, path)
    if arrays.arcs.size and (arrays.arcs[:, 3].min() < 0 or arrays.arcs[:, 3].max() >= len(arrays.finals)):
        raise ValueError(f"{path}: arc to a non-existent state")
    if num_tids is not None and arrays.arcs.size and arrays.arcs[:, 0].max() > num_tids:
        raise ValueError(f"{path}: input label (transition-id) {int(arrays.arcs[:, 0].max())} but the model "
                         f"{model or ''} has only {num_tids} transition-ids: the graph was made for another "
                         f"model (rerun utils/mkgraph.sh with this one)")
    with tempfile.TemporaryDirectory(prefix="dgmm_fst") as d:
        tmp = Path(d) / "vector.fst"
        tmp.write_bytes(vector_fst_bytes(add_word_penalty(arrays, word_penalty)))
        fst = kaldifst.StdVectorFst.read(str(tmp))
    if fst is None or fst.num_states != len(arrays.finals):
        raise ValueError(f"{path}: could not read the FST")
    return fst
