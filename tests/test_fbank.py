"""Filterbank features against Kaldi's compute-fbank-feats output (yesno/feats in kaldi_ref)."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import fields

import kaldiio
import numpy as np
import pytest

from conftest import REPO, shared_path
from dgmm.cli import DgmmError
from dgmm.data.audio import read_wav_entry
from dgmm.features.fbank import FbankConfig, compute_fbank

# the options of feats/commands.sh
KALDI_OPTS = ["--num-mel-bins=40", "--frame-length=25", "--frame-shift=10", "--dither=0", "--sample-frequency=8000"]
PY = sys.executable


@pytest.fixture(scope="module")
def ref():
    """(yesno folder, {utt: wav path relative to it}, {utt: Kaldi fbank [T, 40]})."""
    yesno = shared_path("kaldi_ref", "yesno")
    wavs = dict(line.split() for line in (yesno / "feats" / "wav_2utts.scp").read_text().splitlines())
    feats = dict(kaldiio.load_ark(str(yesno / "feats" / "fbank40_dither0.txt")))
    assert sorted(wavs) == sorted(feats)
    return yesno, wavs, feats


def test_parity_with_kaldi(ref):
    yesno, wavs, kaldi = ref
    cfg = FbankConfig.from_options(KALDI_OPTS)
    for utt, path in wavs.items():
        x, rate = read_wav_entry(str(yesno / path), utt)
        ours = compute_fbank(x, cfg)
        assert ours.shape == kaldi[utt].shape, utt
        assert np.abs(ours - kaldi[utt]).max() <= 1e-3, utt


def test_defaults_are_compute_fbank_feats_defaults(ref):
    """Every option we share with compute-fbank-feats has Kaldi's default (from its --help output)."""
    text = (ref[0] / "feats" / "compute-fbank-feats.options.txt").read_text()
    kaldi = dict(re.findall(r"--([\w-]+)\s*:.*\(\w+, default = \"?([^\")]*)\"?\)", text))
    ours = FbankConfig()
    checked = 0
    for f in fields(FbankConfig):
        name = f.name.replace("_", "-")
        if name in kaldi:
            want = {"true": True, "false": False}.get(kaldi[name], kaldi[name])
            got = getattr(ours, f.name)
            assert (got == want if isinstance(got, (bool, str)) else float(got) == float(want)), name
            checked += 1
    assert checked >= 25


def _data_dir(tmp_path, entries: dict[str, str]):
    d = tmp_path / "data"
    d.mkdir(exist_ok=True)
    (d / "wav.scp").write_text("".join(f"{u} {v}\n" for u, v in sorted(entries.items())))
    (d / "utt2spk").write_text("".join(f"{u} {u}\n" for u in sorted(entries)))
    return d


def _make_fbank(tmp_path, d, *opts):
    conf = tmp_path / "fbank.conf"
    conf.write_text("# Kaldi options\n" + "\n".join(KALDI_OPTS) + "\n")
    return subprocess.run([PY, "-m", "dgmm.bin.make_fbank", "--config", str(conf), *opts,
                           "--write-utt2num-frames", str(tmp_path / "u2nf"), str(d),
                           str(tmp_path / "f.ark"), str(tmp_path / "f.scp")], capture_output=True, text=True)


def test_make_fbank_tool_parity_with_pipes(ref, tmp_path):
    yesno, wavs, kaldi = ref
    u1, u2 = sorted(wavs)
    d = _data_dir(tmp_path, {u1: str(yesno / wavs[u1]), u2: f"sox {yesno / wavs[u2]} -t wav - |"})
    r = _make_fbank(tmp_path, d, "--compress", "false")
    assert r.returncode == 0, r.stderr
    got = kaldiio.load_scp(str(tmp_path / "f.scp"))
    for utt in (u1, u2):
        assert got[utt].shape == kaldi[utt].shape and np.abs(got[utt] - kaldi[utt]).max() <= 1e-3
    assert (tmp_path / "u2nf").read_text() == f"{u1} {len(kaldi[u1])}\n{u2} {len(kaldi[u2])}\n"


