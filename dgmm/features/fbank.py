"""Log-mel filterbank features exactly as Kaldi's ``compute-fbank-feats``, via kaldi-native-fbank.

Options come from a Kaldi-style config file (``conf/fbank.conf``): one ``--name=value`` per line,
``#`` comments. Names and defaults are compute-fbank-feats' (note Kaldi's default ``--dither=1``;
kaldi-native-fbank's own default differs, so every option is set explicitly here).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

import kaldi_native_fbank as knf
import numpy as np

from dgmm.cli import DgmmError, kaldi_bool

@dataclass
class FbankConfig:
    """compute-fbank-feats options (Kaldi names with - replaced by _; Kaldi defaults)."""

    sample_frequency: float = 16000.0   # Hz; must match the audio unless allow_*sample
    frame_length: float = 25.0          # ms
    frame_shift: float = 10.0           # ms
    dither: float = 1.0                 # Gaussian dither scale (0 = deterministic)
    preemphasis_coefficient: float = 0.97
    remove_dc_offset: bool = True
    window_type: str = "povey"
    round_to_power_of_two: bool = True
    blackman_coeff: float = 0.42
    snip_edges: bool = True
    num_mel_bins: int = 23
    low_freq: float = 20.0              # Hz
    high_freq: float = 0.0              # Hz; <= 0 is an offset from Nyquist
    vtln_low: float = 100.0
    vtln_high: float = -500.0
    vtln_warp: float = 1.0
    debug_mel: bool = False
    htk_compat: bool = False
    use_energy: bool = False
    energy_floor: float = 0.0
    raw_energy: bool = True
    use_log_fbank: bool = True
    use_power: bool = True
    subtract_mean: bool = False         # per-utterance mean subtraction (not recommended)
    channel: int = -1                   # -1: expect mono
    allow_downsample: bool = False      # resample audio above sample_frequency instead of failing
    allow_upsample: bool = False        # resample audio below sample_frequency instead of failing
    min_duration: float = 0.0           # seconds; shorter utterances are an error
    verbose: int = 0                    # accepted for compatibility; no effect

    @classmethod
    def from_options(cls, lines: list[str], source: str = "command line") -> "FbankConfig":
        """Parse ``--name=value`` options (config-file lines or argv); unknown names are errors."""
        types = {f.name: f.type for f in fields(cls)}
        conv = {"float": float, "int": int, "bool": kaldi_bool, "str": str}
        values = {}
        for lineno, raw in enumerate(lines, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            where = f"{source}:{lineno}" if source != "command line" else source
            if not line.startswith("--") or "=" not in line:
                raise DgmmError(f"{where}: expected --option=value, got {line!r}")
            name, value = line[2:].split("=", 1)
            key = name.replace("-", "_")
            if key not in types:
                raise DgmmError(f"{where}: unknown fbank option --{name} (supported: "
                                + " ".join("--" + k.replace("_", "-") for k in types) + ")")
            try:
                values[key] = conv[types[key]](value.strip())
            except ValueError as e:
                raise DgmmError(f"{where}: bad value for --{name}: {e}") from None
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | os.PathLike | None, overrides: list[str] = ()) -> "FbankConfig":
        """Read a Kaldi config file (``None``: Kaldi defaults), then apply ``--name=value`` overrides."""
        lines = []
        if path is not None:
            if not os.path.isfile(path):
                raise DgmmError(f"fbank config {path} not found")
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        cfg = cls.from_options(lines, str(path)) if path is not None else cls()
        if overrides:
            over = cls.from_options(list(overrides))
            for o in overrides:
                key = o.split("=", 1)[0][2:].replace("-", "_")
                setattr(cfg, key, getattr(over, key))
        return cfg

    def knf_options(self) -> knf.FbankOptions:
        """The equivalent kaldi-native-fbank options, every field set explicitly."""
        if self.vtln_warp != 1.0:
            raise DgmmError("--vtln-warp other than 1.0 (VTLN) is not supported")
        o = knf.FbankOptions()
        fo, mo = o.frame_opts, o.mel_opts
        fo.samp_freq = self.sample_frequency
        fo.frame_length_ms = self.frame_length
        fo.frame_shift_ms = self.frame_shift
        fo.dither = self.dither
        fo.preemph_coeff = self.preemphasis_coefficient
        fo.remove_dc_offset = self.remove_dc_offset
        fo.window_type = self.window_type
        fo.round_to_power_of_two = self.round_to_power_of_two
        fo.blackman_coeff = self.blackman_coeff
        fo.snip_edges = self.snip_edges
        mo.num_bins = self.num_mel_bins
        mo.low_freq = self.low_freq
        mo.high_freq = self.high_freq
        mo.vtln_low = self.vtln_low
        mo.vtln_high = self.vtln_high
        mo.debug_mel = self.debug_mel
        mo.htk_mode = False
        mo.is_librosa = False
        o.use_energy = self.use_energy
        o.energy_floor = self.energy_floor
        o.raw_energy = self.raw_energy
        o.htk_compat = self.htk_compat
        o.use_log_fbank = self.use_log_fbank
        o.use_power = self.use_power
        return o

    @property
    def dim(self) -> int:
        return self.num_mel_bins + int(self.use_energy)


def compute_fbank(samples: np.ndarray, cfg: FbankConfig, opts: knf.FbankOptions | None = None) -> np.ndarray:
    """Filterbank features of one utterance.

    ``samples`` [N] float32 in int16 range at ``cfg.sample_frequency`` -> [T, dim] float32, T as
    Kaldi's (``snip_edges``: 1 + (N - window) // shift, else round(N / shift)). Returns [0, dim] when
    the audio is shorter than one frame.
    """
    if opts is None:
        opts = cfg.knf_options()
    fb = knf.OnlineFbank(opts)
    fb.accept_waveform(cfg.sample_frequency, np.ascontiguousarray(samples, dtype=np.float32))
    fb.input_finished()
    n = fb.num_frames_ready
    if n == 0:
        return np.zeros((0, cfg.dim), np.float32)
    feats = np.stack([fb.get_frame(i) for i in range(n)]).astype(np.float32, copy=False)
    if cfg.subtract_mean:
        feats = feats - feats.mean(axis=0, keepdims=True)
    return feats
