"""Speed of pip-port decoding on Kaldi's golden log-likelihoods (yesno, FSDD mono/tri1).

    .venv/bin/python benchmarks/bench_decode.py > benchmarks/RESULTS_decode.md

Per set: real-time factor (100 frames/s) of one decode at acwt 0.083333 (what latgen-faster-mapped
does), of the 33 extra decodes of the LMWT 7..17 x WIP {0,0.5,1} sweep, their ratio (same run, same
machine), and Kaldi's latgen-faster-mapped RTF from the golden log (another machine: indicative only).
"""

from __future__ import annotations

import os
import platform
import re
import sys
import time
from pathlib import Path

import kaldiio
import torch

from dgmm.decode.decoder import MappedDecoder
from dgmm.decode.fst_io import read_fst
from dgmm.kaldi.transition_model import read_transition_model

REF = Path(__file__).resolve().parents[2] / "shared" / "kaldi_ref"


def main() -> None:
    torch.set_num_threads(1)
    print("# Decoding speed: pip-port LatticeFasterDecoder on Kaldi's golden log-likelihoods\n")
    print(f"Command: `{' '.join(sys.argv)}`; machine: {platform.machine()}, {os.cpu_count()} cores "
          f"(shared with other jobs, load {os.getloadavg()[0]:.1f}); single thread.\n")
    print("| set | utts | frames | one decode RTF | 33-setting sweep RTF | sweep / one | Kaldi latgen RTF (log) |")
    print("|---|---|---|---|---|---|---|")
    for name in ("yesno/golden_decode", "fsdd/golden_decode_mono", "fsdd/golden_decode_tri1"):
        g = REF / name
        tid2pdf = read_transition_model(g / "final.mdl").tid2pdf
        mats = list(kaldiio.load_ark(str(g / "loglikes.ark")))
        frames = sum(len(m) for _, m in mats)
        one = MappedDecoder(read_fst(g / "HCLG.fst"), tid2pdf)
        t0 = time.perf_counter()
        for u, m in mats:
            one.decode(u, m, 0.083333)
        t_one = time.perf_counter() - t0
        decs = {w: MappedDecoder(read_fst(g / "HCLG.fst", word_penalty=w), tid2pdf) for w in (0.0, 0.5, 1.0)}
        t0 = time.perf_counter()
        for u, m in mats:
            for dec in decs.values():
                for lmwt in range(7, 18):
                    dec.decode(u, m, 1.0 / lmwt)
        t_sweep = time.perf_counter() - t0
        log = (g / "latgen-faster-mapped.log").read_text()
        kaldi = re.search(r"real-time factor assuming 100 frames/sec is ([0-9.e-]+)", log)
        rtf = lambda t: t / (frames / 100.0)
        print(f"| {name} | {len(mats)} | {frames} | {rtf(t_one):.5f} | {rtf(t_sweep):.5f} | "
              f"{t_sweep / t_one:.1f} | {kaldi.group(1) if kaldi else 'n/a'} |")
    print("\nThe sweep replaces Kaldi's lattice rescoring (lattice-scale | lattice-add-penalty | "
          "lattice-best-path), which the pip port cannot do: it returns no lattice.")


if __name__ == "__main__":
    main()
