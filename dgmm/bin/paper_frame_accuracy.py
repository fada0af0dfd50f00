"""Test-set CE and state accuracy of many systems in one process (dgmm.bin.frame_accuracy's numbers):
writes <exp>/<system>/frame_accuracy.<test-set> ("ce <nats/frame> acc <percent> frames <n>").

Usage: python -m dgmm.bin.paper_frame_accuracy [options] <ali-dir> <test-set> <exp-dir> <system>=<data-dir>...
 e.g.: python -m dgmm.bin.paper_frame_accuracy exp/ali_test test exp/paper dnn=data/fbank/test \\
           sgmm_lda=exp/paper/data/lda_test

A system whose output is newer than its final.pt is skipped. One process for all systems saves a
Python start per system (the paper's tables have fifteen).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from dgmm.bin.frame_accuracy import frame_accuracy
from dgmm.cli import DgmmError, run_main, setup_logging
from dgmm.data.frames import Cmvn, read_frames
from dgmm.fileutil import atomic_open
from dgmm.models.checkpoint import load_checkpoint, load_model


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="paper_frame_accuracy", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                usage="%(prog)s [options] <ali-dir> <test-set> <exp-dir> <system>=<data-dir>...")
    p.add_argument("--num-threads", type=int, default=1)
    p.add_argument("ali_dir")
    p.add_argument("test_set")
    p.add_argument("exp_dir")
    p.add_argument("systems", nargs="+", metavar="<system>=<data-dir>")
    args = p.parse_args(argv)
    log = setup_logging("paper_frame_accuracy")
    torch.set_num_threads(args.num_threads)
    for s in args.systems:
        name, eq, data_dir = s.partition("=")
        if not eq:
            raise DgmmError(f"expected <system>=<data-dir>, got {s!r}")
        model_file = Path(args.exp_dir) / name / "final.pt"
        out = model_file.parent / f"frame_accuracy.{args.test_set}"
        if not model_file.exists():
            raise DgmmError(f"model {model_file} not found")
        if out.exists() and out.stat().st_mtime >= model_file.stat().st_mtime:
            continue
        ckpt = load_checkpoint(model_file)
        model = load_model(model_file)
        left, right = ckpt.get("splice", (20, 5))
        data = read_frames(data_dir, args.ali_dir, None, Cmvn.from_checkpoint(ckpt, data_dir))
        if data.num_pdfs != model.config["num_states"]:
            raise DgmmError(f"{args.ali_dir}: {data.num_pdfs} pdfs, but {model_file} has {model.config['num_states']}")
        ce, acc, n = frame_accuracy(model, data, left, right)
        with atomic_open(out) as f:
            f.write(f"ce {ce:.4f} acc {acc:.2f} frames {n}\n")
        log.info("%s: ce %.4f acc %.2f%% on %d frames of %s", name, ce, acc, n, data_dir)
    return 0


if __name__ == "__main__":
    run_main(main)
