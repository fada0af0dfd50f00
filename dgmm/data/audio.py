"""Audio of a Kaldi data dir: ``wav.scp`` entries (files or ``cmd |`` pipes) and ``segments``.

``data_dir_audio`` walks a data dir utterance by utterance (with the sample-rate check);
``read_wav_entry`` reads one wav.scp value, ``cut_segment`` one segment, ``resample`` converts rates.

Samples are returned as float32 in the 16-bit integer range (-32768..32767), Kaldi's convention for
feature extraction (``WaveData``): a 16-bit file gives exactly its integer sample values.
"""

from __future__ import annotations

import io
import logging
import math
import os
import subprocess
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf

from dgmm.cli import DgmmError
from dgmm.data.datadir import byte_key, parse_segment
from dgmm.kaldi.tables import read_table

log = logging.getLogger(__name__)


def _wav_data_shortfall(head: bytes, size: int) -> int:
    """Bytes missing from a RIFF WAVE file's data chunk: its declared size minus what the file holds
    (``head`` = the file's first bytes, ``size`` = its length). 0 when complete or not a plain WAVE."""
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return 0
    pos = 12
    while pos + 8 <= len(head):
        cid, n = head[pos:pos + 4], int.from_bytes(head[pos + 4:pos + 8], "little")
        if cid == b"data":
            # size unknown (streamed): 0xFFFFFFFF, or sox's 0x7FFFF000 when it writes WAV to a pipe
            return 0 if n in (0xFFFFFFFF, 0x7FFFF000) else max(0, pos + 8 + n - size)
        pos += 8 + n + (n & 1)
    return 0


def _decode(data: io.BytesIO | str, utt: str, what: str, channel: int) -> tuple[np.ndarray, int, int]:
    """(samples, rate, bytes missing from a truncated WAVE data chunk)."""
    try:
        x, rate = sf.read(data, dtype="float64", always_2d=True)
    except (RuntimeError, sf.LibsndfileError, TypeError, ValueError) as e:
        raise DgmmError(f"utterance {utt}: cannot read audio {what}: {e}") from None
    if isinstance(data, io.BytesIO):
        head, size = data.getvalue()[:4096], len(data.getvalue())
    else:
        with open(data, "rb") as f:
            head, size = f.read(4096), os.fstat(f.fileno()).st_size
    missing = _wav_data_shortfall(head, size)
    if missing:   # Kaldi's WaveData::Read warns and uses the samples present
        log.warning("utterance %s: audio %s is truncated: %d bytes of its data chunk are missing; "
                    "using the %d samples present", utt, what, missing, x.shape[0])
    if x.shape[0] == 0:
        raise DgmmError(f"utterance {utt}: audio {what} is empty (0 samples)")
    if x.shape[1] > 1 and channel < 0:
        raise DgmmError(f"utterance {utt}: audio {what} has {x.shape[1]} channels; choose one with --channel")
    if channel >= x.shape[1]:
        raise DgmmError(f"utterance {utt}: audio {what} has no channel {channel} ({x.shape[1]} channels)")
    return (x[:, max(channel, 0)] * 32768.0).astype(np.float32), int(rate), missing


def read_wav_entry(spec: str, utt: str, cwd: str | Path | None = None,
                   channel: int = -1) -> tuple[np.ndarray, int]:
    """Read one ``wav.scp`` value: a file path, or a shell command ending in ``|`` whose stdout is audio.

    Returns ``(samples [N] float32 in int16 range, sample rate Hz)``. Relative paths and commands are
    resolved in ``cwd`` (default: the current directory, as Kaldi). Missing, unreadable, corrupt or
    empty audio and failing commands raise ``DgmmError`` naming ``utt`` and the file or command.
    ``channel`` -1 requires mono input; 0, 1, ... picks that channel. A truncated WAVE file (data
    chunk shorter than its header says) gives a warning and the samples present, as Kaldi.
    """
    return _read_entry(spec, utt, cwd, channel)[:2]


