"""Kaldi GMM acoustic models (``final.mdl`` = TransitionModel + AmDiagGmm): read and write, binary and text.

The byte layout follows Kaldi's ``TransitionModel::Write`` (src/hmm/transition-model.cc),
``HmmTopology::Write`` (src/hmm/hmm-topology.cc), ``AmDiagGmm::Write`` (src/gmm/am-diag-gmm.cc) and
``DiagGmm::Write`` (src/gmm/diag-gmm.cc), token for token, so that reading a Kaldi model and writing it
back gives the same bytes (binary) or the same text as ``gmm-copy --binary=false``.

Kaldi's basic encodings (src/base/io-funcs):
* binary token: the token and one space; binary int32/float: one size byte (4) then the 4 raw bytes;
  binary int vector: size byte, int32 count, raw elements; float vector: ``FV `` + int32 count + raw data;
  float matrix: ``FM `` + rows + cols + raw row-major data. A binary file starts with ``\\0B``.
* text: tokens and numbers separated by spaces; floats printed with 7 significant digits (``%.7g``);
  vectors `` [ v0 v1 ... ]\\n``, matrices `` [\\n  row0 \\n  row1 ]\\n``.

Shapes: ``DiagGmm.means_invvars`` and ``inv_vars`` are [num_comp, dim] float32; ``weights`` and
``gconsts`` are [num_comp]; ``TransitionModel.tuples`` is [num_transition_states, 4] int32 with columns
(phone, hmm_state, forward_pdf, self_loop_pdf); ``log_probs`` is [num_transition_ids + 1] (index 0 unused).
"""

from __future__ import annotations

import io
import math
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dgmm.fileutil import atomic_open

_K_NO_PDF = -1


# ----------------------------------------------------------------------------------------------- readers
class KaldiFormatError(ValueError):
    """A Kaldi object file does not have the expected layout (message names the file and the token)."""


class _Reader:
    """Token/number reader over a whole Kaldi object file, binary or text."""

    def __init__(self, data: bytes, name: str):
        self.name = name
        self.binary = data[:2] == b"\0B"
        self.data = data
        self.pos = 2 if self.binary else 0
        if not self.binary:
            self.toks = data.decode("utf-8").split()
            self.pos = 0

    def _fail(self, what: str):
        where = f"byte {self.pos}" if self.binary else f"token {self.pos + 1}"
        raise KaldiFormatError(f"{self.name}: {what} (at {where})")

    # -- tokens
    def token(self) -> str:
        if self.binary:
            end = self.data.find(b" ", self.pos)
            if end < 0:
                self._fail("unexpected end of file reading a token")
            tok = self.data[self.pos:end].decode("latin-1")
            self.pos = end + 1
            return tok
        if self.pos >= len(self.toks):
            self._fail("unexpected end of file")
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def expect(self, want: str) -> None:
        got = self.token()
        if got != want:
            self._fail(f"expected token {want}, got {got!r}")

    # -- basic types
    def int32(self) -> int:
        if self.binary:
            if self.data[self.pos] != 4:
                self._fail(f"expected int32 size byte 4, got {self.data[self.pos]}")
            (v,) = struct.unpack_from("<i", self.data, self.pos + 1)
            self.pos += 5
            return v
        tok = self.token()
        try:
            return int(tok)
        except ValueError:
            self._fail(f"expected an integer, got {tok!r}")

    def float32(self) -> float:
        if self.binary:
            size = self.data[self.pos]
            fmt = {4: "<f", 8: "<d"}.get(size)
            if fmt is None:
                self._fail(f"expected float size byte 4 or 8, got {size}")
            (v,) = struct.unpack_from(fmt, self.data, self.pos + 1)
            self.pos += 1 + size
            return v
        tok = self.token()
        try:
            return float(tok)
        except ValueError:
            self._fail(f"expected a number, got {tok!r}")

    def int_vector(self) -> list[int]:
        if self.binary:
            if self.data[self.pos] != 4:
                self._fail("expected int32 vector")
            (n,) = struct.unpack_from("<i", self.data, self.pos + 1)
            v = np.frombuffer(self.data, "<i4", n, self.pos + 5).tolist()
            self.pos += 5 + 4 * n
            return v
        self.expect("[")
        out = []
        while (tok := self.token()) != "]":
            out.append(int(tok))
        return out

    def _text_numbers(self) -> list[str]:
        self.expect("[")
        out = []
        while (tok := self.token()) != "]":
            out.append(tok)
        return out

    def vector(self) -> np.ndarray:
        """Kaldi Vector<float|double> (``FV``/``DV`` in binary), returned in its stored precision."""
        if self.binary:
            tok = self.token()
            dt = {"FV": "<f4", "DV": "<f8"}.get(tok)
            if dt is None:
                self._fail(f"expected FV or DV, got {tok!r}")
            n = self.int32()
            v = np.frombuffer(self.data, dt, n, self.pos).copy()
            self.pos += v.nbytes
            return v
        return np.array([float(t) for t in self._text_numbers()], np.float32)

    def matrix(self) -> np.ndarray:
        """Kaldi Matrix<float|double> (``FM``/``DM`` in binary), [rows, cols]."""
        if self.binary:
            tok = self.token()
            dt = {"FM": "<f4", "DM": "<f8"}.get(tok)
            if dt is None:
                self._fail(f"expected FM or DM, got {tok!r}")
            rows, cols = self.int32(), self.int32()
            m = np.frombuffer(self.data, dt, rows * cols, self.pos).reshape(rows, cols).copy()
            self.pos += m.nbytes
            return m
        # text: the row breaks are lost by the tokenizer, so this returns the values flat; the caller
        # knows the number of rows (DiagGmm: from its weights) and reshapes
        return np.array([float(t) for t in self._text_numbers()], np.float32)

    def at_end(self) -> bool:
        return self.pos >= (len(self.data) if self.binary else len(self.toks))


