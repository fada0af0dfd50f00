"""egs/yesno/s5/run.sh stages 0-1 in a copy of the recipe: data dirs as Kaldi's, features, resumability."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import kaldiio
import numpy as np

from conftest import REPO, recipe_copy, run_recipe, shared_path
from dgmm.data.datadir import validate_data_dir


def run_sh(s5: Path, corpus: Path, *args) -> subprocess.CompletedProcess:
    return run_recipe(s5, "--corpus-dir", str(corpus), *args, timeout=300)


def test_stages_0_1_and_rerun(tmp_path):
    corpus = shared_path("kaldi_ref", "yesno", "waves_yesno")
    ref = shared_path("kaldi_ref", "yesno")
    s5 = recipe_copy(tmp_path)
    r = run_sh(s5, corpus, "--stop-stage", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Stage 0: prepare" in r.stdout and "Stage 1: fbank" in r.stdout
    for name in ("train_yesno", "test_yesno"):
        d = s5 / "data" / "fbank" / name        # the DNN's features; data/<name> stays for the GMM
        assert validate_data_dir(d) == []
        assert len((d / "feats.scp").read_text().splitlines()) == 30
        assert (d / "cmvn.scp").exists() and (d / "utt2num_frames").exists()
        for f in ("text", "utt2spk", "spk2utt"):                     # identical to Kaldi's recipe
            assert (d / f).read_text() == (ref / "data" / name / f).read_text(), (name, f)
        ours = [line.split()[0] for line in (d / "wav.scp").read_text().splitlines()]
        assert ours == [line.split()[0] for line in (ref / "data" / name / "wav.scp").read_text().splitlines()]
    r2 = subprocess.run([str(REPO / "utils" / "validate_data_dir.sh"), "data/fbank/test_yesno"], cwd=s5,
                        capture_output=True, text=True)
    assert r2.returncode == 0, r2.stderr

    # features of the recipe = Kaldi's compute-fbank-feats up to Kaldi's --compress quantisation
    kaldi = dict(kaldiio.load_ark(str(ref / "feats" / "fbank40_dither0.txt")))
    feats = kaldiio.load_scp(str(s5 / "data" / "fbank" / "test_yesno" / "feats.scp"))
    for utt, k in kaldi.items():
        assert feats[utt].shape == k.shape and np.abs(feats[utt] - k).max() < 0.1

    stamps = {p: p.stat().st_mtime_ns for p in (s5 / "data").rglob("*") if p.is_file()}
    stamps.update({p: p.stat().st_mtime_ns for p in (s5 / "fbank").iterdir()})
    again = run_sh(s5, corpus, "--stop-stage", "1")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already done" in again.stdout and "make_fbank.sh" not in again.stdout
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps      # nothing rewritten


def test_bad_audio_fails_naming_the_utterance(tmp_path):
    src = shared_path("kaldi_ref", "yesno", "waves_yesno")
    corpus = tmp_path / "waves"
    shutil.copytree(src, corpus)
    bad = corpus / "1_0_0_0_0_0_0_0.wav"                             # a test utterance
    bad.write_bytes(bad.read_bytes()[:30])                            # truncated header
    s5 = recipe_copy(tmp_path)
    r = run_sh(s5, corpus, "--stop-stage", "1")
    assert r.returncode != 0
    out = r.stdout + r.stderr
    assert "utterance 1_0_0_0_0_0_0_0" in out and "1_0_0_0_0_0_0_0.wav" in out
    fb = s5 / "data" / "fbank"
    assert (fb / "train_yesno" / "feats.scp").exists()      # train finished before test failed
    assert not (fb / "test_yesno" / "feats.scp").exists()   # nothing half-written
    assert not (fb / "test_yesno" / ".done").exists()