def _read_entry(spec: str, utt: str, cwd: str | Path | None = None,
                channel: int = -1) -> tuple[np.ndarray, int, int]:
    """``read_wav_entry`` plus the number of bytes missing from a truncated file (0: complete)."""
    spec = spec.strip()
    if spec.endswith("|"):
        cmd = spec[:-1].strip()
        proc = subprocess.run(["bash", "-c", cmd], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
            raise DgmmError(f"utterance {utt}: command '{cmd}' failed (exit {proc.returncode}): "
                            + " / ".join(err))
        if not proc.stdout:
            raise DgmmError(f"utterance {utt}: command '{cmd}' produced no audio")
        return _decode(io.BytesIO(proc.stdout), utt, f"from command '{cmd}'", channel)
    path = Path(cwd or ".") / spec
    if not path.is_file():
        raise DgmmError(f"utterance {utt}: audio file {spec} not found")
    if path.stat().st_size == 0:
        raise DgmmError(f"utterance {utt}: audio file {spec} is empty (0 bytes)")
    return _decode(str(path), utt, f"file {spec}", channel)


def cut_segment(samples: np.ndarray, rate: int, start: float, end: float, utt: str,
                reco: str) -> np.ndarray:
    """Samples of ``[start, end)`` seconds (end -1 = to the end), as Kaldi's extract-segments.

    An end up to 0.1 s past the recording is clipped to its length (a common rounding artefact);
    further than that, or a start past the end, is an error naming the utterance.
    """
    n = len(samples)
    first = int(start * rate)
    last = n if end == -1 else int(end * rate)
    if last > n:
        if (last - n) > 0.1 * rate:
            raise DgmmError(f"utterance {utt}: segment end {end} s is past the end of recording {reco} "
                            f"({n / rate:.3f} s)")
        last = n
    if first >= last:
        raise DgmmError(f"utterance {utt}: empty segment [{start}, {end}] of recording {reco} "
                        f"({n / rate:.3f} s)")
    return samples[first:last]


def resample(x: np.ndarray, rate_in: int, rate_out: int, zeros: int = 6) -> np.ndarray:
    """Band-limited resampling by a Hann-windowed sinc (polyphase, exact rational ratio).

    ``x`` [N] at ``rate_in`` -> [ceil(N * rate_out / rate_in)] at ``rate_out``. The cut-off is 0.99 of
    the lower Nyquist frequency; ``zeros`` is the number of sinc zero crossings on each side.
    """
    if rate_in == rate_out:
        return x
    g = math.gcd(rate_in, rate_out)
    up, down = rate_out // g, rate_in // g
    cutoff = 0.99 * 0.5 * min(rate_in, rate_out)           # Hz
    half_width = zeros / (2.0 * cutoff)                      # seconds each side
    half_taps = int(math.ceil(half_width * rate_in))
    n_out = int(math.ceil(len(x) * up / down))
    xp = np.concatenate([np.zeros(half_taps + 1), x.astype(np.float64), np.zeros(half_taps + down + 2)])
    out = np.empty(n_out, dtype=np.float64)
    taps = np.arange(-half_taps, half_taps + 2)
    for p in range(min(up, n_out)):
        centre = p * down / up                               # input position of output p (samples)
        idx = int(math.floor(centre)) + taps                 # input samples under the kernel
        dt = (idx - centre) / rate_in                        # seconds from the output instant
        w = np.where(np.abs(dt) < half_width, 0.5 + 0.5 * np.cos(np.pi * dt / half_width), 0.0)
        h = (2 * cutoff / rate_in) * np.sinc(2 * cutoff * dt) * w
        j = np.arange(p, n_out, up)
        base = (j // up) * down + half_taps + 1
        out[j] = xp[base[:, None] + idx[None, :]] @ h
    return out.astype(np.float32)


def data_dir_audio(data_dir: str | os.PathLike, rate: int, allow_downsample: bool = False,
                   allow_upsample: bool = False, channel: int = -1, truncated: set[str] | None = None
                   ) -> Iterator[tuple[str, str, np.ndarray, float]]:
    """Audio of every utterance of a data dir: ``(utt, wav.scp value, samples [N] at rate, seconds)``.

    Utterances come in sorted (C) order, from ``segments`` when present (each recording read once
    for its adjacent segments), else from ``wav.scp``. Audio at another sample rate is an error
    naming utterance and file, unless resampling in that direction is allowed (Kaldi's
    ``--allow-downsample`` / ``--allow-upsample``). Utterances whose audio is a truncated file (used
    with a warning) are added to ``truncated``, for the caller's report.
    """
    wav = read_table(Path(data_dir) / "wav.scp")
    seg_file = Path(data_dir) / "segments"
    segments = read_table(seg_file, parse_segment) if seg_file.exists() else None
    cached: tuple[str, np.ndarray, int, int] | None = None

    def load(key: str, utt: str) -> tuple[np.ndarray, int]:
        nonlocal cached
        if cached is None or cached[0] != key:
            if key not in wav:
                raise DgmmError(f"utterance {utt}: recording {key} not in {data_dir}/wav.scp")
            cached = (key, *_read_entry(wav[key], utt, channel=channel))
        if cached[3] and truncated is not None:
            truncated.add(utt)
        return cached[1], cached[2]

    for utt in sorted(segments if segments is not None else wav, key=byte_key):
        if segments is not None:
            reco, start, end = segments[utt]
            x, got = load(reco, utt)
            x, spec = cut_segment(x, got, start, end, utt, reco), wav[reco]
        else:
            (x, got), spec = load(utt, utt), wav[utt]
        if got != rate:
            if (got > rate and allow_downsample) or (got < rate and allow_upsample):
                x = resample(x, got, rate)
            else:
                raise DgmmError(
                    f"utterance {utt}: audio '{spec}' has sample rate {got} Hz but {rate} Hz is expected "
                    f"(--sample-frequency); fix the config or set --allow-{'down' if got > rate else 'up'}sample=true "
                    f"to resample")
        yield utt, spec, x, len(x) / rate
