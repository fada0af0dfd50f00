"""Fbank extraction speed on the yesno wavs: frames/s on one core.

    .venv/bin/python benchmarks/bench_fbank.py [--waves DIR] [--repeats N] [--out benchmarks/RESULTS_fbank.md]

Compares, in one run on one pinned core (best of N repeats each):
  1. our make_fbank path: dgmm.bin.make_fbank.main on a data dir of all wavs (read audio, compute,
     write a compressed Kaldi archive + scp) -- what each job of steps/make_fbank.sh does -- and
     the same with --compress false;
  2. the same, audio decoding and archive writing excluded (dgmm.features.fbank.compute_fbank);
  3. kaldi-native-fbank called directly (OnlineFbank per utterance, same options);
  4. a pure-numpy Kaldi fbank (``numpy_fbank`` below; vectorised over frames, no dgmm/utils code).
Audio for 2-4 is decoded once beforehand. All use Kaldi's arithmetic for 40 bins, 25/10 ms, dither 0;
the numpy reference's max |difference| to Kaldi's own output is printed as a sanity check.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):   # before numpy loads BLAS
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import kaldi_native_fbank as knf  # noqa: E402
import kaldiio  # noqa: E402

from dgmm.bin import make_fbank  # noqa: E402
from dgmm.data.audio import read_wav_entry  # noqa: E402
from dgmm.features.fbank import FbankConfig, compute_fbank  # noqa: E402

OPTS = ["--sample-frequency=8000", "--num-mel-bins=40", "--frame-length=25", "--frame-shift=10", "--dither=0"]


def numpy_fbank(x: np.ndarray, rate: int = 8000, num_bins: int = 40, frame_ms: float = 25.0,
                shift_ms: float = 10.0, low_freq: float = 20.0, preemph: float = 0.97) -> np.ndarray:
    """Kaldi fbank (snip-edges, povey window, power spectrum, log) in numpy: [N] int16-range -> [T, bins]."""
    wl, ws = int(rate * frame_ms / 1000), int(rate * shift_ms / 1000)
    nfft = 1 << (wl - 1).bit_length()
    t = 1 + (len(x) - wl) // ws
    frames = np.lib.stride_tricks.sliding_window_view(x.astype(np.float64), wl)[::ws][:t]
    frames = frames - frames.mean(axis=1, keepdims=True)
    frames = np.concatenate([frames[:, :1] * (1 - preemph), frames[:, 1:] - preemph * frames[:, :-1]], axis=1)
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(wl) / (wl - 1))) ** 0.85
    power = np.abs(np.fft.rfft(frames * window, nfft)) ** 2
    mel = lambda f: 1127.0 * np.log(1.0 + np.asarray(f) / 700.0)  # noqa: E731
    lo, hi = mel(low_freq), mel(rate / 2)
    delta = (hi - lo) / (num_bins + 1)
    m = mel(np.arange(nfft // 2) * rate / nfft)                      # Kaldi skips the Nyquist bin
    left = lo + delta * np.arange(num_bins)[:, None]
    up, down = (m - left) / delta, (left + 2 * delta - m) / delta
    weights = np.where((m > left) & (m < left + 2 * delta), np.minimum(up, down), 0.0)
    return np.log(np.maximum(power[:, : nfft // 2] @ weights.T, np.finfo(np.float32).eps)).astype(np.float32)


def knf_direct(audio, opts) -> int:
    n = 0
    for x in audio:
        fb = knf.OnlineFbank(opts)
        fb.accept_waveform(8000, x)
        fb.input_finished()
        f = np.stack([fb.get_frame(i) for i in range(fb.num_frames_ready)])
        n += f.shape[0]
    return n


def best_times(fns: list, repeats: int) -> list[tuple[float, int]]:
    """(best seconds, frames) per function; calls interleaved round-robin so load hits all alike."""
    best, frames = [float("inf")] * len(fns), [0] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            frames[i] = fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return list(zip(best, frames))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--waves", default=str(REPO.parent / "shared" / "kaldi_ref" / "yesno" / "waves_yesno"))
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", help="also write the markdown table here")
    a = p.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})   # one core
    wavs = sorted(Path(a.waves).glob("*.wav"))
    audio = [read_wav_entry(str(w), w.stem)[0] for w in wavs]
    cfg = FbankConfig.from_options(OPTS)
    seconds = sum(len(x) for x in audio) / 8000

    ref = REPO.parent / "shared" / "kaldi_ref" / "yesno" / "feats" / "fbank40_dither0.txt"
    check = ""
    if ref.exists():
        kaldi = dict(kaldiio.load_ark(str(ref)))
        diffs = [np.abs(numpy_fbank(read_wav_entry(str(Path(a.waves) / f"{u}.wav"), u)[0]) - k).max()
                 for u, k in kaldi.items()]
        check = f"numpy reference vs Kaldi compute-fbank-feats: max |diff| {max(diffs):.2e}"

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "data"
        d.mkdir()
        (d / "wav.scp").write_text("".join(f"{w.stem} {w}\n" for w in wavs))
        (d / "utt2spk").write_text("".join(f"{w.stem} global\n" for w in wavs))
        conf = Path(tmp) / "fbank.conf"
        conf.write_text("\n".join(OPTS) + "\n")

        def ours_tool(compress: str) -> int:
            make_fbank.main(["--config", str(conf), "--compress", compress, "--write-utt2num-frames",
                             f"{tmp}/u2nf", str(d), f"{tmp}/f.ark", f"{tmp}/f.scp"])
            return sum(int(line.split()[1]) for line in open(f"{tmp}/u2nf"))

        opts = cfg.knf_options()
        rows = [("dgmm make_fbank job (read wav + fbank + write compressed ark/scp)", lambda: ours_tool("true")),
                ("dgmm make_fbank job, --compress false", lambda: ours_tool("false")),
                ("dgmm compute_fbank (audio in memory)", lambda: sum(len(compute_fbank(x, cfg, opts)) for x in audio)),
                ("kaldi-native-fbank called directly (audio in memory)", lambda: knf_direct(audio, opts)),
                ("pure numpy Kaldi fbank (audio in memory)", lambda: sum(len(numpy_fbank(x)) for x in audio))]
        logging.disable(logging.INFO)   # the tool's per-job LOG line
        results = [(name, *t) for (name, _), t in zip(rows, best_times([fn for _, fn in rows], a.repeats))]

    base = results[3][2] / results[3][1]
    lines = [f"Command: `.venv/bin/python benchmarks/bench_fbank.py --repeats {a.repeats}`  ",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
             f"(pinned to one), Python {platform.python_version()}, numpy {np.__version__}, "
             f"load average {os.getloadavg()[0]:.1f} at the end  ",
             f"Data: {len(wavs)} yesno wavs, {seconds:.0f} s of 8 kHz audio, {results[3][2]} frames; "
             f"40 bins, 25/10 ms, dither 0; best of {a.repeats}, interleaved  ", f"{check}  ", "",
             "| path | frames/s (one core) | x real time | relative to kaldi-native-fbank direct |",
             "|---|---:|---:|---:|"]
    for name, sec, frames in results:
        fps = frames / sec
        lines.append(f"| {name} | {fps:,.0f} | {seconds / sec:,.0f} | {fps / base:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        Path(a.out).write_text("# Fbank extraction speed\n\n" + text)


if __name__ == "__main__":
    main()