class _Writer:
    """Kaldi binary or text writer into a BytesIO."""

    def __init__(self, binary: bool):
        self.binary = binary
        self.out = io.BytesIO()
        if binary:
            self.out.write(b"\0B")

    def raw(self, s: str) -> None:
        self.out.write(s.encode())

    def nl(self) -> None:
        if not self.binary:
            self.out.write(b"\n")

    def token(self, tok: str) -> None:
        self.out.write(tok.encode() + b" ")

    def int32(self, v: int) -> None:
        if self.binary:
            self.out.write(b"\x04" + struct.pack("<i", int(v)))
        else:
            self.raw(f"{int(v)} ")

    def float32(self, v: float) -> None:
        if self.binary:
            self.out.write(b"\x04" + struct.pack("<f", v))
        else:
            self.raw(f"{fmt_float(v)} ")

    def int_vector(self, v) -> None:
        if self.binary:
            a = np.asarray(v, "<i4")
            self.out.write(b"\x04" + struct.pack("<i", a.size) + a.tobytes())
        else:
            self.raw("[ " + "".join(f"{int(x)} " for x in v) + "]\n")

    def vector(self, v: np.ndarray) -> None:
        if self.binary:
            self.token("DV" if v.dtype == np.float64 else "FV")
            self.int32(v.size)
            self.out.write(np.ascontiguousarray(v, v.dtype.newbyteorder("<")).tobytes())
        else:
            self.raw(" [ " + "".join(f"{fmt_float(x)} " for x in v) + "]\n")

    def matrix(self, m: np.ndarray) -> None:
        if self.binary:
            self.token("DM" if m.dtype == np.float64 else "FM")
            self.int32(m.shape[0])
            self.int32(m.shape[1])
            self.out.write(np.ascontiguousarray(m, m.dtype.newbyteorder("<")).tobytes())
        elif m.size == 0:
            self.raw(" [ ]\n")
        else:
            rows = ["\n  " + "".join(f"{fmt_float(x)} " for x in row) for row in m]
            self.raw(" [" + "".join(rows) + "]\n")


