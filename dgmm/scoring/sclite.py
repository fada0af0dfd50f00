"""NIST SCTK ``sclite`` on trn files: writes its ``.sys``/``.pra``/``.dtl`` reports and reads the totals.

sclite aligns with its own weights (substitution 4, insertion/deletion 3), so its ins/del/sub split can
differ from Kaldi's ``compute-wer`` on the same hypotheses; the total errors, reference words and
sentence errors are the same (tests/test_score.py checks this on Kaldi's reference decodes).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Mapping, Sequence

from dgmm.fileutil import atomic_open

DEBIAN_SCLITE = "/usr/lib/sctk/bin/sclite"


def find_sclite() -> str | None:
    """``$SCLITE``, Debian's ``/usr/lib/sctk/bin/sclite`` or ``sclite`` on PATH; None if absent."""
    for cand in (os.environ.get("SCLITE"), DEBIAN_SCLITE, shutil.which("sclite")):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


def write_trn(path: str | os.PathLike, texts: Mapping[str, Sequence[str]],
              utt2spk: Mapping[str, str] | None = None) -> None:
    """sclite trn lines ``w1 w2 ... (SPK-UTT)`` (speaker = utt2spk, or the utterance id itself)."""
    with atomic_open(path, encoding="utf-8") as f:
        for utt, words in texts.items():
            spk = utt2spk.get(utt, utt) if utt2spk else utt
            f.write(f"{' '.join(words)} ({spk}-{utt})\n")


def run_sclite(ref_trn: str | os.PathLike, hyp_trn: str | os.PathLike, out_dir: str | os.PathLike,
               name: str, sclite: str | None = None) -> dict:
    """Run ``sclite -r ref trn -h hyp trn -i rm -o sum pra dtl -O out_dir -n name``.

    Returns the overall totals from ``<name>.dtl``: errors, words, sub, del, ins, sents, sent_errors.
    """
    sclite = sclite or find_sclite()
    if sclite is None:
        raise FileNotFoundError("sclite not found (install Debian's sctk or set $SCLITE)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sclite, "-r", str(ref_trn), "trn", "-h", str(hyp_trn), "trn", "-i", "rm",
           "-o", "sum", "pra", "dtl", "-O", str(out_dir), "-n", name]
    res = subprocess.run(cmd, capture_output=True, text=True)
    dtl = out_dir / f"{name}.dtl"
    if res.returncode != 0 or not dtl.is_file():
        raise RuntimeError(f"sclite failed (exit {res.returncode}): {' '.join(cmd)}\n{res.stdout[-2000:]}{res.stderr[-2000:]}")
    return parse_dtl(dtl)


def parse_dtl(path: str | os.PathLike) -> dict:
    """Totals from a sclite ``.dtl`` report (the ``(N)`` counts of its summary block)."""
    text = Path(path).read_text(errors="replace")

    def count(label: str) -> int:
        m = re.search(label + r"[^\n(]*\(\s*(\d+)\)", text)
        if not m:
            raise ValueError(f"{path}: no '{label}' line in the sclite report")
        return int(m.group(1))

    m = re.search(r"^\s*sentences\s+(\d+)", text, re.M)
    if not m:
        raise ValueError(f"{path}: no sentence count in the sclite report")
    return dict(errors=count("Percent Total Error"), sub=count("Percent Substitution"),
                dels=count("Percent Deletions"), ins=count("Percent Insertions"),
                words=count(r"Ref\. words"), sents=int(m.group(1)), sent_errors=count("with errors"))
