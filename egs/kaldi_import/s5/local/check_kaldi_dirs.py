#!/usr/bin/env python3
"""Check that a Kaldi system's lang dir, alignment dir(s) and decoding graph belong together.

Usage: local/check_kaldi_dirs.py [options] --lang <lang-dir> --ali-dir <ali-dir> --graph <graph-dir>
e.g.: local/check_kaldi_dirs.py --lang K/data/lang --ali-dir K/exp/tri3_ali --graph K/exp/tri3/graph \\
        --test-ali K/exp/tri3_ali_test --align-data K/data/dev

The networks predict the pdf-ids of <ali-dir>/final.mdl and their archives are decoded with <graph-dir>,
so the two must come from one model. Checked (every problem is reported, then exit status 1):
  * the files the pipeline reads exist: lang (topo, words.txt, phones.txt, L.fst, phones/disambig.int),
    alignments (final.mdl, tree, ali.*.gz), graph (HCLG.fst, words.txt);
  * model and tree have the same number of pdfs;
  * the graph's num_pdfs equals the model's, and its disambig_tid.int starts at the model's number
    of transition-ids + 1 (make-h-transducer numbers the graph's disambiguation symbols from there),
    so the graph was built from a model with this transition model;
  * phones.txt of the lang dir, the graph and the alignment dir (where present) are identical;
  * each --test-ali dir has the same tree and transition model as <ali-dir>;
  * each --align-data dir (a test set without alignments, to be aligned here with <ali-dir>/final.mdl)
    can be: the model is a diagonal GMM on MFCC + deltas + double deltas with CMVN (no LDA/MLLT
    final.mat, no fMLLR trans.*, no non-default delta_opts), of dimension 3 x the MFCC dimension
    (the data dir's feats.scp, else 13 as computed here).
Prints one summary line per checked dir.
"""

from __future__ import annotations

import argparse
import filecmp
import logging
from pathlib import Path

import kaldiio

from dgmm.cli import DgmmError, run_main, setup_logging
from dgmm.kaldi.gmm_model import read_gmm_model
from dgmm.kaldi.tables import read_table
from dgmm.kaldi.transition_model import read_transition_model
from dgmm.kaldi.tree import read_tree_num_pdfs

log = logging.getLogger("check_kaldi_dirs")

LANG_FILES = ("topo", "words.txt", "phones.txt", "L.fst", "phones/disambig.int")
MFCC_DIM = 13   # dgmm.gmm.features.compute_mfcc: Kaldi's default compute-mfcc-feats


def missing(d: Path, names, problems: list[str]) -> bool:
    """Append a problem for each absent file of ``d``; True when any is absent."""
    absent = [n for n in names if not (d / n).is_file()]
    problems += [f"{d}/{n}: missing" for n in absent]
    return bool(absent)


def same_phones(a: Path, b: Path, problems: list[str]) -> None:
    if a.is_file() and b.is_file() and read_table(a, int) != read_table(b, int):
        problems.append(f"{b} differs from {a}: the two come from different lang dirs (phone sets)")


