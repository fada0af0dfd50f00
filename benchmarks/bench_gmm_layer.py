"""Benchmark of the GMM layer (forward + backward) and of whole training steps, DNN vs DGMM.

For each shape (B frames, S states, g components, d dimensions) it times, in one process and
interleaved so that the machine's load affects all alike:
  gmm      GMMLayer forward + backward (gradients for x, means, log-variances, weight logits)
  gemm     a plain GEMM of the same FLOPs, [B, 2d] x [2d, S*g], forward + backward (both inputs)
  linear   the DNN's output layer, Linear(2560 -> S) + log_softmax, forward + backward
and the full training step (forward, loss, backward, SGD update) of the paper's DNN 8x2560 and of
DGMM 7x2560 + GMM(d, g), in frames/s. Every figure is the median over ``--reps`` interleaved rounds (one call of each
function per round), and each ratio is the median of the per-round ratios, so that a change of
load during the run affects numerator and denominator alike. Ratios are the figures to read;
absolute times depend on load (the load average is printed with each table).

With ``--baseline FILE`` (another version of dgmm/models/gmm_layer.py, e.g. from
``git show REV:dgmm/models/gmm_layer.py > old.py``) that version's layer is timed in the same rounds
on the same parameters, for a before/after comparison under the same load.

Usage: python benchmarks/bench_gmm_layer.py [--threads 2] [--reps 7] [--quick] [--baseline FILE] [--out RESULTS.md]
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import platform
import statistics
import time

import torch
import torch.nn.functional as F

from dgmm.models import GMMLayer, build_model, gmm_kernels

SHAPES = [  # (name, B, S, g, d)
    ("small", 200, 100, 4, 40),
    ("GMM(480,5)", 200, 2432, 5, 480),
    ("GMM(272,5)", 200, 2432, 5, 272),
    ("GMM(80,15)", 200, 13568, 15, 80),
]


class Timings:
    """Wall-clock times of ``reps`` rounds; in each round every function is called once, in turn
    (after one warm-up call each)."""

    def __init__(self, fns: dict, reps: int):
        for f in fns.values():
            f()
        self.times = {k: [] for k in fns}
        for _ in range(reps):
            for k, f in fns.items():
                t = time.perf_counter()
                f()
                self.times[k].append(time.perf_counter() - t)

    def __getitem__(self, k: str) -> float:
        """Median time of k, seconds."""
        return statistics.median(self.times[k])

    def ratio(self, k: str, ref: str) -> float:
        """Median over rounds of time(k) / time(ref) in the same round."""
        return statistics.median(a / b for a, b in zip(self.times[k], self.times[ref]))


def layer_fns(B: int, S: int, g: int, d: int, hidden: int = 2560, baseline=None):
    torch.manual_seed(0)
    layer = GMMLayer(d, S, g)
    x = torch.randn(B, d, requires_grad=True)
    a = torch.randn(B, 2 * d, requires_grad=True)
    w = torch.randn(S * g, 2 * d, requires_grad=True)
    lin = torch.nn.Linear(hidden, S)
    h = torch.randn(B, hidden, requires_grad=True)
    y = torch.randint(0, S, (B,))

    def gmm():
        layer.zero_grad(set_to_none=True)
        x.grad = None
        layer(x).sum().backward()

    def gemm():
        a.grad = w.grad = None
        (a @ w.t()).sum().backward()

    def linear():
        lin.zero_grad(set_to_none=True)
        h.grad = None
        F.nll_loss(F.log_softmax(lin(h), -1), y).backward()

    def base():
        layer.zero_grad(set_to_none=True)
        x.grad = None
        baseline.gmm_log_likelihoods(x, layer.means, layer.log_vars, layer.weight_logits, layer.var_floor,
                                     layer.exact).sum().backward()

    return {"gmm": gmm, "gemm": gemm, "linear": linear, **({"base": base} if baseline else {})}


def load_baseline(path: str):
    """Another version of the GMM layer module, loaded from a file."""
    spec = importlib.util.spec_from_file_location("gmm_layer_baseline", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def trained_like_fns(B: int, S: int, g: int, d: int, ratio: float):
    """GMM layer fwd+bwd on inputs drawn from the layer's own components, means spread N(0, 1) and
    sigma = 1/ratio: the regime of a trained model, where the float32 correction may be needed."""
    torch.manual_seed(0)
    layer = GMMLayer(d, S, g, var_floor=1e-4)
    with torch.no_grad():
        layer.log_vars.fill_(-2 * math.log(ratio))
    s, i = torch.randint(0, S, (B,)), torch.randint(0, g, (B,))
    x = (layer.means[s, i] + torch.randn(B, d) / ratio).detach().requires_grad_()

    def gmm():
        layer.zero_grad(set_to_none=True)
        x.grad = None
        layer(x).sum().backward()

    return gmm


def count_routes(fn) -> str:
    """Which float32 correction route the GMM layer's blocks took during one call of fn."""
    from dgmm.models import gmm_layer as gl
    counts = {"_inaccurate_elements": 0, "_direct_loglik": 0, "_block_float64": 0}
    saved = {k: getattr(gl, k) for k in counts}
    for k in counts:
        setattr(gl, k, (lambda k: lambda *a: counts.__setitem__(k, counts[k] + 1) or saved[k](*a))(k))
    try:
        fn()
    finally:
        for k, v in saved.items():
            setattr(gl, k, v)
    return (f"{counts['_inaccurate_elements']} checked, {counts['_direct_loglik']} gathered, "
            f"{counts['_block_float64']} float64")


