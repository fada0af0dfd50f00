"""Kaldi data dirs (validate / fix / split / subset, utt2spk<->spk2utt) and audio reading."""

from __future__ import annotations

import os
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import REPO, shared_path
from dgmm.cli import DgmmError
from dgmm.data.audio import cut_segment, read_wav_entry, resample
from dgmm.data.datadir import fix_data_dir, split_data_dir, subset_data_dir, validate_data_dir
from dgmm.kaldi.tables import read_table


def write(d: Path, name: str, lines: list[str]) -> None:
    (d / name).write_text("".join(line + "\n" for line in lines))


@pytest.fixture
def data(tmp_path) -> Path:
    """3 speakers (2, 3, 1 utterances), speaker ids prefixing utterance ids; audio not needed."""
    d = tmp_path / "data"
    d.mkdir()
    utts = {"a-1": "a", "a-2": "a", "b-1": "b", "b-2": "b", "b-3": "b", "c-1": "c"}
    write(d, "utt2spk", [f"{u} {s}" for u, s in utts.items()])
    write(d, "spk2utt", ["a a-1 a-2", "b b-1 b-2 b-3", "c c-1"])
    write(d, "text", [f"{u} WORD {u}" for u in utts])
    write(d, "wav.scp", [f"{u} /nowhere/{u}.wav" for u in utts])
    write(d, "utt2num_frames", [f"{u} {10 + i}" for i, u in enumerate(utts)])
    write(d, "cmvn.scp", ["a x.ark:1", "b x.ark:2", "c x.ark:3"])
    return d


def test_validate_kaldi_reference_dirs():
    for name in ("train_yesno", "test_yesno"):
        assert validate_data_dir(shared_path("kaldi_ref", "yesno", "data", name), no_feats=True) == []


def test_validate_good_and_missing_feats(data):
    assert validate_data_dir(data, no_feats=True) == []
    problems = validate_data_dir(data)
    assert len(problems) == 1 and "feats.scp: missing" in problems[0]


@pytest.mark.parametrize("name, lines, expect", [
    ("text", ["a-2 X", "a-1 Y", "b-1 Z", "b-2 Z", "b-3 Z", "c-1 Z"], "text:2: not sorted"),
    ("text", ["a-1 X", "a-1 Y", "b-1 Z", "b-2 Z", "b-3 Z", "c-1 Z"], "text:2: duplicate key 'a-1'"),
    ("text", ["a-1 X", "b-1 Z", "b-2 Z", "b-3 Z", "c-1 Z"], "text: keys differ from utt2spk; 1 missing (e.g. a-2)"),
    ("spk2utt", ["a a-1", "b b-1 b-2 b-3", "c c-1"], "spk2utt: does not match utt2spk"),
    ("cmvn.scp", ["a x:1", "b x:2", "d x:3"], "cmvn.scp: keys differ from the speakers"),
    ("utt2num_frames", ["a-1 1", "a-2 2.5", "b-1 1", "b-2 1", "b-3 1", "c-1 1"], "utterance a-2: bad value"),
])
def test_validate_names_the_problem(data, name, lines, expect):
    write(data, name, lines)
    problems = validate_data_dir(data, no_feats=True)
    assert any(expect in p for p in problems), problems


