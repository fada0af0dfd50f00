#!/usr/bin/env python3
"""Phone error rate of a word decode's best paths, as the Kaldi reference run scores PER.

Usage: local/score_per.py [--model <mdl>] <lang-dir> <ref-ali-dir> <decode-dir>

Hypothesis: the transition-id alignments of the best paths, <decode-dir>/ali.*.int (steps/decode.sh, one
line per utterance), split into phones with --model (default <decode-dir>/../final.mdl; ``ali-to-phones``). Reference: the
forced alignments of the transcripts, <ref-ali-dir>/ali.*.gz with its final.mdl. Both are mapped alike:
phone symbols of <lang-dir>/phones.txt, word-position suffix (_B/_E/_I/_S) removed, SIL removed (SPN, the
pronunciation of <UNK>, stays a token). Counted as ``compute-wer --text --mode=present``.
Writes <decode-dir>/scoring_per/{per,ref_filt.txt,hyp.txt}; ``per`` is compute-wer's summary with %PER.
"""

import argparse
import glob
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))  # the dgmm package when run without path.sh
from dgmm.fileutil import atomic_open  # noqa: E402
from dgmm.kaldi.alignments import read_int_vectors, split_to_phones  # noqa: E402
from dgmm.kaldi.tables import read_table  # noqa: E402
from dgmm.kaldi.transition_model import read_transition_model  # noqa: E402
from dgmm.scoring.wer import score  # noqa: E402

SUFFIXES = ("_B", "_E", "_I", "_S")


def base_phone_table(phones_txt: Path) -> list[str]:
    """Phone-id -> base phone symbol (position suffix removed)."""
    table = read_table(phones_txt, convert=int)
    names = [""] * (max(table.values()) + 1)
    for sym, i in table.items():
        names[i] = sym[:-2] if sym.endswith(SUFFIXES) else sym
    return names


def phone_sequences(files: list[str], mdl: Path, names: list[str], drop: str) -> dict[str, list[str]]:
    """utt -> base phones of each alignment in ``files`` (phone instances in order, ``drop`` removed)."""
    tm = read_transition_model(mdl)
    out = {}
    for f in files:
        for utt, ali, _ in read_int_vectors(f"ark:{f}"):
            pieces = split_to_phones(tm, ali)
            ids = tm.tid2phone[np.array([p[0] for p in pieces], dtype=np.int64)] if pieces else []
            out[utt] = [names[i] for i in ids if names[i] != drop]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sil", default="SIL", help="phone removed from both sides (default: %(default)s)")
    ap.add_argument("--model", type=Path, help="model of the decode (default: <decode-dir>/../final.mdl)")
    ap.add_argument("lang_dir", type=Path)
    ap.add_argument("ref_ali_dir", type=Path)
    ap.add_argument("decode_dir", type=Path)
    a = ap.parse_args()
    names = base_phone_table(a.lang_dir / "phones.txt")
    ref_files = sorted(glob.glob(str(a.ref_ali_dir / "ali.*.gz")))
    hyp_files = sorted(glob.glob(str(a.decode_dir / "ali.*.int")))
    if not ref_files:
        sys.exit(f"{sys.argv[0]}: no alignments {a.ref_ali_dir}/ali.*.gz")
    if not hyp_files:
        sys.exit(f"{sys.argv[0]}: no best-path alignments {a.decode_dir}/ali.*.int (steps/decode.sh writes them)")
    refs = phone_sequences(ref_files, a.ref_ali_dir / "final.mdl", names, a.sil)
    hyps = phone_sequences(hyp_files, a.model or a.decode_dir.parent / "final.mdl", names, a.sil)
    c = score(refs, hyps)
    out = a.decode_dir / "scoring_per"
    out.mkdir(parents=True, exist_ok=True)
    for name, table in (("ref_filt.txt", refs), ("hyp.txt", hyps)):
        with atomic_open(out / name) as f:
            f.writelines(f"{u} {' '.join(table[u])}\n" for u in sorted(table))
    with atomic_open(out / "per") as f:
        f.write(c.report().replace("%WER", "%PER", 1))
    print(f"{a.decode_dir}: {c.wer_line().replace('%WER', '%PER')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
