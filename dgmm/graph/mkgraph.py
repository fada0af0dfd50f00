"""HCLG decoding graph from a lang dir (with G.fst) and a model dir, as Kaldi's ``utils/mkgraph.sh``.

Steps (Kaldi's programs in brackets; defaults as mkgraph.sh: transition-scale 1.0, self-loop-scale 0.1):

    LG    = push(min(det_log(L_disambig o G)))           [fsttablecompose, fstdeterminizestar --use-log=true,
                                                          fstminimizeencoded, fstpushspecial]
    CLG   = C o LG, ilabel_info                          [fstcomposecontext: tree's context width / centre]
    HCLGa = min(rmeps_local(rmsymbols(det_log(Ha o CLG))))
                                                         [make-h-transducer, fstrmsymbols disambig_tid.int,
                                                          fstrmepslocal, fstminimizeencoded]
    HCLG  = add self-loops (reorder)                      [add-self-loops --reorder=true]

Composition, determinization, minimization and C are kaldifst's (the pip port of Kaldi's fstext); H, the
self-loops (:mod:`dgmm.graph.hmm_fst`), push-special and local epsilon removal are ours, written from
Kaldi's algorithms, so monophone and triphone trees of any context width work. On the yesno and FSDD
monophone systems the result equals Kaldi's HCLG arc for arc (tests/test_mkgraph.py). Not done: the
stochasticity report (``fstisstochastic``). ``HCLG.fst`` is written as a const FST, as mkgraph.sh does.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from dgmm.decode.fst_io import FstArrays, parse_fst_bytes, read_fst, vector_fst_bytes
from dgmm.fileutil import temp_dir_for
from dgmm.graph.hmm_fst import add_self_loops, h_transducer
from dgmm.graph.push_special import push_special
from dgmm.graph.rmeps_local import remove_eps_local
from dgmm.kaldi.event_map import read_tree
from dgmm.kaldi.gmm_model import read_transition_model
from dgmm.kaldi.ports import kaldifst
from dgmm.lang.subword import MARKER_FILE as SUBWORD_MARKER

log = logging.getLogger(__name__)

_EXPANDED_MUTABLE = 0x3  # OpenFst property bits of a VectorFst with nothing else known

#: phones/ files copied into the graph dir (those of Kaldi's mkgraph.sh that exist in the lang dir)
GRAPH_PHONE_FILES = ("word_boundary.txt", "word_boundary.int", "align_lexicon.txt", "align_lexicon.int",
                     "optional_silence.txt", "optional_silence.int", "optional_silence.csl",
                     "disambig.txt", "disambig.int", "silence.csl")


def fst_to_arrays(fst) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(start, finals [S] float64 (inf = not final), src, dst, ilabel, olabel, cost [A]) of a kaldifst FST."""
    with tempfile.TemporaryDirectory(prefix="dgmm_graph") as d:
        kaldifst.StdConstFst(fst).write(os.path.join(d, "x.fst"))  # const: one block of arcs, fast to parse
        a = parse_fst_bytes(Path(d, "x.fst").read_bytes(), "fst")
    src = np.repeat(np.arange(len(a.finals)), a.narcs)
    return (a.start, a.finals.astype(np.float64), src, a.arcs[:, 3].astype(np.int64), a.arcs[:, 0].astype(np.int64),
            a.arcs[:, 1].astype(np.int64), a.arcs[:, 2].view(np.float32).astype(np.float64))


def arrays_to_fst(start, finals, src, dst, ilabel, olabel, cost):
    """A kaldifst StdVectorFst from arc arrays (costs rounded to float32 once, here)."""
    order = np.argsort(np.asarray(src), kind="stable")
    arcs = np.empty((len(order), 4), np.int32)
    arcs[:, 0] = np.asarray(ilabel)[order]
    arcs[:, 1] = np.asarray(olabel)[order]
    arcs[:, 2] = np.asarray(cost, np.float32)[order].view(np.int32)
    arcs[:, 3] = np.asarray(dst)[order]
    finals = np.asarray(finals, np.float32)
    narcs = np.bincount(np.asarray(src, np.int64), minlength=len(finals)).astype(np.int64)
    with tempfile.TemporaryDirectory(prefix="dgmm_graph") as d:
        path = os.path.join(d, "x.fst")
        Path(path).write_bytes(vector_fst_bytes(FstArrays(int(start), finals, narcs, arcs, _EXPANDED_MUTABLE)))
        return kaldifst.StdVectorFst.read(path)


def _read_ints(path: Path) -> list[int]:
    return [int(x) for x in path.read_text().split()]


def _real_phones(path: Path) -> list[str]:
    """phones.txt lines without the disambiguation symbols, which may differ between compatible lang dirs
    (as Kaldi's utils/lang/check_phones_compatible.sh)."""
    return [line for line in path.read_text().splitlines() if not line.startswith("#")]


def _check_nonempty(fst, what: str) -> None:
    if fst.num_states == 0:
        raise ValueError(f"{what} is empty (do the lang dir's G.fst and L_disambig.fst share words.txt?)")


def _det_log(fst, what: str):
    # kaldifst returns True only when it stopped early at max_states (never, with the default -1)
    if kaldifst.determinize_star(fst, use_log=True):
        raise ValueError(f"determinization of {what} stopped early")