def test_validate_script_exit_status(data):
    sh = REPO / "utils" / "validate_data_dir.sh"
    ok = subprocess.run([sh, "--no-feats", data], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    write(data, "text", ["a-1 X"])
    bad = subprocess.run([sh, "--no-feats", data], capture_output=True, text=True)
    assert bad.returncode == 1 and "text: keys differ" in bad.stderr


def test_fix_data_dir_keeps_common_utterances_sorted(data):
    write(data, "text", ["c-1 Z", "a-1 X", "b-2 Y"])                 # unsorted, 3 utterances
    write(data, "utt2num_frames", ["a-1 1", "b-2 2", "b-3 3"])      # c-1 has no frames
    kept, before = fix_data_dir(data)
    assert (kept, before) == (2, 6)
    assert list(read_table(data / "utt2spk")) == ["a-1", "b-2"]
    assert (data / "spk2utt").read_text() == "a a-1\nb b-2\n"
    assert list(read_table(data / "cmvn.scp")) == ["a", "b"]
    assert list(read_table(data / "wav.scp")) == ["a-1", "b-2"]
    assert validate_data_dir(data, no_feats=True) == []
    assert (data / ".backup" / "text").read_text().startswith("c-1 Z")


def test_fix_data_dir_with_segments_drops_missing_recordings(data):
    write(data, "wav.scp", ["rec1 /x/rec1.wav"])
    write(data, "segments", ["a-1 rec1 0 1", "a-2 rec1 1 2", "b-1 rec2 0 1", "b-2 rec1 2 3",
                             "b-3 rec1 3 -1", "c-1 rec9 0 1"])
    fix_data_dir(data)
    assert list(read_table(data / "utt2spk")) == ["a-1", "a-2", "b-2", "b-3"]
    assert validate_data_dir(data, no_feats=True) == []


def test_split_by_speaker_keeps_speakers_whole(data):
    parts = split_data_dir(data, 2)
    assert [p.name for p in parts] == ["1", "2"] and parts[0].parent.name == "split2"
    spk_sets = [set(read_table(p / "utt2spk").values()) for p in parts]
    assert spk_sets == [{"a"}, {"b", "c"}]                  # 2 vs 4 utterances: the best cut
    all_utts = [u for p in parts for u in read_table(p / "utt2spk")]
    assert all_utts == list(read_table(data / "utt2spk"))
    for p in parts:
        assert validate_data_dir(p, no_feats=True) == [], p
    with pytest.raises(DgmmError, match="only 3 speakers"):
        split_data_dir(data, 4)


def test_split_per_utt_and_reuse(data):
    parts = split_data_dir(data, 4, per_utt=True)
    assert parts[0].parent.name == "split4utt"
    assert sorted(len(read_table(p / "utt2spk")) for p in parts) == [1, 1, 2, 2]
    for p in parts:
        assert validate_data_dir(p, no_feats=True) == [], p
    stamp = (parts[0] / "utt2spk").stat().st_mtime_ns
    os.utime(data / "text")                                     # touched, same content
    assert split_data_dir(data, 4, per_utt=True) == parts
    assert (parts[0] / "utt2spk").stat().st_mtime_ns == stamp   # up to date: not rewritten


def test_split_redone_when_source_changes_within_its_mtime(data):
    parts = split_data_dir(data, 2)
    t = (parts[0] / "utt2spk").stat().st_mtime_ns
    write(data, "text", [line.replace("WORD", "WERD") for line in (data / "text").read_text().splitlines()])
    os.utime(data / "text", ns=(t, t))      # same mtime tick as the split (1-2 s filesystems, cp -p)
    split_data_dir(data, 2)
    assert read_table(parts[0] / "text") == {"a-1": "WERD a-1", "a-2": "WERD a-2"}


def test_split_drops_tables_the_source_no_longer_has(data):
    write(data, "utt2uniq", [f"{u} {u}" for u in read_table(data / "utt2spk")])
    (data / "frame_shift").write_text("0.01\n")
    parts = split_data_dir(data, 2)
    assert all((p / "utt2uniq").is_file() and (p / "cmvn.scp").is_file() for p in parts)
    for name in ("utt2uniq", "cmvn.scp", "frame_shift"):
        (data / name).unlink()
    split_data_dir(data, 2)
    for p in parts:
        assert sorted(f.name for f in p.iterdir()) == ["spk2utt", "text", "utt2num_frames", "utt2spk", "wav.scp"]
        assert validate_data_dir(p, no_feats=True) == [], p


def test_split_data_sh(data):
    r = subprocess.run([REPO / "utils" / "split_data.sh", "--per-utt", data, "3"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (data / "split3utt").iterdir() if p.name != ".sources") == ["1", "2", "3"]


def test_subset(data, tmp_path):
    n = subset_data_dir(data, tmp_path / "sub", ["b-3", "a-1"])
    assert n == 2
    assert (tmp_path / "sub" / "spk2utt").read_text() == "a a-1\nb b-3\n"
    assert validate_data_dir(tmp_path / "sub", no_feats=True) == []
    r = subprocess.run([REPO / "utils" / "subset_data_dir.sh", "--shortest", data, "2", tmp_path / "short"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert list(read_table(tmp_path / "short" / "utt2spk")) == ["a-1", "a-2"]


def test_subset_drops_tables_the_source_no_longer_has(data, tmp_path):
    """A subset made again into the same destination mirrors the source's tables (as split_data)."""
    write(data, "utt2uniq", [f"{u} {u}" for u in read_table(data / "utt2spk")])
    (data / "frame_shift").write_text("0.01\n")
    sub = tmp_path / "sub"
    subset_data_dir(data, sub, ["b-3", "a-1"])
    assert all((sub / name).is_file() for name in ("utt2uniq", "cmvn.scp", "frame_shift"))
    for name in ("utt2uniq", "cmvn.scp", "frame_shift"):
        (data / name).unlink()
    subset_data_dir(data, sub, ["b-3", "a-1"])
    assert sorted(f.name for f in sub.iterdir()) == ["spk2utt", "text", "utt2num_frames", "utt2spk", "wav.scp"]
    assert validate_data_dir(sub, no_feats=True) == []


def test_utt2spk_spk2utt_perl_scripts_match_kaldi():
    ref = shared_path("kaldi_ref", "yesno", "data", "test_yesno")
    out = subprocess.run([REPO / "utils" / "utt2spk_to_spk2utt.pl", ref / "utt2spk"],
                         capture_output=True, text=True, check=True).stdout
    assert out == (ref / "spk2utt").read_text()
    back = subprocess.run([REPO / "utils" / "spk2utt_to_utt2spk.pl"], input=out,
                          capture_output=True, text=True, check=True).stdout
    assert back == (ref / "utt2spk").read_text()


# ---------------------------------------------------------------- audio

@pytest.fixture
def yesno_wav() -> Path:
    return shared_path("kaldi_ref", "yesno", "waves_yesno", "0_1_1_1_1_1_1_1.wav")


def int16_samples(path: Path) -> np.ndarray:
    """Independent reader: the raw PCM of a 16-bit mono wav via the standard library."""
    with wave.open(str(path)) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def test_read_file_and_pipe_give_int16_values(yesno_wav):
    x, rate = read_wav_entry(str(yesno_wav), "u")
    assert rate == 8000 and x.dtype == np.float32
    np.testing.assert_array_equal(x, int16_samples(yesno_wav).astype(np.float32))
    y, _ = read_wav_entry(f"cat {yesno_wav} |", "u")
    np.testing.assert_array_equal(x, y)
    z, _ = read_wav_entry(f"sox {yesno_wav} -t wav - |", "u")
    np.testing.assert_array_equal(x, z)


def test_read_flac_pipe(tmp_path, yesno_wav):
    flac = tmp_path / "a.flac"
    subprocess.run(["flac", "-s", "-o", str(flac), str(yesno_wav)], check=True)
    x, rate = read_wav_entry(f"flac -c -d -s {flac} |", "u")
    np.testing.assert_array_equal(x, int16_samples(yesno_wav).astype(np.float32))


@pytest.mark.parametrize("kind", ["missing", "empty", "corrupt", "failing-pipe", "stereo"])
def test_bad_audio_names_utterance_and_file(tmp_path, kind):
    f = tmp_path / "bad.wav"
    spec = str(f)
    if kind == "empty":
        f.write_bytes(b"")
    elif kind == "corrupt":
        f.write_bytes(b"RIFF\x00\x01\x00\x00WAVEjunkjunkjunk" * 3)
    elif kind == "failing-pipe":
        spec = f"flac -c -d -s {f} |"
    elif kind == "stereo":
        sf.write(f, np.zeros((100, 2)), 8000, subtype="PCM_16")
    with pytest.raises(DgmmError) as e:
        read_wav_entry(spec, "utt-7")
    assert "utterance utt-7" in str(e.value) and "bad.wav" in str(e.value)


def test_cut_segment_kaldi_sample_indices():
    x = np.arange(16000, dtype=np.float32)
    np.testing.assert_array_equal(cut_segment(x, 8000, 0.5, 1.25, "u", "r"), x[4000:10000])
    np.testing.assert_array_equal(cut_segment(x, 8000, 1.0, -1, "u", "r"), x[8000:])
    assert len(cut_segment(x, 8000, 1.0, 2.05, "u", "r")) == 8000     # small overshoot clipped
    with pytest.raises(DgmmError, match="utterance u: segment end 3.0"):
        cut_segment(x, 8000, 1.0, 3.0, "u", "r")


@pytest.mark.parametrize("rate_in, rate_out", [(8000, 16000), (16000, 8000), (44100, 16000)])
def test_resample_sine(rate_in, rate_out):
    f0 = 440.0
    t_in = np.arange(int(0.5 * rate_in)) / rate_in
    y = resample((1000 * np.sin(2 * np.pi * f0 * t_in)).astype(np.float32), rate_in, rate_out)
    assert len(y) == int(np.ceil(len(t_in) * rate_out / rate_in))
    t_out = np.arange(len(y)) / rate_out
    inner = slice(len(y) // 10, -len(y) // 10)                      # away from the zero-padded edges
    np.testing.assert_allclose(y[inner], 1000 * np.sin(2 * np.pi * f0 * t_out[inner]), atol=5.0)


def test_data_dir_reader(data, tmp_path):
    import kaldiio

    from dgmm.data.datadir import DataDir

    d = DataDir(data)
    assert d.utts == ["a-1", "a-2", "b-1", "b-2", "b-3", "c-1"]
    assert d.spk2utt["b"] == ["b-1", "b-2", "b-3"] and d.utt2spk["c-1"] == "c"
    assert d.text["a-2"] == ["WORD", "a-2"] and d.utt2num_frames["b-1"] == 12
    with pytest.raises(DgmmError, match="utt2dur: missing"):
        d.utt2dur
    with pytest.raises(DgmmError, match="feats.scp: missing"):
        d.feats()
    kaldiio.save_ark(str(tmp_path / "f.ark"), {"a-1": np.ones((2, 3), np.float32)}, scp=str(data / "feats.scp"))
    np.testing.assert_array_equal(d.feats()["a-1"], np.ones((2, 3)))
    write(data, "utt2dur", ["a-1 x"])
    with pytest.raises(ValueError, match="utt2dur:1: bad value for 'a-1'"):
        DataDir(data).utt2dur
