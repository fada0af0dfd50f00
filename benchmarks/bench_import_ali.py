"""Benchmark: importing the largest alignment set of kaldi_ref (mini_librispeech tri2b_ali_train).

Times the whole import (dgmm.bin.import_ali.import_alignments) and its stages separately: gzip
decompression, archive parsing, transition-id -> pdf/phone mapping (+ counts), archive writing. Runs
on the alignments as Kaldi stored them (gzipped text archives, ``ark,t:|gzip``) and on the same
alignments re-encoded as gzipped binary archives (``ark:|gzip``, the other form Kaldi writes). Also
times kaldiio's int-vector reader on the binary form for comparison. Median of --repeats runs.

    .venv/bin/python benchmarks/bench_import_ali.py [--repeats 5] [--markdown]
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import kaldiio
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dgmm.bin.import_ali import alignment_files, import_alignments  # noqa: E402
from dgmm.kaldi.alignments import parse_int_vector_archive, read_bytes  # noqa: E402
from dgmm.kaldi.archive import ArchiveWriter  # noqa: E402
from dgmm.kaldi.transition_model import read_transition_model  # noqa: E402
from dgmm.kaldi.tree import read_tree_num_pdfs  # noqa: E402

SHARED = Path(os.environ.get("DGMM_SHARED", REPO.parent / "shared"))
REF = SHARED / "kaldi_ref/mini_librispeech"


def make_ali_dir(root: Path, binary: bool) -> Path:
    """Links to tri2b_ali_train (real final.mdl); with ``binary`` the ali.*.gz are re-encoded binary."""
    d = root / ("ali_bin" if binary else "ali_txt")
    d.mkdir()
    src = REF / "exp/tri2b_ali_train"
    (d / "final.mdl").symlink_to(REF / "exp/tri2b/final.mdl")
    for name in ("tree", "num_jobs"):
        (d / name).symlink_to(src / name)
    for f in alignment_files(src):
        name = Path(f).name
        if not binary:
            (d / name).symlink_to(f)
            continue
        tmp = root / "tmp.ark"
        with ArchiveWriter(tmp) as w:
            for k, v in parse_int_vector_archive(read_bytes(f), f):
                w[k] = v
        (d / name).write_bytes(gzip.compress(tmp.read_bytes(), compresslevel=6))
        tmp.unlink()
    return d


def stages(ali_dir: Path, out: Path) -> dict[str, float]:
    """Seconds per stage of one import, done step by step with the library functions."""
    t = {}
    t0 = time.perf_counter()
    tm = read_transition_model(ali_dir / "final.mdl")
    read_tree_num_pdfs(ali_dir / "tree")
    t["model"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    raw = [read_bytes(f) for f in alignment_files(ali_dir)]
    t["gzip"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    utts = [(k, v) for i, data in enumerate(raw) for k, v in parse_int_vector_archive(data, str(i))]
    t["parse"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    counts = np.zeros(tm.num_pdfs, np.int64)
    mapped = []
    for k, v in utts:
        pdf = tm.tid2pdf[v]
        counts += np.bincount(pdf, minlength=tm.num_pdfs)
        mapped.append((k, pdf, tm.tid2phone[v]))
    t["map"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with ArchiveWriter(out / "pdf_ali.ark", out / "pdf_ali.scp") as wp, \
            ArchiveWriter(out / "phone_ali.ark", out / "phone_ali.scp") as wf:
        for k, pdf, phone in mapped:
            wp[k] = pdf
            wf[k] = phone
    t["write"] = time.perf_counter() - t0
    t["frames"] = sum(len(v) for _, v in utts)
    t["bytes"] = sum(len(r) for r in raw)
    return t


def kaldiio_read(ali_dir: Path) -> float:
    raw = [read_bytes(f) for f in alignment_files(ali_dir)]
    t0 = time.perf_counter()
    for data in raw:
        for _ in kaldiio.load_ark(io.BytesIO(data)):
            pass
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = root / "data"
        data.mkdir()
        for binary in (False, True):
            ali = make_ali_dir(root, binary)
            if not (data / "utt2num_frames").exists():
                lens = {k: len(v) for f in alignment_files(ali) for k, v in
                        parse_int_vector_archive(read_bytes(f), f)}
                (data / "utt2num_frames").write_text("".join(f"{k} {n}\n" for k, n in sorted(lens.items())))
            runs, total = [], []
            for r in range(args.repeats):
                out = root / f"out{binary}{r}"
                out.mkdir()
                runs.append(stages(ali, out))
                t0 = time.perf_counter()
                import_alignments(ali, data, root / f"imp{binary}{r}", lang=REF / "data/lang")
                total.append(time.perf_counter() - t0)
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            med["total"] = statistics.median(total)
            # what the stages do not cover: fsync of the written files, copies, utt2num_frames, report
            med["rest"] = med["total"] - sum(med[k] for k in ("model", "gzip", "parse", "map", "write"))
            med["kaldiio"] = kaldiio_read(ali) if binary else float("nan")
            med["form"] = "binary (ark:)" if binary else "text (ark,t:), as stored"
            rows.append(med)
    print(f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"Python {platform.python_version()}, numpy {np.__version__}")
    if args.markdown:
        print("| archive form | frames | decompressed MB | import total s | model+tree read s | gzip s "
              "| parse s | map+count s | write s | rest (fsync, copies, report) s | kaldiio read s |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
    for m in rows:
        vals = [m["form"], f"{m['frames']:.0f}", f"{m['bytes'] / 1e6:.1f}", f"{m['total']:.3f}",
                f"{m['model']:.3f}", f"{m['gzip']:.3f}", f"{m['parse']:.3f}", f"{m['map']:.3f}",
                f"{m['write']:.3f}",
                f"{m['rest']:.3f}", f"{m['kaldiio']:.3f}"]
        print("| " + " | ".join(vals) + " |" if args.markdown else "  ".join(vals))


if __name__ == "__main__":
    main()