def make_hclg(lang_dir: str | os.PathLike, model_dir: str | os.PathLike, transition_scale: float = 1.0,
              self_loop_scale: float = 0.1):
    """Build HCLG; returns (HCLG as a kaldifst StdVectorFst, disambiguation transition-ids, num_pdfs)."""
    lang, mdl = Path(lang_dir), Path(model_dir)
    for f in (lang / "L_disambig.fst", lang / "G.fst", lang / "phones.txt", lang / "words.txt",
              lang / "phones" / "disambig.int", mdl / "final.mdl", mdl / "tree"):
        if not f.is_file():
            raise FileNotFoundError(f"mkgraph: expected file {f} to exist")
    if (mdl / "phones.txt").is_file() and _real_phones(mdl / "phones.txt") != _real_phones(lang / "phones.txt"):
        raise ValueError(f"phone symbol tables {lang / 'phones.txt'} and {mdl / 'phones.txt'} differ "
                         f"(graph and model from different lang dirs)")
    tree = read_tree(mdl / "tree")
    tm = read_transition_model(mdl / "final.mdl")
    if tm.num_pdfs > tree.num_pdfs:
        raise ValueError(f"{mdl}/final.mdl has {tm.num_pdfs} pdfs but {mdl}/tree only {tree.num_pdfs}")
    disambig_phones = _read_ints(lang / "phones" / "disambig.int")

    L = read_fst(lang / "L_disambig.fst")
    G = read_fst(lang / "G.fst")
    kaldifst.arcsort(L, sort_type="olabel")
    kaldifst.arcsort(G, sort_type="ilabel")
    LG = kaldifst.compose(L, G)
    _check_nonempty(LG, "L o G")
    _det_log(LG, "LG")
    kaldifst.minimize_encoded(LG)
    start, finals, src, dst, il, ol, cost = fst_to_arrays(LG)
    cost, finals = push_special(start, finals, src, dst, cost)
    LG = arrays_to_fst(start, finals, src, dst, il, ol, cost)

    CLG, ilabel_info = kaldifst.compose_context(disambig_syms=disambig_phones, context_width=tree.N,
                                                central_position=tree.P, ifst=LG)
    kaldifst.arcsort(CLG, sort_type="ilabel")

    H, disambig_tids = h_transducer(ilabel_info, tree, tm, transition_scale)
    Hf = arrays_to_fst(H.start, [H.finals.get(s, np.inf) for s in range(H.num_states)], H.src, H.dst,
                       H.ilabel, H.olabel, H.cost)
    kaldifst.arcsort(Hf, sort_type="olabel")
    HCLGa = kaldifst.compose(Hf, CLG)
    _check_nonempty(HCLGa, "H o CLG")
    _det_log(HCLGa, "HCLGa")
    start, finals, src, dst, il, ol, cost = fst_to_arrays(HCLGa)
    il[np.isin(il, disambig_tids)] = 0  # fstrmsymbols disambig_tid.int
    finals, src, dst, il, ol, cost = remove_eps_local(start, finals, src, dst, il, ol, cost)
    HCLGa = arrays_to_fst(start, finals, src, dst, il, ol, cost)
    kaldifst.connect(HCLGa)
    kaldifst.minimize_encoded(HCLGa)

    start, finals, src, dst, il, ol, cost = fst_to_arrays(HCLGa)
    src, dst, il, ol, cost, finals = add_self_loops(src, dst, il, ol, cost, finals, start, tm, self_loop_scale)
    HCLG = arrays_to_fst(start, finals, src, dst, il, ol, cost)
    kaldifst.arcsort(HCLG, sort_type="ilabel")
    return HCLG, disambig_tids, tree.num_pdfs


def mkgraph(lang_dir: str | os.PathLike, model_dir: str | os.PathLike, graph_dir: str | os.PathLike,
            transition_scale: float = 1.0, self_loop_scale: float = 0.1) -> None:
    """``utils/mkgraph.sh <lang-dir> <model-dir> <graph-dir>``: HCLG.fst, words.txt, phones.txt, phones/,
    num_pdfs, disambig_tid.int (and a subword lang's subword_boundary.txt). The graph dir's files are replaced only once everything is built."""
    lang, graph = Path(lang_dir), Path(graph_dir)
    HCLG, disambig_tids, num_pdfs = make_hclg(lang_dir, model_dir, transition_scale, self_loop_scale)
    tmp = temp_dir_for(graph)
    try:
        (tmp / "phones").mkdir()
        kaldifst.StdConstFst(HCLG).write(str(tmp / "HCLG.fst"))
        (tmp / "num_pdfs").write_text(f"{num_pdfs}\n")
        (tmp / "disambig_tid.int").write_text("".join(f"{t}\n" for t in disambig_tids))
        files = ["num_pdfs", "disambig_tid.int", "words.txt", "phones.txt"]
        for name in ("words.txt", "phones.txt"):
            shutil.copyfile(lang / name, tmp / name)
        if (lang / SUBWORD_MARKER).is_file():   # a piece lexicon: scoring joins pieces to words
            shutil.copyfile(lang / SUBWORD_MARKER, tmp / SUBWORD_MARKER)
            files.append(SUBWORD_MARKER)
        for name in GRAPH_PHONE_FILES:
            if (lang / "phones" / name).is_file():
                shutil.copyfile(lang / "phones" / name, tmp / "phones" / name)
                files.append(f"phones/{name}")
        files.append("HCLG.fst")   # last: the recipes take it as "the graph is done"
        (graph / "phones").mkdir(parents=True, exist_ok=True)
        for name in files:
            os.replace(tmp / name, graph / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("Wrote %s/HCLG.fst: %d states, %d pdfs, %d disambiguation transition-ids", graph,
             HCLG.num_states, num_pdfs, len(disambig_tids))