def fmt_float(x) -> str:
    """A float as C++ ``ostream << float`` prints it in Kaldi text files (7 significant digits)."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return "%.7g" % x


# ---------------------------------------------------------------------------------------- topology
@dataclass
class HmmState:
    """One state of a topology entry: pdf classes (-1 = non-emitting) and (dest_state, prob) pairs."""

    forward_pdf_class: int
    self_loop_pdf_class: int
    transitions: list[tuple[int, float]] = field(default_factory=list)


@dataclass
class HmmTopology:
    """Kaldi HmmTopology: ``phones`` sorted, ``phone2idx[phone]`` = entry index (-1 if none)."""

    phones: list[int]
    phone2idx: list[int]
    entries: list[list[HmmState]]

    @property
    def is_hmm(self) -> bool:
        return all(s.forward_pdf_class == s.self_loop_pdf_class for e in self.entries for s in e)

    def entry(self, phone: int) -> list[HmmState]:
        if phone >= len(self.phone2idx) or self.phone2idx[phone] < 0:
            raise KeyError(f"phone {phone} is not covered by the topology")
        return self.entries[self.phone2idx[phone]]

    def num_pdf_classes(self, phone: int) -> int:
        return 1 + max(max(s.forward_pdf_class, s.self_loop_pdf_class) for s in self.entry(phone))

    @classmethod
    def from_text(cls, text: str, name: str = "topo") -> "HmmTopology":
        """Parse the text of a Kaldi ``topo`` file (as written by ``utils/gen_topo.pl``)."""
        r = _Reader(text.encode(), name)
        topo = _read_topology(r)
        return topo

    def to_text(self) -> str:
        w = _Writer(binary=False)
        _write_topology(w, self)
        return w.out.getvalue().decode()


def _read_topology(r: _Reader) -> HmmTopology:
    r.expect("<Topology>")
    if r.binary:
        phones = r.int_vector()
        phone2idx = r.int_vector()
        n = r.int32()
        is_hmm = True
        if n == -1:  # marker of the extended (non-HMM) format with self-loop pdf classes
            is_hmm = False
            n = r.int32()
        entries = []
        for _ in range(n):
            states = []
            for _ in range(r.int32()):
                fwd = r.int32()
                slp = fwd if is_hmm else r.int32()
                trans = [(r.int32(), r.float32()) for _ in range(r.int32())]
                states.append(HmmState(fwd, slp, trans))
            entries.append(states)
        r.expect("</Topology>")
        return HmmTopology(phones, phone2idx, entries)
    phones, phone2idx, entries = [], [], []
    while (tok := r.token()) != "</Topology>":
        if tok != "<TopologyEntry>":
            r._fail(f"expected <TopologyEntry> or </Topology>, got {tok!r}")
        r.expect("<ForPhones>")
        these = []
        while (tok := r.token()) != "</ForPhones>":
            these.append(int(tok))
        states = []
        tok = r.token()
        while tok != "</TopologyEntry>":
            if tok != "<State>":
                r._fail(f"expected <State>, got {tok!r}")
            if r.int32() != len(states):
                r._fail("topology states must be numbered from 0 in order")
            fwd = slp = _K_NO_PDF
            tok = r.token()
            if tok == "<PdfClass>":
                fwd = slp = r.int32()
                tok = r.token()
            elif tok == "<ForwardPdfClass>":
                fwd = r.int32()
                r.expect("<SelfLoopPdfClass>")
                slp = r.int32()
                tok = r.token()
            trans = []
            while tok == "<Transition>":
                trans.append((r.int32(), r.float32()))
                tok = r.token()
            if tok != "</State>":
                r._fail(f"expected </State>, got {tok!r}")
            states.append(HmmState(fwd, slp, trans))
            tok = r.token()
        for p in these:
            if p >= len(phone2idx):
                phone2idx += [-1] * (p + 1 - len(phone2idx))
            if phone2idx[p] != -1:
                r._fail(f"phone {p} appears in more than one topology entry")
            phone2idx[p] = len(entries)
            phones.append(p)
        entries.append(states)
    return HmmTopology(sorted(phones), phone2idx, entries)


def _write_topology(w: _Writer, topo: HmmTopology) -> None:
    is_hmm = topo.is_hmm
    w.token("<Topology>")
    if w.binary:
        w.int_vector(topo.phones)
        w.int_vector(topo.phone2idx)
        if not is_hmm:
            w.int32(-1)
        w.int32(len(topo.entries))
        for states in topo.entries:
            w.int32(len(states))
            for s in states:
                w.int32(s.forward_pdf_class)
                if not is_hmm:
                    w.int32(s.self_loop_pdf_class)
                w.int32(len(s.transitions))
                for dst, p in s.transitions:
                    w.int32(dst)
                    w.float32(p)
    else:
        w.nl()
        for i, states in enumerate(topo.entries):
            w.token("<TopologyEntry>")
            w.nl()
            w.token("<ForPhones>")
            w.nl()
            w.raw("".join(f"{p} " for p, idx in enumerate(topo.phone2idx) if idx == i))
            w.nl()
            w.token("</ForPhones>")
            w.nl()
            for j, s in enumerate(states):
                w.token("<State>")
                w.int32(j)
                if is_hmm:
                    if s.forward_pdf_class != _K_NO_PDF:
                        w.token("<PdfClass>")
                        w.int32(s.forward_pdf_class)
                else:
                    if s.forward_pdf_class != _K_NO_PDF:
                        w.token("<ForwardPdfClass>")
                        w.int32(s.forward_pdf_class)
                        w.token("<SelfLoopPdfClass>")
                        w.int32(s.self_loop_pdf_class)
                for dst, p in s.transitions:
                    w.token("<Transition>")
                    w.int32(dst)
                    w.float32(p)
                w.token("</State>")
                w.nl()
            w.token("</TopologyEntry>")
            w.nl()
    w.token("</Topology>")
    w.nl()


# -------------------------------------------------------------------------------- transition model
@dataclass
class TransitionModel:
    """Kaldi TransitionModel: topology, transition-state tuples and per-transition-id log-probs."""

    topo: HmmTopology
    tuples: np.ndarray  # [num_transition_states, 4] int32: phone, hmm_state, forward_pdf, self_loop_pdf
    log_probs: np.ndarray  # [num_transition_ids + 1] float32, index 0 unused

    @property
    def num_pdfs(self) -> int:
        return int(self.tuples[:, 2:].max()) + 1

    @property
    def num_transition_ids(self) -> int:
        return len(self.log_probs) - 1

    def tid_info(self) -> dict[str, np.ndarray]:
        """Per transition-id arrays (length num_tids+1, entry 0 unused): pdf, phone, hmm_state,
        is_self_loop, dest_state, transition_state (1-based). Transition-ids number the transitions
        out of each tuple's HMM state, tuple after tuple; a self-loop's pdf is its self_loop_pdf."""
        dests = [[d for d, _ in self.topo.entry(int(p))[int(h)].transitions] for p, h in self.tuples[:, :2]]
        counts = np.array([len(d) for d in dests], np.int64)
        if int(counts.sum()) + 1 != len(self.log_probs):
            raise KaldiFormatError(f"transition model has {int(counts.sum())} transition-ids but "
                                   f"{len(self.log_probs) - 1} log-probs")
        ts = np.repeat(np.arange(len(self.tuples)), counts)
        t = self.tuples[ts]
        dest = np.array([d for ds in dests for d in ds], np.int32)
        self_loop = dest == t[:, 1]
        pdf = np.where(self_loop, t[:, 3], t[:, 2])

        def tab(a, dtype):
            return np.concatenate([np.zeros(1, dtype), np.asarray(a, dtype)])

        return {"pdf": tab(pdf, np.int32), "phone": tab(t[:, 0], np.int32),
                "hmm_state": tab(t[:, 1], np.int32), "is_self_loop": tab(self_loop, bool),
                "dest_state": tab(dest, np.int32), "transition_state": tab(ts + 1, np.int32)}


def _read_transition_model(r: _Reader) -> TransitionModel:
    r.expect("<TransitionModel>")
    topo = _read_topology(r)
    tok = r.token()
    if tok not in ("<Triples>", "<Tuples>"):
        r._fail(f"expected <Triples> or <Tuples>, got {tok!r}")
    n = r.int32()
    width = 3 if tok == "<Triples>" else 4
    tuples = np.array([[r.int32() for _ in range(width)] for _ in range(n)], np.int32).reshape(n, width)
    if width == 3:
        tuples = np.concatenate([tuples, tuples[:, 2:3]], axis=1)
    r.expect(tok.replace("<", "</"))
    r.expect("<LogProbs>")
    log_probs = r.vector()
    r.expect("</LogProbs>")
    r.expect("</TransitionModel>")
    return TransitionModel(topo, tuples, log_probs)


def _write_transition_model(w: _Writer, tm: TransitionModel) -> None:
    is_hmm = tm.topo.is_hmm and bool(np.all(tm.tuples[:, 2] == tm.tuples[:, 3]))
    w.token("<TransitionModel>")
    w.nl()
    _write_topology(w, tm.topo)
    w.token("<Triples>" if is_hmm else "<Tuples>")
    w.int32(len(tm.tuples))
    w.nl()
    for row in tm.tuples:
        for v in row[:3] if is_hmm else row:
            w.int32(v)
        w.nl()
    w.token("</Triples>" if is_hmm else "</Tuples>")
    w.nl()
    w.token("<LogProbs>")
    w.nl()
    w.vector(np.asarray(tm.log_probs))
    w.token("</LogProbs>")
    w.nl()
    w.token("</TransitionModel>")
    w.nl()


# ------------------------------------------------------------------------------------------ GMMs
@dataclass
class DiagGmm:
    """Kaldi DiagGmm in its stored (natural-parameter) form; see ``from_moments`` for means/vars."""

    gconsts: np.ndarray  # [C]
    weights: np.ndarray  # [C]
    means_invvars: np.ndarray  # [C, D]  mean / var
    inv_vars: np.ndarray  # [C, D]  1 / var

    @property
    def means(self) -> np.ndarray:
        return (self.means_invvars.astype(np.float64) / self.inv_vars).astype(np.float32)

    @property
    def vars(self) -> np.ndarray:
        return (1.0 / self.inv_vars.astype(np.float64)).astype(np.float32)

    @classmethod
    def from_moments(cls, weights, means, variances) -> "DiagGmm":
        """Build from weights [C], means [C, D], variances [C, D]; gconsts as Kaldi's ComputeGconsts:
        log w - 0.5 (D log 2pi + sum log var + sum mean^2 / var)."""
        w = np.asarray(weights, np.float64)
        mu = np.asarray(means, np.float64)
        var = np.asarray(variances, np.float64)
        d = mu.shape[1]
        g = np.log(w) - 0.5 * (d * np.log(2 * np.pi) + np.log(var).sum(1) + (mu * mu / var).sum(1))
        g = np.where(np.isnan(g), -np.inf, g)  # Kaldi guards NaN for zero weights the same way
        return cls(g.astype(np.float32), w.astype(np.float32), (mu / var).astype(np.float32),
                   (1.0 / var).astype(np.float32))

    def log_likelihoods(self, feats: np.ndarray) -> np.ndarray:
        """Per-component log-likelihoods [T, C] of feats [T, D] (Kaldi's LogLikelihoods, float64)."""
        x = np.asarray(feats, np.float64)
        return (self.gconsts.astype(np.float64) + x @ self.means_invvars.T.astype(np.float64)
                - 0.5 * (x * x) @ self.inv_vars.T.astype(np.float64))


def _read_diag_gmm(r: _Reader) -> DiagGmm:
    r.expect("<DiagGMM>")
    fields = {}
    while (tok := r.token()) != "</DiagGMM>":
        if tok in ("<GCONSTS>", "<WEIGHTS>"):
            fields[tok] = r.vector()
        elif tok in ("<MEANS_INVVARS>", "<INV_VARS>"):
            fields[tok] = r.matrix()
        else:
            r._fail(f"unexpected token {tok!r} in <DiagGMM>")
    missing = {"<WEIGHTS>", "<MEANS_INVVARS>", "<INV_VARS>", "<GCONSTS>"} - set(fields)
    if missing:
        r._fail(f"<DiagGMM> lacks {sorted(missing)}")
    w = fields["<WEIGHTS>"]
    mi, iv = fields["<MEANS_INVVARS>"], fields["<INV_VARS>"]
    if mi.ndim == 1:  # text matrices come back flat: reshape by the number of components
        mi, iv = mi.reshape(len(w), -1), iv.reshape(len(w), -1)
    return DiagGmm(fields["<GCONSTS>"], w, mi, iv)


def _write_diag_gmm(w: _Writer, g: DiagGmm) -> None:
    w.token("<DiagGMM>")
    w.nl()
    w.token("<GCONSTS>")
    w.vector(g.gconsts)
    w.token("<WEIGHTS>")
    w.vector(g.weights)
    w.token("<MEANS_INVVARS>")
    w.matrix(g.means_invvars)
    w.token("<INV_VARS>")
    w.matrix(g.inv_vars)
    w.token("</DiagGMM>")
    w.nl()


@dataclass
class AmDiagGmm:
    """Kaldi AmDiagGmm: one DiagGmm per pdf-id."""

    dim: int
    pdfs: list[DiagGmm]

    @property
    def num_gauss(self) -> int:
        return sum(len(g.weights) for g in self.pdfs)

    def log_likelihoods(self, feats: np.ndarray) -> np.ndarray:
        """Per-pdf log-likelihoods [T, num_pdfs] (log-sum-exp over components), float32, as
        ``gmm-compute-likes``."""
        out = np.empty((len(feats), len(self.pdfs)), np.float64)
        for j, g in enumerate(self.pdfs):
            ll = g.log_likelihoods(feats)
            m = ll.max(1, keepdims=True)
            out[:, j] = (m + np.log(np.exp(ll - m).sum(1, keepdims=True)))[:, 0]
        return out.astype(np.float32)


def _read_am(r: _Reader) -> AmDiagGmm:
    r.expect("<DIMENSION>")
    dim = r.int32()
    r.expect("<NUMPDFS>")
    n = r.int32()
    pdfs = [_read_diag_gmm(r) for _ in range(n)]
    for j, g in enumerate(pdfs):
        if g.means_invvars.shape[1] != dim:
            r._fail(f"pdf {j} has dimension {g.means_invvars.shape[1]}, model says {dim}")
    return AmDiagGmm(dim, pdfs)


def _write_am(w: _Writer, am: AmDiagGmm) -> None:
    w.token("<DIMENSION>")
    w.int32(am.dim)
    w.token("<NUMPDFS>")
    w.int32(len(am.pdfs))
    for g in am.pdfs:
        _write_diag_gmm(w, g)


# ---------------------------------------------------------------------------------- final.mdl
@dataclass
class GmmModel:
    """A Kaldi GMM ``.mdl`` file: TransitionModel followed by AmDiagGmm."""

    trans_model: TransitionModel
    am: AmDiagGmm


def read_gmm_model(path: str | os.PathLike) -> GmmModel:
    """Read a Kaldi ``final.mdl`` (binary or text, as ``gmm-copy`` accepts)."""
    r = _Reader(Path(path).read_bytes(), str(path))
    try:
        tm = _read_transition_model(r)
        am = _read_am(r)
    except (struct.error, IndexError, ValueError) as e:
        if isinstance(e, KaldiFormatError):
            raise
        raise KaldiFormatError(f"{path}: truncated or corrupt model file ({e})") from None
    if not r.at_end():
        r._fail("trailing data after the AmDiagGmm")
    if am.pdfs and tm.num_pdfs != len(am.pdfs):
        raise KaldiFormatError(f"{path}: transition model has {tm.num_pdfs} pdfs, GMM has {len(am.pdfs)}")
    return GmmModel(tm, am)


def read_transition_model(path: str | os.PathLike) -> TransitionModel:
    """Read just the TransitionModel at the start of a model file (``copy-transition-model``)."""
    return _read_transition_model(_Reader(Path(path).read_bytes(), str(path)))


def gmm_model_bytes(model: GmmModel, binary: bool = True) -> bytes:
    w = _Writer(binary)
    _write_transition_model(w, model.trans_model)
    _write_am(w, model.am)
    return w.out.getvalue()


def write_gmm_model(path: str | os.PathLike, model: GmmModel, binary: bool = True) -> None:
    """Write ``model`` as Kaldi's ``gmm-est``/``gmm-copy`` do (binary by default), atomically."""
    data = gmm_model_bytes(model, binary)
    with atomic_open(path, "wb") as f:
        f.write(data)


def transition_model_bytes(tm: TransitionModel, binary: bool = True) -> bytes:
    w = _Writer(binary)
    _write_transition_model(w, tm)
    return w.out.getvalue()


def write_occs(path: str | os.PathLike, occs) -> None:
    """Write pdf occupation counts as ``gmm-est --write-occs`` does (Kaldi text vector)."""
    w = _Writer(binary=False)
    w.vector(np.asarray(occs, np.float32))
    with atomic_open(path, "wb") as f:
        f.write(w.out.getvalue())
