"""Frame-level cross-entropy and state (pdf) accuracy of a trained model on aligned data.

    python -m dgmm.bin.frame_accuracy [--model exp/dgmm/final.pt] <data-dir> <ali-dir> <model-dir>

<ali-dir> is an import dir (steps/import_ali.sh: pdf_ali.scp, num_pdfs) of the same data, e.g. the
test set force-aligned with the GMM system. Features get the CMVN and splicing the model was trained
with. Prints and writes <model-dir>/frame_accuracy.<data-name>: ``ce <nats/frame> acc <percent>
frames <n>``, the numbers steps/results_table.sh reports as "test state accuracy".
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch

from dgmm.cli import DgmmError, run_main, setup_logging
from dgmm.data.frames import Cmvn, iter_batches, read_frames
from dgmm.fileutil import atomic_open
from dgmm.models.checkpoint import load_checkpoint, load_model

log = logging.getLogger(__name__)


@torch.no_grad()
def frame_accuracy(model, data, left: int, right: int, batch_size: int = 4096) -> tuple[float, float, int]:
    """(mean CE in nats/frame, accuracy in percent, frames) of ``model`` on a FrameSet."""
    model.eval()
    ce, correct = 0.0, 0
    for frames, _ in iter_batches(torch.arange(len(data)), batch_size):
        x, y = data.gather(frames, left, right)
        log_post = model(x)
        ce += float(torch.nn.functional.nll_loss(log_post, y, reduction="sum"))
        correct += int((log_post.argmax(-1) == y).sum())
    n = len(data)
    return ce / max(n, 1), 100.0 * correct / max(n, 1), n


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="model file (default: <model-dir>/final.pt)")
    p.add_argument("--num-threads", type=int, default=1)
    p.add_argument("data")
    p.add_argument("ali_dir")
    p.add_argument("model_dir")
    args = p.parse_args(argv)
    setup_logging("frame_accuracy")
    torch.set_num_threads(args.num_threads)
    path = Path(args.model or Path(args.model_dir) / "final.pt")
    if not path.exists():
        raise DgmmError(f"model {path} not found")
    ckpt = load_checkpoint(path)
    model = load_model(path)
    left, right = ckpt.get("splice", (20, 5))
    data = read_frames(args.data, args.ali_dir, None, Cmvn.from_checkpoint(ckpt, args.data))
    if data.num_pdfs != model.config["num_states"]:
        raise DgmmError(f"{args.ali_dir}: {data.num_pdfs} pdfs, but model {path} has {model.config['num_states']}")
    ce, acc, n = frame_accuracy(model, data, left, right)
    line = f"ce {ce:.4f} acc {acc:.2f} frames {n}"
    with atomic_open(Path(args.model_dir) / f"frame_accuracy.{Path(args.data).name}") as f:
        f.write(line + "\n")
    print(line)
    return 0


if __name__ == "__main__":
    run_main(main)
