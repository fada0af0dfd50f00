#!/usr/bin/env python3
"""Synthesise a connected-digit corpus with espeak-ng, as Kaldi data dirs.

Usage: local/synth_digits.py [options] <audio-dir> <data-dir>

Each synthetic speaker is one espeak-ng accent + voice variant with its own speaking rate (words per
minute), pitch (0-99) and pause between words; its utterances are strings of 1-7 digit words, padded
with 0.1-0.5 s of silence at each end, with additive white or band-passed noise at a random SNR.
Train and test speakers are disjoint (different accent/variant pairs). Audio is 16-bit WAV at
--sample-rate (resampled from espeak-ng's 22.05 kHz by sox). Writes
<data-dir>/{train,test}/{wav.scp,text,utt2spk,spk2utt}. Deterministic for a given --seed; finished
WAV files are kept, so an interrupted run resumes (use a fresh <audio-dir> after changing options).
"""

import argparse
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))  # the dgmm package when run without path.sh
from dgmm.data.datadir import write_data_dir  # noqa: E402

WORDS = "zero one two three four five six seven eight nine".split()
ACCENTS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
           "en-029", "en-us-nyc"]
VARIANTS = ([f"m{i}" for i in range(1, 9)] + [f"f{i}" for i in range(1, 6)]
            + ["klatt", "klatt2", "klatt3", "Andy", "Annie", "adam", "linda", "steph", "john", "david",
               "Alex", "aunty", "benjamin"])


def synthesise(text: str, voice: str, rate: int, pitch: int, gap: int, sample_rate: int) -> np.ndarray:
    """espeak-ng -> sox resampling; returns float32 samples in [-1, 1].

    rate: words per minute; pitch: 0-99; gap: extra pause between words in units of 10 ms.
    """
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "-g", str(gap),
                          "--stdout", text], check=True, capture_output=True).stdout
    # -R: sox's repeatable mode seeds the dither of the 16-bit output (otherwise seeded by the clock,
    # so every run made a different corpus, tree and WER)
    out = subprocess.run(["sox", "-R", "-t", "wav", "-", "-t", "wav", "-r", str(sample_rate), "-b", "16", "-"],
                         input=wav, check=True, capture_output=True).stdout
    samples, _ = sf.read(io.BytesIO(out), dtype="float32")
    return samples


def pad(x: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """0.1-0.5 s of digital silence before and after (the noise then fills it)."""
    lead, trail = (int(rng.uniform(0.1, 0.5) * sample_rate) for _ in range(2))
    return np.concatenate([np.zeros(lead, x.dtype), x, np.zeros(trail, x.dtype)])


def add_noise(x: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Additive noise at ``snr_db`` relative to the speech power: white or band-passed (integrated
    white noise less its 200-sample moving average)."""
    noise = rng.standard_normal(len(x)).astype(np.float32)
    if rng.random() < 0.5:
        noise = np.cumsum(noise) * 0.05
        noise -= np.convolve(noise, np.ones(200) / 200, mode="same")  # remove the random walk's drift
    p_speech = np.mean(x[np.abs(x) > 1e-3] ** 2) if np.any(np.abs(x) > 1e-3) else 1e-6
    noise *= np.sqrt(p_speech / (np.mean(noise ** 2) + 1e-12) / 10 ** (snr_db / 10))
    y = x + noise
    return y / max(1.0, float(np.max(np.abs(y))) / 0.99)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--num-train-speakers", type=int, default=24)
    ap.add_argument("--num-test-speakers", type=int, default=6)
    ap.add_argument("--utts-per-speaker", type=int, default=40)
    ap.add_argument("--snr-range", default="10,30", help="min,max SNR in dB (default: %(default)s)")
    ap.add_argument("--sample-rate", type=int, default=16000)
    ap.add_argument("--seed", type=int, default=777)
    ap.add_argument("audio_dir", type=Path)
    ap.add_argument("data_dir", type=Path)
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    pairs = [(a, v) for a in ACCENTS for v in VARIANTS]
    n_spk = args.num_train_speakers + args.num_test_speakers
    if n_spk > len(pairs):
        sys.exit(f"{sys.argv[0]}: at most {len(pairs)} speakers (accent x variant pairs)")
    chosen = [pairs[i] for i in rng.permutation(len(pairs))[:n_spk]]
    snr_lo, snr_hi = map(float, args.snr_range.split(","))
    args.audio_dir.mkdir(parents=True, exist_ok=True)
    for set_name, speakers in (("train", chosen[:args.num_train_speakers]),
                               ("test", chosen[args.num_train_speakers:])):
        wav_scp, text, utt2spk = {}, {}, {}
        for accent, variant in speakers:
            spk = f"{accent}-{variant}"
            rate, pitch, gap = int(rng.integers(120, 210)), int(rng.integers(20, 80)), int(rng.integers(0, 5))
            for i in range(args.utts_per_speaker):
                urng = np.random.default_rng([args.seed, pairs.index((accent, variant)), i])
                words = [WORDS[d] for d in urng.integers(0, 10, size=int(urng.integers(1, 8)))]
                utt = f"{spk}-{i:03d}"
                path = (args.audio_dir / f"{utt}.wav").resolve()
                if not path.exists():  # resumable: finished files are kept
                    x = synthesise(" ".join(words), f"{accent}+{variant}", rate, pitch, gap, args.sample_rate)
                    y = add_noise(pad(x, args.sample_rate, urng), float(urng.uniform(snr_lo, snr_hi)), urng)
                    tmp = path.with_suffix(".tmp.wav")
                    sf.write(tmp, y, args.sample_rate, subtype="PCM_16")
                    tmp.replace(path)
                wav_scp[utt], text[utt], utt2spk[utt] = str(path), " ".join(words), spk
        write_data_dir(args.data_dir / set_name, wav_scp, text, utt2spk)
        print(f"{sys.argv[0]}: {set_name}: {len(text)} utterances, {len(speakers)} speakers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
