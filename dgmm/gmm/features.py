"""Features for GMM-HMM training and decoding, as Kaldi's ``train_mono.sh`` / ``decode.sh`` pipe them:

    apply-cmvn $cmvn_opts --utt2spk=ark:utt2spk scp:cmvn.scp scp:feats.scp ark:- | add-deltas ark:- ark:-

``load_feats`` reads ``feats.scp`` + ``cmvn.scp`` of a data dir when they exist (made by Kaldi's or our
``make_mfcc``/``compute_cmvn_stats``); ``compute_mfcc`` makes Kaldi-default MFCCs (13 ceps, 23 bins,
no energy) directly from ``wav.scp`` for data dirs that have no features yet, with per-speaker CMVN
statistics computed in memory (as ``compute_cmvn_stats.sh`` would write them; CMVN itself is
:mod:`dgmm.features.cmvn`).

Shapes: raw features [T, 13]; with deltas and double deltas [T, 39]; float32.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import kaldi_native_fbank as knf
import kaldiio
import numpy as np

from dgmm.cli import DgmmError
from dgmm.data.audio import read_wav_entry
from dgmm.features.cmvn import apply_cmvn, compute_cmvn_stats, load_cmvn_for_utts
from dgmm.kaldi.tables import read_table


def mfcc(samples: np.ndarray, rate: int, num_ceps: int = 13, num_mel_bins: int = 23,
         use_energy: bool = False, dither: float = 0.0) -> np.ndarray:
    """Kaldi ``compute-mfcc-feats`` [T, num_ceps] of int16-range samples (other options Kaldi's defaults).

    dither defaults to 0 (Kaldi: 1.0) so that features are reproducible.
    """
    o = knf.MfccOptions()
    o.frame_opts.samp_freq = float(rate)
    o.frame_opts.dither = dither
    o.mel_opts.num_bins = num_mel_bins
    o.num_ceps = num_ceps
    o.use_energy = use_energy
    m = knf.OnlineMfcc(o)
    m.accept_waveform(float(rate), np.asarray(samples, np.float32))
    m.input_finished()
    if m.num_frames_ready == 0:
        return np.zeros((0, num_ceps), np.float32)
    return np.stack([m.get_frame(i) for i in range(m.num_frames_ready)]).astype(np.float32)


def add_deltas(feats: np.ndarray, order: int = 2, window: int = 2) -> np.ndarray:
    """``add-deltas`` (Kaldi's regression deltas, edge frames replicated): [T, D] -> [T, D*(order+1)]."""
    if len(feats) == 0:
        return np.zeros((0, feats.shape[1] * (order + 1)), np.float32)
    o = knf.DeltaOptions()
    o.order, o.window = order, window
    return np.asarray(knf.compute_deltas(o, np.ascontiguousarray(feats, np.float32)), np.float32)


def parse_cmvn_opts(opts: str) -> bool:
    """Return norm_vars from a ``cmvn_opts`` string (only ``--norm-means``/``--norm-vars`` are handled)."""
    norm_vars = False
    for tok in opts.split():
        if tok in ("--norm-vars=true", "--norm-vars"):
            norm_vars = True
        elif tok in ("--norm-vars=false", "--norm-means=true"):
            pass
        else:
            raise DgmmError(f"cmvn_opts: unsupported option {tok!r}")
    return norm_vars


def compute_mfcc(data: str | os.PathLike, cwd: str | os.PathLike | None = None, dither: float = 1.0,
                 **mfcc_opts) -> dict[str, np.ndarray]:
    """MFCCs [T, 13] for every utterance of ``data/wav.scp`` (paths resolved in ``cwd``).

    ``dither`` is Kaldi's default 1.0 (Gaussian noise of that standard deviation on the int16-range
    samples, which keeps runs of digital silence off the log floor), but reproducible: the noise is
    seeded by the utterance id.
    """
    d = Path(data)
    wavs = read_table(d / "wav.scp")
    out = {}
    for utt, spec in wavs.items():
        x, rate = read_wav_entry(spec, utt, cwd=cwd)
        if dither > 0:
            rng = np.random.default_rng(zlib.crc32(utt.encode()))
            x = x + (dither * rng.standard_normal(len(x))).astype(np.float32)
        out[utt] = mfcc(x, rate, **mfcc_opts)
    return out


def load_feats(data: str | os.PathLike, cmvn_opts: str = "", deltas: bool = True,
               raw: dict[str, np.ndarray] | None = None, utts: list[str] | None = None,
               wav_cwd: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """The model-input features of a data dir: CMVN (per speaker, from ``cmvn.scp`` or computed) and
    deltas, as a dict utt -> [T, D*3] float32.

    Raw features come from ``raw`` if given, else ``feats.scp``, else are computed from ``wav.scp``
    (``compute_mfcc``, relative paths resolved in ``wav_cwd``).
    """
    d = Path(data)
    utt2spk = read_table(d / "utt2spk")
    keep = list(utt2spk) if utts is None else utts
    if raw is None:
        if (d / "feats.scp").exists():
            table = kaldiio.load_scp(str(d / "feats.scp"))
            missing = [u for u in keep if u not in table]
            if missing:
                raise DgmmError(f"{d}/feats.scp: no features for utterance {missing[0]}")
            raw = {u: np.asarray(table[u], np.float32) for u in keep}
        else:
            raw = compute_mfcc(d, cwd=wav_cwd)
    norm_vars = parse_cmvn_opts(cmvn_opts)
    if (d / "cmvn.scp").exists():
        stats = load_cmvn_for_utts(d)
    else:  # per-speaker stats in memory, as compute_cmvn_stats.sh would write them
        by_spk: dict[str, list[np.ndarray]] = {}
        for u in raw:
            by_spk.setdefault(utt2spk[u], []).append(raw[u])
        spk_stats = {s: compute_cmvn_stats(fs) for s, fs in by_spk.items()}
        stats = {u: spk_stats[utt2spk[u]] for u in raw}
    out = {}
    for u in keep:
        if u not in raw:
            raise DgmmError(f"{d}: no features for utterance {u}")
        if u not in stats:
            raise DgmmError(f"{d}/cmvn.scp: no CMVN stats for utterance {u} (speaker {utt2spk[u]})")
        f = apply_cmvn(raw[u], stats[u], norm_vars)
        out[u] = add_deltas(f) if deltas else f
    return out