def step_fn(config: dict, B: int):
    torch.manual_seed(0)
    model = build_model(config)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    x = torch.randn(B, config.get("input_dim", 1040))
    y = torch.randint(0, config["num_states"], (B,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss, _ = model.training_loss(x, y)
        loss.backward()
        opt.step()

    return step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="small shape and no training steps (smoke test)")
    ap.add_argument("--baseline", default=None, help="time this gmm_layer.py version too (before/after)")
    ap.add_argument("--out", default=None, help="write the markdown table here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    baseline = load_baseline(args.baseline) if args.baseline else None
    t0 = time.perf_counter()
    lib = gmm_kernels.load()  # built here if not cached yet (DGMM_GMM_KERNELS=eager: the torch path)
    kernels = f"fused C kernels (loaded/built in {time.perf_counter() - t0:.2f} s)" if lib else "torch only"
    lines = [f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
             f"threads {args.threads}, load average at start {os.getloadavg()[0]:.2f}, GMM layer: {kernels}", "",
             "| shape (B, S, g, d) | GMM layer fwd+bwd ms | equal-FLOP GEMM ms | Linear(2560->S)+log_softmax ms | GMM/GEMM | GMM/Linear | "
             + ("baseline ms | baseline/GEMM | " if baseline else "") + "load |",
             "|---|---|---|---|---|---|" + ("---|---|" if baseline else "") + "---|"]
    for name, B, S, g, d in SHAPES[:1] if args.quick else SHAPES:
        t = Timings(layer_fns(B, S, g, d, baseline=baseline), args.reps)
        lines.append(f"| {name} ({B}, {S}, {g}, {d}) | {1e3 * t['gmm']:.1f} | {1e3 * t['gemm']:.1f} | "
                     f"{1e3 * t['linear']:.1f} | {t.ratio('gmm', 'gemm'):.2f} | {t.ratio('gmm', 'linear'):.2f} | "
                     + (f"{1e3 * t['base']:.1f} | {t.ratio('base', 'gemm'):.2f} | " if baseline else "")
                     + f"{os.getloadavg()[0]:.1f} |")
        print(lines[-1], flush=True)
    if not args.quick:
        lines += ["", "GMM layer on trained-like inputs (x drawn from the layer's own components, sigma = spread / "
                  "ratio), GMM(272,5), S=2432, B=200:", "",
                  "| ratio | GMM layer ms | equal-FLOP GEMM ms | GMM/GEMM | blocks (of 13): per-element check / gathered / float64 |",
                  "|---|---|---|---|---|"]
        for ratio in (1.0, 3.0, 10.0, 30.0):
            fns = {"gmm": trained_like_fns(200, 2432, 5, 272, ratio), "gemm": layer_fns(200, 2432, 5, 272)["gemm"]}
            t = Timings(fns, args.reps)
            lines.append(f"| {ratio:g} | {1e3 * t['gmm']:.1f} | {1e3 * t['gemm']:.1f} | {t.ratio('gmm', 'gemm'):.2f} | "
                         f"{count_routes(fns['gmm'])} |")
            print(lines[-1], flush=True)
        B = 200
        steps = {"DNN 8x2560": step_fn({"type": "dnn", "num_states": 2432}, B),
                 "DGMM 7x2560+GMM(272,5)": step_fn({"type": "dgmm", "num_states": 2432, "bottleneck_dim": 272,
                                                    "num_components": 5}, B),
                 "DGMM 7x2560+GMM(480,5)": step_fn({"type": "dgmm", "num_states": 2432, "bottleneck_dim": 480,
                                                    "num_components": 5}, B)}
        t = Timings(steps, args.reps)
        lines += ["", f"Training step (batch {B}, SGD), frames/s (load {os.getloadavg()[0]:.1f}):", "",
                  "| model | frames/s | step time / DNN's |", "|---|---|---|"]
        for k in steps:
            lines.append(f"| {k} | {B / t[k]:.0f} | {t.ratio(k, 'DNN 8x2560'):.2f} |")
            print(lines[-1], flush=True)
    lines.append(f"\nload average at end {os.getloadavg()[0]:.2f}")
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
