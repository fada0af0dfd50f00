"""Frame loader speed vs training speed: does loading keep the model busy?

    .venv/bin/python benchmarks/bench_loader.py [--frames N] [--threads T] [--out benchmarks/RESULTS_training.md]

One run, same process, same thread count, on a synthetic corpus (N frames of 40-dim features in
utterances of 100-500 frames, written as a Kaldi ark/scp so the streaming path reads real files):
  1. in-RAM loader alone: global shuffle + gather of spliced [200, 26*40] batches (FrameSet.gather);
  2. streaming loader alone: block shuffle (32768-frame buffers) reading feats.scp (StreamingFrames);
  3. training steps (loader + forward + backward + SGD step, batch 200) of:
     a scaled DNN (4 x 512), the paper's DNN (8 x 2560), a scaled DGMM (3 x 512 + GMM d=64, g=5) and the
     paper's DGMM (7 x 2560 + GMM d=272, g=5); 2432 states as in the paper.
Frames/s are the median of several timed windows after a warm-up; ratios within the run are what
count (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import kaldiio  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from dgmm.data.frames import (Cmvn, StreamingFrames, iter_batches, read_frames,  # noqa: E402
                              shuffle_order)
from dgmm.models import build_model  # noqa: E402

S, D, B, L, R = 2432, 40, 200, 20, 5


def make_corpus(root: Path, frames: int, seed: int = 0) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    data, ali = root / "data", root / "ali"
    data.mkdir()
    ali.mkdir()
    n, k = 0, 0
    with kaldiio.WriteHelper(f"ark,scp:{data}/feats.ark,{data}/feats.scp") as wf, \
            kaldiio.WriteHelper(f"ark,scp:{ali}/pdf_ali.ark,{ali}/pdf_ali.scp") as wa:
        while n < frames:
            T = int(rng.integers(100, 500))
            u = f"utt{k:06d}"
            wf(u, rng.standard_normal((T, D)).astype(np.float32))
            wa(u, rng.integers(0, S, T).astype(np.int32))
            n, k = n + T, k + 1
    (ali / "num_pdfs").write_text(f"{S}\n")
    return data, ali


def rate(step, frames_per_call: int, seconds: float, warmup: int = 2, windows: int = 5) -> float:
    """Median frames/s over ``windows`` windows of about ``seconds / windows`` each."""
    for _ in range(warmup):
        step()
    out = []
    for _ in range(windows):
        t0, n = time.perf_counter(), 0
        while True:
            step()
            n += frames_per_call
            dt = time.perf_counter() - t0
            if dt >= seconds / windows:
                break
        out.append(n / dt)
    return statistics.median(out)


def endless_batches(order):
    """Frame ids of batch after batch of ``order``, starting over at the end (timing never runs dry)."""
    while True:
        for frames, _ in iter_batches(order, B):
            yield frames


def loader_step(data, order):
    batches = endless_batches(order)

    def step():
        data.gather(next(batches), L, R)
    return step


def train_step(model, data, order):
    opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    batches = endless_batches(order)

    def step():
        x, y = data.gather(next(batches), L, R)
        loss, _ = model.training_loss(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=300_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=5.0, help="timed seconds per row (small models)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data_dir, ali_dir = make_corpus(Path(tmp), args.frames)
        mem = read_frames(data_dir, ali_dir, None, Cmvn("none"))
        order = shuffle_order(mem.index, 0, 1)
        rows.append(("loader alone, in RAM, global shuffle", rate(loader_step(mem, order), B, args.seconds)))
        st = StreamingFrames(data_dir, ali_dir, None, Cmvn("none"))
        st.set_epoch(0, 1, 32768)
        border = shuffle_order(st.index, 0, 1, block_frames=32768)
        rows.append(("loader alone, streaming from feats.scp, 32768-frame blocks",
                     rate(loader_step(st, border), B, args.seconds)))
        models = [
            ("DNN 4 x 512 (scaled)", {"type": "dnn", "hidden_layers": 4, "hidden_dim": 512}, 1.0),
            ("DGMM 3 x 512 + GMM(64, 5) (scaled)", {"type": "dgmm", "hidden_layers": 3, "hidden_dim": 512,
                                                    "bottleneck_dim": 64, "num_components": 5}, 1.0),
            ("DNN 8 x 2560 (paper)", {"type": "dnn", "hidden_layers": 8, "hidden_dim": 2560}, 3.0),
            ("DGMM 7 x 2560 + GMM(272, 5) (paper)", {"type": "dgmm", "hidden_layers": 7, "hidden_dim": 2560,
                                                     "bottleneck_dim": 272, "num_components": 5}, 3.0),
        ]
        for name, cfg, scale in models:
            model = build_model({**cfg, "input_dim": (L + 1 + R) * D, "num_states": S})
            warm = 2 if scale == 1.0 else 1
            rows.append((f"training step, {name}",
                         rate(train_step(model, mem, order), B, args.seconds * scale, warmup=warm,
                              windows=5 if scale == 1.0 else 3)))
            del model
    base = rows[0][1]
    lines = [
        "# Frame loader vs training speed", "",
        f"Command: `.venv/bin/python benchmarks/bench_loader.py --frames {args.frames} --threads {args.threads}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), torch {torch.__version__}, "
        f"{args.threads} torch threads, load average {os.getloadavg()[0]:.1f} at the end  ",
        f"Data: synthetic, {len(mem)} frames x {D} dims in {len(mem.index.utts)} utterances (100-500 frames), "
        f"{S} states; batch {B}, splice {L}+1+{R} = {(L + 1 + R) * D} inputs  ", "",
        "| path | frames/s | relative to in-RAM loader |", "|---|---:|---:|",
    ]
    lines += [f"| {name} | {r:,.0f} | {r / base:.4f} |" for name, r in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