def test_make_fbank_bad_audio_fails_naming_utt_and_writes_nothing(ref, tmp_path):
    yesno, wavs, _ = ref
    u1 = sorted(wavs)[0]
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF" + b"\x00" * 40)
    d = _data_dir(tmp_path, {u1: str(yesno / wavs[u1]), "zz_bad": str(bad)})
    r = _make_fbank(tmp_path, d)
    assert r.returncode == 1
    assert "utterance zz_bad" in r.stderr and "broken.wav" in r.stderr
    assert not (tmp_path / "f.scp").exists() and not (tmp_path / "f.ark").exists()
    assert not list(tmp_path.glob(".f.*"))                        # no temporaries left behind


def test_sample_rate_mismatch_refused_or_resampled(ref, tmp_path):
    yesno, wavs, kaldi = ref
    u1 = sorted(wavs)[0]
    d = _data_dir(tmp_path, {u1: str(yesno / wavs[u1])})
    r = _make_fbank(tmp_path, d, "--sample-frequency=16000")
    assert r.returncode == 1 and f"utterance {u1}" in r.stderr and "8000 Hz" in r.stderr
    r = _make_fbank(tmp_path, d, "--sample-frequency=16000", "--allow-upsample=true")
    assert r.returncode == 0, r.stderr
    n = len(kaldi[u1])             # 8 kHz, 25/10 ms: upsampling to 16 kHz keeps the frame count
    assert kaldiio.load_scp(str(tmp_path / "f.scp"))[u1].shape == (n, 40)


def test_config_file_errors_name_file_and_line(tmp_path):
    conf = tmp_path / "fbank.conf"
    conf.write_text("--num-mel-bins=40\n\n--no-such-option=1\n")
    with pytest.raises(DgmmError, match=r"fbank.conf:3: unknown fbank option --no-such-option"):
        FbankConfig.from_file(conf)
    conf.write_text("--snip-edges=yes\n")
    with pytest.raises(DgmmError, match=r"fbank.conf:1: bad value for --snip-edges"):
        FbankConfig.from_file(conf)
    conf.write_text("--num-mel-bins=40  # comment\n--high-freq=-200\n")
    cfg = FbankConfig.from_file(conf, ["--num-mel-bins=30"])
    assert (cfg.num_mel_bins, cfg.high_freq, cfg.dither) == (30, -200.0, 1.0)


def test_options_change_the_output(ref):
    """snip-edges, energy and bin count reach kaldi-native-fbank (frame count per Kaldi's formula)."""
    yesno, wavs, kaldi = ref
    u1 = sorted(wavs)[0]
    x, _ = read_wav_entry(str(yesno / wavs[u1]), u1)
    cfg = FbankConfig.from_options(KALDI_OPTS + ["--snip-edges=false", "--use-energy=true", "--num-mel-bins=23"])
    f = compute_fbank(x, cfg)
    assert f.shape == ((len(x) + 40) // 80, 24)


def test_make_fbank_with_segments(ref, tmp_path):
    """Two segments of one recording: features equal those of the cut samples (Kaldi sample indices)."""
    yesno, wavs, _ = ref
    u1 = sorted(wavs)[0]
    d = _data_dir(tmp_path, {"rec": str(yesno / wavs[u1])})
    (d / "segments").write_text("seg1 rec 0.5 2.25\nseg2 rec 3 -1\n")
    (d / "utt2spk").write_text("seg1 s\nseg2 s\n")
    r = _make_fbank(tmp_path, d, "--compress", "false")
    assert r.returncode == 0, r.stderr
    x, _ = read_wav_entry(str(yesno / wavs[u1]), u1)
    cfg = FbankConfig.from_options(KALDI_OPTS)
    got = kaldiio.load_scp(str(tmp_path / "f.scp"))
    np.testing.assert_array_equal(got["seg1"], compute_fbank(x[4000:18000], cfg))
    np.testing.assert_array_equal(got["seg2"], compute_fbank(x[24000:], cfg))
