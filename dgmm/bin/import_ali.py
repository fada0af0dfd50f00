"""Import a Kaldi alignment directory as frame labels: pdf-ids, per-frame phones, counts.

Reads ``<kaldi-ali-dir>/{ali.*.gz,final.mdl,tree,num_jobs}`` (any ``steps/align_*.sh`` or training
output) and writes to ``<dest-dir>``:

  pdf_ali.ark + pdf_ali.scp      int32 pdf-id per frame (as ``ali-to-pdf``; ``copy-int-vector`` reads it)
  phone_ali.ark + phone_ali.scp  int32 phone id per frame (as ``ali-to-phones --per-frame=true``)
  final.mdl, tree, phones.txt    copies (decoding needs them)
  num_pdfs                       one integer
  pdf_counts                     frames per pdf, Kaldi text vector ``[ c0 c1 ... ]`` (nnet1's
                                 ali_train_pdf.counts format)
  import_report.txt              what was imported, missing, trimmed/padded, never seen

Frame counts are checked against ``<data-dir>/utt2num_frames``. Alignments with transition-ids (or
pdf-ids, with ``--pdf-ali``) outside the model, a model/tree pdf-count disagreement, truncated gzip
files and duplicate utterances stop the import with an error naming the file; nothing is left
half-written in ``<dest-dir>`` (archives appear only when complete).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from dgmm.cli import DgmmError, run_main, setup_logging
from dgmm.fileutil import atomic_open, atomic_path
from dgmm.kaldi.alignments import read_int_vectors
from dgmm.kaldi.archive import ArchiveWriter, write_text_vector
from dgmm.kaldi.symbols import read_symbol_table
from dgmm.kaldi.tables import read_table
from dgmm.kaldi.transition_model import read_transition_model
from dgmm.kaldi.tree import read_tree_num_pdfs

log = logging.getLogger("import_ali")


@dataclass
class ImportSummary:
    """What an import did (also written as import_report.txt)."""

    sources: list[str]
    num_pdfs: int
    imported: int = 0
    frames: int = 0
    missing_in_ali: list[str] = field(default_factory=list)
    missing_in_data: list[str] = field(default_factory=list)
    length_fixes: list[tuple[str, int, int, str]] = field(default_factory=list)  # utt, ali, data, action
    unseen_pdfs: list[int] = field(default_factory=list)


def alignment_files(ali_dir: Path) -> list[str]:
    """``ali.1.gz .. ali.<num_jobs>.gz`` (all must exist), or every ``ali.N.gz`` without num_jobs."""
    nj_file = ali_dir / "num_jobs"
    if nj_file.exists():
        try:
            nj = int(nj_file.read_text().split()[0])
        except (ValueError, IndexError):
            raise DgmmError(f"{nj_file}: expected one integer") from None
        files = [ali_dir / f"ali.{n}.gz" for n in range(1, nj + 1)]
        for f in files:
            if not f.exists():
                raise DgmmError(f"{f} not found ({nj_file} says {nj} jobs)")
        return [str(f) for f in files]
    found = sorted((int(m.group(1)), p) for p in ali_dir.glob("ali.*.gz")
                   if (m := re.fullmatch(r"ali\.(\d+)\.gz", p.name)))
    if not found:
        raise DgmmError(f"no alignments (ali.*.gz) in {ali_dir}")
    return [str(p) for _, p in found]


def _phones_file(ali_dir: Path, lang: Path | None) -> Path:
    """phones.txt of the ali dir (align_si.sh copies it there) or of --lang; both must agree."""
    own = ali_dir / "phones.txt"
    other = lang / "phones.txt" if lang else None
    if other is not None and not other.exists():
        raise DgmmError(f"{other} not found (--lang {lang})")
    if own.exists() and other is not None and own.read_bytes() != other.read_bytes():
        raise DgmmError(f"{own} and {other} differ: the alignments were made with another phone set")
    if own.exists():
        return own
    if other is not None:
        return other
    raise DgmmError(f"no phones.txt in {ali_dir}; give the lang dir the alignments were made with (--lang)")


def _fit_length(vecs: list[np.ndarray], want: int, tolerance: int, utt: str, src: str,
                data_file: Path) -> tuple[list[np.ndarray], str | None]:
    """Trim or edge-pad the label vectors of one utterance to ``want`` frames (within ``tolerance``)."""
    have = len(vecs[0])
    if have == want:
        return vecs, None
    if abs(have - want) > tolerance or have == 0:
        hint = (f" (--length-tolerance {abs(have - want)} would trim/pad it)"
                if have and abs(have - want) > tolerance else "")
        raise DgmmError(f"utterance {utt}: alignment in {src} has {have} frames but {data_file} says "
                        f"{want}{hint}")
    if have > want:
        return [v[:want] for v in vecs], "trimmed"
    return [np.pad(v, (0, want - have), mode="edge") for v in vecs], "padded"


def import_alignments(ali_dir: str | os.PathLike, data_dir: str | os.PathLike, dest: str | os.PathLike,
                      *, length_tolerance: int = 0, pdf_ali: bool = False, lang=None,
                      ali_rspecifier: str | None = None) -> ImportSummary:
    """Import ``ali_dir`` (see the module docstring) into ``dest``; returns the summary."""
    ali_dir, data_dir, dest = Path(ali_dir), Path(data_dir), Path(dest)
    lang = Path(lang) if lang else None
    mdl, tree, n2f_file = ali_dir / "final.mdl", ali_dir / "tree", data_dir / "utt2num_frames"
    for f in (mdl, tree, n2f_file):
        if not f.exists():
            raise DgmmError(f"expected file {f} to exist")
    if dest.exists() and dest.resolve() == ali_dir.resolve():
        raise DgmmError(f"<dest-dir> must differ from <kaldi-ali-dir> ({dest})")
    if pdf_ali and not ali_rspecifier:   # ali.*.gz hold transition-ids; never guess
        raise DgmmError("--pdf-ali needs --ali <rspecifier> naming the pdf alignments "
                        f"({ali_dir}/ali.*.gz hold transition-ids)")
    if length_tolerance < 0:
        raise DgmmError(f"--length-tolerance must be >= 0, got {length_tolerance}")

    tm = read_transition_model(mdl)
    tree_pdfs = read_tree_num_pdfs(tree)
    if tree_pdfs != tm.num_pdfs:
        raise DgmmError(f"{mdl} has {tm.num_pdfs} pdfs but {tree} has {tree_pdfs}: model and tree "
                        "do not belong together")
    phones_txt = _phones_file(ali_dir, lang)
    phones = read_symbol_table(phones_txt)
    unknown = [p for p in tm.topology.phones if p not in phones.id2sym]
    if unknown:
        raise DgmmError(f"{phones_txt} has no symbol for phone id(s) {unknown[:10]} of {mdl}: "
                        "wrong phones.txt for this model")
    n2f = read_table(n2f_file, int)
    sources = [ali_rspecifier] if ali_rspecifier else alignment_files(ali_dir)
    summary = ImportSummary(sources=sources, num_pdfs=tm.num_pdfs)
    counts = np.zeros(tm.num_pdfs, dtype=np.int64)
    seen: dict[str, str] = {}
    lo, hi, what = (0, tm.num_pdfs - 1, "pdf-id") if pdf_ali else (1, tm.num_transition_ids, "transition-id")

    dest.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        pdf_w = stack.enter_context(ArchiveWriter(dest / "pdf_ali.ark", dest / "pdf_ali.scp"))
        phone_w = (None if pdf_ali else
                   stack.enter_context(ArchiveWriter(dest / "phone_ali.ark", dest / "phone_ali.scp")))
        for spec in sources:
            rspec = spec if ali_rspecifier else f"ark:{spec}"
            for utt, ali, src in read_int_vectors(rspec):
                if utt in seen:
                    raise DgmmError(f"utterance {utt} appears twice: in {seen[utt]} and in {src}")
                seen[utt] = src
                if len(ali) and (ali.min() < lo or ali.max() > hi):
                    bad = int(ali.min()) if ali.min() < lo else int(ali.max())
                    raise DgmmError(f"{src}: utterance {utt} has {what} {bad}, outside {lo}..{hi} of "
                                    f"{mdl} (alignments made with another model?)")
                if utt not in n2f:
                    summary.missing_in_data.append(utt)
                    continue
                vecs = [ali] if pdf_ali else [tm.tid2pdf[ali], tm.tid2phone[ali]]
                vecs, action = _fit_length(vecs, n2f[utt], length_tolerance, utt, src, n2f_file)
                if action:
                    summary.length_fixes.append((utt, len(ali), n2f[utt], action))
                pdf_w[utt] = vecs[0]
                if phone_w is not None:
                    phone_w[utt] = vecs[1]
                counts += np.bincount(vecs[0], minlength=tm.num_pdfs)
                summary.imported += 1
                summary.frames += len(vecs[0])
        if summary.imported == 0:
            raise DgmmError(f"no utterance of {', '.join(sources)} is in {n2f_file}: wrong data dir?")
        # all read; the small files (each atomic) before the archives are renamed into place at the
        # end of this block, pdf_ali.scp last: the recipes take it as "the import is done"
        if pdf_ali:  # a previous import's phone alignments would not match these pdf alignments
            for name in ("phone_ali.ark", "phone_ali.scp"):
                (dest / name).unlink(missing_ok=True)
        summary.missing_in_ali = [u for u in n2f if u not in seen]
        summary.unseen_pdfs = np.flatnonzero(counts == 0).tolist()
        for src_file in (mdl, tree, phones_txt):
            with atomic_path(dest / src_file.name) as tmp:
                shutil.copyfile(src_file, tmp)
        with atomic_open(dest / "num_pdfs") as f:
            f.write(f"{tm.num_pdfs}\n")
        write_text_vector(dest / "pdf_counts", counts)
        write_report(dest / "import_report.txt", summary, ali_dir, data_dir, length_tolerance, pdf_ali)
    return summary


def write_report(path: Path, s: ImportSummary, ali_dir: Path, data_dir: Path, tolerance: int,
                 pdf_ali: bool) -> None:
    """import_report.txt: ``name value`` summary lines, then one line per listed utterance/pdf."""
    lines = [
        f"source {ali_dir}",
        f"alignments {' '.join(s.sources)}" + (" (pdf-ids)" if pdf_ali else " (transition-ids)"),
        f"data {data_dir}",
        f"num_pdfs {s.num_pdfs}",
        f"utterances_imported {s.imported}",
        f"frames_imported {s.frames}",
        f"missing_in_alignments {len(s.missing_in_ali)}",
        f"missing_in_data_dir {len(s.missing_in_data)}",
        f"length_mismatches {len(s.length_fixes)} (tolerance {tolerance})",
        f"pdfs_never_seen {len(s.unseen_pdfs)}",
    ]
    lines += [f"missing-in-alignments {u}" for u in s.missing_in_ali]
    lines += [f"missing-in-data-dir {u}" for u in s.missing_in_data]
    lines += [f"length-mismatch {u} alignment {a} data {d} {act}" for u, a, d, act in s.length_fixes]
    if s.unseen_pdfs:
        lines.append("pdfs-never-seen " + " ".join(map(str, s.unseen_pdfs)))
    with atomic_open(path) as f:
        f.write("\n".join(lines) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="import_ali", description=__doc__.split("\n\n")[0],
        epilog="e.g.: python -m dgmm.bin.import_ali --lang data/lang exp/tri3_ali data/train "
               "exp/tri3_ali_dgmm")
    p.add_argument("ali_dir", help="Kaldi alignment dir (ali.*.gz, final.mdl, tree, num_jobs)")
    p.add_argument("data_dir", help="data dir whose utt2num_frames the alignments must match")
    p.add_argument("dest_dir", help="output dir")
    p.add_argument("--length-tolerance", type=int, default=0,
                   help="trim or edge-pad alignments that differ from utt2num_frames by up to this "
                        "many frames (each case is reported); default 0 = mismatches are errors")
    p.add_argument("--pdf-ali", action="store_true",
                   help="the alignments hold pdf-ids (ali-to-pdf output), not transition-ids; "
                        "no phone alignments are written")
    p.add_argument("--lang", help="lang dir for phones.txt when <kaldi-ali-dir> has none")
    p.add_argument("--ali", dest="ali_rspecifier",
                   help="read the alignments from this rspecifier instead of <kaldi-ali-dir>/ali.*.gz, "
                        "e.g. 'ark:gunzip -c exp/tri3_ali/pdf_ali.*.gz|' or scp:ali.scp")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args(argv)
    setup_logging("import_ali", args.verbose)
    s = import_alignments(args.ali_dir, args.data_dir, args.dest_dir,
                          length_tolerance=args.length_tolerance, pdf_ali=args.pdf_ali, lang=args.lang,
                          ali_rspecifier=args.ali_rspecifier)
    log.info(f"imported {s.imported} utterances ({s.frames} frames, {s.num_pdfs} pdfs) into "
             f"{args.dest_dir}; {len(s.missing_in_ali)} utterances of {args.data_dir} have no alignment, "
             f"{len(s.missing_in_data)} alignments have no utterance in it, {len(s.length_fixes)} "
             f"trimmed/padded, {len(s.unseen_pdfs)} pdfs never seen")
    for u, a, d, act in s.length_fixes:
        log.warning(f"utterance {u}: alignment {a} frames, data {d}: {act}")
    return 0


if __name__ == "__main__":
    run_main(main)
