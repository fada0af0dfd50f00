"""Speed perturbation of data dirs (dgmm/data/perturb.py, utils/data/perturb_data_dir_speed_3way.sh).

Checked against Kaldi's documented semantics: sp<f>- prefixed utterance/speaker ids, the 1.0 copy
unprefixed, utt2dur divided by f, utt2uniq to the original; the audio itself is measured (sox must
really change the duration by 1/f at the same sample rate), and the result must validate.
"""

from __future__ import annotations

import logging
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from conftest import REPO
from dgmm.cli import DgmmError
from dgmm.data.audio import read_wav_entry
from dgmm.data.datadir import validate_data_dir
from dgmm.data.perturb import perturb_data_dir_speed, speed_entry
from dgmm.kaldi.tables import read_table

needs_sox = pytest.mark.skipif(shutil.which("sox") is None, reason="sox not installed")
RATE = 8000


def make_dir(tmp_path, segments=False):
    """data/src: two speakers, three utterances of 0.5, 0.8 and 1.0 s (noise at 8 kHz)."""
    src = tmp_path / "src"
    src.mkdir()
    rng = np.random.default_rng(0)
    utts = {"a_1": ("a", 0.5), "a_2": ("a", 0.8), "b_1": ("b", 1.0)}
    wav, u2s, text = [], [], []
    for u, (s, dur) in utts.items():
        path = tmp_path / f"{u}.wav"
        sf.write(path, (rng.standard_normal(int(dur * RATE)) * 3000).astype(np.int16), RATE)
        wav.append(f"{u} {path}" if u != "b_1" else f"{u} cat {path} |")   # one file, one pipe
        u2s.append(f"{u} {s}")
        text.append(f"{u} word {u}")
    (src / "wav.scp").write_text("\n".join(wav) + "\n")
    (src / "utt2spk").write_text("\n".join(u2s) + "\n")
    (src / "spk2utt").write_text("a a_1 a_2\nb b_1\n")
    (src / "text").write_text("\n".join(text) + "\n")
    return src, utts


def test_speed_entry_forms():
    assert speed_entry("/x/a.wav", 0.9) == "sox -t wav /x/a.wav -t wav - speed 0.9 |"
    assert speed_entry("flac -dc a.flac |", 1.1) == "flac -dc a.flac | sox -t wav - -t wav - speed 1.1 |"
    with pytest.raises(DgmmError, match="offsets"):
        speed_entry("feats.ark:123", 0.9)


@needs_sox
def test_3way_ids_durations_and_audio(tmp_path, caplog):
    src, utts = make_dir(tmp_path)
    dst = tmp_path / "sp"
    assert perturb_data_dir_speed(src, dst) == 9
    validate_data_dir(dst, no_feats=True)
    u2s, u2d, uniq = (read_table(dst / n) for n in ("utt2spk", "utt2dur", "utt2uniq"))
    text = read_table(dst / "text")
    for u, (s, dur) in utts.items():
        for f in (0.9, 1.0, 1.1):
            p = "" if f == 1.0 else f"sp{f}-"
            assert u2s[p + u] == p + s and uniq[p + u] == u and text[p + u] == f"word {u}"
            assert float(u2d[p + u]) == pytest.approx(dur / f, rel=1e-5)
    wavs = read_table(dst / "wav.scp")
    for u in ("a_1", "b_1"):   # a file and a pipe: the audio really is 1/f as long, same rate
        for f in (0.9, 1.1):
            with caplog.at_level(logging.WARNING):
                x, rate = read_wav_entry(wavs[f"sp{f}-{u}"], u)
            assert "truncated" not in caplog.text   # sox's streamed-WAV header is not truncation
            assert rate == RATE
            assert len(x) / rate == pytest.approx(utts[u][1] / f, abs=2e-3)


def script(name, *args) -> subprocess.CompletedProcess:
    """utils/data/<name> args... (paths as strings)."""
    return subprocess.run([str(REPO / "utils" / "data" / name), *map(str, args)], capture_output=True, text=True)


@needs_sox
def test_no_spk_prefix_keeps_speakers_and_cli(tmp_path):
    src, _ = make_dir(tmp_path)
    dst = tmp_path / "sp"
    r = script("perturb_data_dir_speed_3way.sh", "--include-spk-prefix", "false", "--always-include-prefix", "true",
               src, dst)
    assert r.returncode == 0, r.stderr
    u2s = read_table(dst / "utt2spk")
    assert sorted(u2s) == sorted(f"sp{f}-{u}" for f in (0.9, 1.0, 1.1) for u in ("a_1", "a_2", "b_1"))
    assert {u: s for u, s in u2s.items() if u.endswith("a_1")} == {f"sp{f}-a_1": "a" for f in (0.9, 1.0, 1.1)}
    assert read_table(dst / "spk2utt", str.split)["b"] == ["sp0.9-b_1", "sp1.0-b_1", "sp1.1-b_1"]
    # refuses to overwrite a dir with features, as Kaldi's
    (dst / "feats.scp").write_text("")
    r = script("perturb_data_dir_speed_3way.sh", src, dst)
    assert r.returncode != 0 and "refusing" in r.stderr
    r = script("perturb_data_dir_speed_3way.sh", "--factors", "0.9 1.0", src, tmp_path / "other")
    assert r.returncode != 0 and "perturb_data_dir_speed_nway.sh" in r.stderr


@needs_sox
def test_nway_factors_cli(tmp_path):
    src, _ = make_dir(tmp_path)
    dst = tmp_path / "sp5"
    r = script("perturb_data_dir_speed_nway.sh", "--factors", "0.9 0.95 1.0 1.05 1.1", "--include-spk-prefix", "false",
               src, dst)
    assert r.returncode == 0, r.stderr
    u2u = read_table(dst / "utt2uniq")
    assert sorted(u for u, orig in u2u.items() if orig == "a_2") == ["a_2", "sp0.9-a_2", "sp0.95-a_2", "sp1.05-a_2",
                                                                       "sp1.1-a_2"]
    r = script("perturb_data_dir_speed_nway.sh", "--factors", "0.9 0.9", src, tmp_path / "bad")
    assert r.returncode != 0 and "distinct" in r.stderr


def test_segments_scaled(tmp_path):
    src, _ = make_dir(tmp_path)
    (src / "segments").write_text("a_1 rec 0.00 0.50\na_2 rec 0.50 1.30\nb_1 rec 1.30 2.30\n")
    (src / "wav.scp").write_text(f"rec {tmp_path / 'a_1.wav'}\n")
    tables = perturb_data_dir_speed(src, tmp_path / "sp", factors=(1.0, 0.8))
    assert tables == 6
    seg = read_table(tmp_path / "sp" / "segments")
    assert seg["sp0.8-a_2"] == "sp0.8-rec 0.62 1.62" and seg["a_2"] == "rec 0.50 1.30"
    assert read_table(tmp_path / "sp" / "utt2dur", float)["sp0.8-b_1"] == pytest.approx(1.25)


def test_same_dir_refused(tmp_path):
    src, _ = make_dir(tmp_path)
    with pytest.raises(DgmmError, match="same dir"):
        perturb_data_dir_speed(src, src)