def check_align_data(data: Path, ali: Path, problems: list[str]) -> None:
    """Can dgmm's steps/align_si.sh align ``data`` with the GMM of ``ali``? (MFCC + deltas only.)"""
    why = ("give its alignments with --kaldi-test-ali (Kaldi: steps/align_si.sh, or align_fmllr.sh for SAT), "
           "or --kaldi-test-ali <set>=none to skip the test-set state accuracy")
    extra = [n for n in ("final.mat", "full.mat", "trans.1") if (ali / n).exists()]
    if extra:
        problems.append(f"{ali} has {' and '.join(extra)} (LDA/MLLT or fMLLR features), which dgmm cannot "
                        f"compute to align {data}: {why}")
        return
    if (ali / "delta_opts").is_file() and (ali / "delta_opts").read_text().strip():
        problems.append(f"{ali}/delta_opts is not empty ({(ali / 'delta_opts').read_text().strip()}): "
                        f"dgmm aligns with default deltas only; for {data}, {why}")
        return
    try:
        dim = read_gmm_model(ali / "final.mdl").am.dim
    except ValueError as e:
        problems.append(f"{ali}/final.mdl is not a GMM model ({e}); to align {data}, {why}")
        return
    feat_dim, source = MFCC_DIM, "MFCCs computed from wav.scp"
    if (data / "feats.scp").is_file():
        _, first = next(iter(kaldiio.load_scp_sequential(str(data / "feats.scp"))))
        feat_dim, source = first.shape[1], f"{data}/feats.scp"
    if dim != 3 * feat_dim:
        problems.append(f"{ali}/final.mdl has dimension {dim}, but {source} give {feat_dim} x 3 = "
                        f"{3 * feat_dim} with deltas; to align {data}, {why}")
    else:
        log.info("%s will be aligned with %s/final.mdl (dim %d = %s + deltas)", data, ali, dim, source)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="check_kaldi_dirs", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lang", required=True, type=Path)
    p.add_argument("--ali-dir", required=True, type=Path, help="alignments of the training set")
    p.add_argument("--graph", required=True, type=Path, help="decoding graph dir (HCLG.fst)")
    p.add_argument("--test-ali", action="append", default=[], type=Path, help="alignments of a test set")
    p.add_argument("--align-data", action="append", default=[], type=Path,
                   help="data dir of a test set to be aligned with <ali-dir>/final.mdl")
    a = p.parse_args(argv)
    setup_logging("check_kaldi_dirs")
    problems: list[str] = []
    missing(a.lang, LANG_FILES, problems)
    graph_ok = not missing(a.graph, ("HCLG.fst", "words.txt"), problems)
    ali_ok = not missing(a.ali_dir, ("final.mdl", "tree", "ali.1.gz"), problems)
    if ali_ok:
        tm = read_transition_model(a.ali_dir / "final.mdl")
        tree_pdfs = read_tree_num_pdfs(a.ali_dir / "tree")
        if tree_pdfs != tm.num_pdfs:
            problems.append(f"{a.ali_dir}: final.mdl has {tm.num_pdfs} pdfs but tree has {tree_pdfs}")
        log.info("%s: %d pdfs, %d transition-ids, %d alignment files", a.ali_dir, tm.num_pdfs,
                 tm.num_transition_ids, len(list(a.ali_dir.glob("ali.*.gz"))))
        same_phones(a.lang / "phones.txt", a.ali_dir / "phones.txt", problems)
        if graph_ok:
            if (a.graph / "num_pdfs").is_file():
                n = int((a.graph / "num_pdfs").read_text().split()[0])
                if n != tm.num_pdfs:
                    problems.append(f"{a.graph}/num_pdfs is {n} but {a.ali_dir}/final.mdl has {tm.num_pdfs} "
                                    f"pdfs: the graph was built from another model (utils/mkgraph.sh "
                                    f"<lang-test> <model-dir-of-{a.ali_dir.name}> <graph-dir>)")
            tids = [int(t) for t in (a.graph / "disambig_tid.int").read_text().split()] \
                if (a.graph / "disambig_tid.int").is_file() else []
            if tids and min(tids) != tm.num_transition_ids + 1:
                problems.append(f"{a.graph}/disambig_tid.int starts at {min(tids)}, so the graph's model had "
                                f"{min(tids) - 1} transition-ids; {a.ali_dir}/final.mdl has "
                                f"{tm.num_transition_ids}: the graph was built from another model")
            log.info("%s: HCLG.fst for %s pdfs, %s transition-ids, %d words", a.graph,
                     (a.graph / "num_pdfs").read_text().strip() if (a.graph / "num_pdfs").is_file() else "?",
                     min(tids) - 1 if tids else "?", len(read_table(a.graph / "words.txt")))
        for t in a.test_ali:
            before = len(problems)
            if missing(t, ("final.mdl", "tree", "ali.1.gz"), problems):
                continue
            if not filecmp.cmp(t / "tree", a.ali_dir / "tree", shallow=False):
                problems.append(f"{t}/tree differs from {a.ali_dir}/tree: align the test set with the same "
                                f"model (Kaldi: steps/align_si.sh <data> <lang> <model-dir> <ali-dir>)")
            ttm = read_transition_model(t / "final.mdl")
            if (ttm.num_pdfs, ttm.num_transition_ids) != (tm.num_pdfs, tm.num_transition_ids):
                problems.append(f"{t}/final.mdl has {ttm.num_pdfs} pdfs / {ttm.num_transition_ids} transition-ids, "
                                f"{a.ali_dir}/final.mdl {tm.num_pdfs} / {tm.num_transition_ids}")
            if len(problems) == before:
                log.info("%s: test alignments, same tree as %s", t, a.ali_dir)
        for d in a.align_data:
            check_align_data(d, a.ali_dir, problems)
    same_phones(a.lang / "phones.txt", a.graph / "phones.txt", problems)
    if graph_ok and (a.lang / "words.txt").is_file() and \
            read_table(a.lang / "words.txt", int) != read_table(a.graph / "words.txt", int):
        log.warning("%s/words.txt differs from %s/words.txt (a graph of another vocabulary; decoding and "
                    "scoring use the graph's)", a.graph, a.lang)
    if problems:
        raise DgmmError(f"{len(problems)} problem(s) with the Kaldi dirs:\n  " + "\n  ".join(problems))
    log.info("the lang dir, alignments and graph are consistent")
    return 0


if __name__ == "__main__":
    run_main(main)
