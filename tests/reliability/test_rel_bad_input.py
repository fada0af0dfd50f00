"""Bad input across the pipeline, the cases the tools' own tests do not cover (see docs/reliability.md
for the full table with the tests of each tool): each gives a clear error naming the file /
utterance / option and exit status 1 with nothing half-written, or (truncated audio, as Kaldi) a
warning naming the file. Untrusted files: configs are parsed, never executed; checkpoints load with
weights_only; shell scripts quote paths (a corpus path with spaces)."""

from __future__ import annotations

import logging
import pickle
import re
import shutil
import subprocess

import kaldiio
import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from conftest import REPO, shared_path
from dgmm.cli import DgmmError
from dgmm.data.audio import read_wav_entry
from dgmm.features.fbank import FbankConfig, compute_fbank
from dgmm.kaldi.archive import ArchiveWriter
from dgmm.bin import train
from yesno_stages import TINY, env, raw_data_dir, sh

PY = str(REPO / ".venv/bin/python")
FBANK_CONF = REPO / "egs/yesno/s5/conf/fbank.conf"
UTTS = ["0_0_0_0_1_1_1_1", "0_0_0_1_0_0_0_1", "0_0_0_1_0_1_1_0", "0_0_1_0_0_0_1_0"]


def tool(name, *args, limit_kb: int | None = None) -> subprocess.CompletedProcess:
    """``python -m dgmm.bin.<name> args``, optionally with RLIMIT_FSIZE (a disk that fills up)."""
    cmd = " ".join(f"'{a}'" for a in (PY, "-m", f"dgmm.bin.{name}", *map(str, args)))
    if limit_kb is not None:
        cmd = f"ulimit -f {limit_kb}; {cmd}"
    return subprocess.run(["bash", "-c", cmd], cwd=REPO, env=env(), capture_output=True, text=True, timeout=300)


def train_main(*args):
    """dgmm.bin.train in this process (torch already loaded); run_main turns the errors it lets through
    (DgmmError, ValueError, OSError) into one ERROR line and exit status 1."""
    try:
        return train.main(["--num-threads", "1", *map(str, args)])
    except (DgmmError, ValueError, OSError) as e:
        return e


def tiny_conf(path, **train_opts):
    path.write_text(yaml.safe_dump({**TINY["dnn"], "data": {"cmvn_mode": "utterance", "cv_percent": 25},
                                    "train": {**TINY["dnn"]["train"], **train_opts}}))
    return path


def leftovers(d):
    return sorted(p.name for p in d.rglob("*") if ".tmp" in p.name or ".part" in p.name)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """4 yesno utterances: raw data dir, fbank features (+utt2num_frames) and pdf alignments."""
    base = tmp_path_factory.mktemp("small")
    raw = raw_data_dir(base / "raw", UTTS)
    data = base / "data"
    shutil.copytree(raw, data)
    sh("steps/make_fbank.sh", "--nj", 1, "--fbank-config", FBANK_CONF, data, base / "log", base / "fbank")
    ref = shared_path("kaldi_ref", "yesno")
    sh("steps/import_ali.sh", "--lang", ref / "data/lang", ref / "exp/mono0a_ali", data, base / "ali")
    return {"base": base, "raw": raw, "data": data, "ali": base / "ali", "ref": ref}


# ----------------------------------------------------------------------------- audio


def test_truncated_wav_warns_naming_utterance_and_file(tmp_path, caplog):
    src = shared_path("kaldi_ref", "yesno", "waves_yesno", UTTS[0] + ".wav")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(src.read_bytes()[:20000])           # header says 101600 data bytes
    with caplog.at_level(logging.WARNING):
        x, rate = read_wav_entry(str(cut), "utt-9")
    assert len(x) == (20000 - 44) // 2 and rate == 8000
    assert any("utterance utt-9" in r.message and "cut.wav is truncated" in r.message for r in caplog.records)
    caplog.clear()
    read_wav_entry(str(src), "utt-ok")                   # a complete file: no warning
    assert not caplog.records


def test_truncated_audio_is_counted_and_too_much_fails_make_fbank_sh(small, tmp_path):
    """As Kaldi's make_*.sh: each truncated file is used with a warning and counted (job log, a list
    in the log dir); more than --max-truncated-percent of them fails the stage without feats.scp."""
    d = tmp_path / "data"
    shutil.copytree(small["raw"], d)
    src = shared_path("kaldi_ref", "yesno", "waves_yesno", UTTS[1] + ".wav")
    (tmp_path / "cut.wav").write_bytes(src.read_bytes()[:30000])
    _edit(d / "wav.scp", lambda ls: [ls[0], f"{UTTS[1]} {tmp_path}/cut.wav", *ls[2:]])

    def make_fbank(*opts):
        return sh("steps/make_fbank.sh", *opts, "--nj", 2, "--fbank-config", FBANK_CONF, d, tmp_path / "log",
                  tmp_path / "fb", check=False)
    r = make_fbank()                                          # 1 of 4 > 5%: the stage fails
    assert r.returncode == 1 and "1 of 4 utterances have truncated audio files" in r.stderr, r.stderr
    assert "more than 5% of the utterances have truncated audio" in r.stderr
    assert not (d / "feats.scp").exists() and not (d / "utt2num_frames").exists()
    report = tmp_path / "log" / "truncated_data"
    assert report.read_text() == f"{UTTS[1]} {tmp_path}/cut.wav\n"
    r = make_fbank("--max-truncated-percent", 25)             # 1 of 4 = 25%: accepted, counted
    assert r.returncode == 0 and "(4 utterances, 1 with truncated audio)" in r.stdout, r.stderr
    logs = [(tmp_path / "log" / f"make_fbank_data.{n}.log").read_text() for n in (1, 2)]
    assert sorted(re.search(r"Processed 2 utterances, (\d) with truncated audio", t).group(1) for t in logs) \
        == ["0", "1"]
    assert f"utterance {UTTS[1]}: audio file {tmp_path}/cut.wav is truncated" in "".join(logs)
    assert report.read_text() == f"{UTTS[1]} {tmp_path}/cut.wav\n"
    assert len((d / "feats.scp").read_text().splitlines()) == 4 and leftovers(tmp_path) == []


def test_missing_file_and_silent_pipe(tmp_path):
    with pytest.raises(DgmmError, match=r"utterance u1: audio file .*nothere.wav not found"):
        read_wav_entry(str(tmp_path / "nothere.wav"), "u1")
    with pytest.raises(DgmmError, match=r"utterance u2: command 'true' produced no audio"):
        read_wav_entry("true |", "u2")


def test_silent_audio_gives_finite_features():
    """Digital silence with dither 0: Kaldi floors the mel energies (log(FLT_EPSILON)), no -inf."""
    cfg = FbankConfig.from_file(FBANK_CONF)
    feats = compute_fbank(np.zeros(8000, np.float32), cfg, cfg.knf_options())
    assert feats.shape == (98, 40) and np.isfinite(feats).all()
    np.testing.assert_allclose(feats, np.log(np.finfo(np.float32).eps), rtol=1e-6)


def test_failing_pipe_in_make_fbank_sh_writes_no_feats(small, tmp_path):
    d = tmp_path / "data"
    shutil.copytree(small["raw"], d)
    lines = (d / "wav.scp").read_text().splitlines()
    lines[2] = f"{UTTS[2]} sox {tmp_path}/missing.wav -t wav - |"
    (d / "wav.scp").write_text("\n".join(lines) + "\n")
    r = sh("steps/make_fbank.sh", "--nj", 2, "--fbank-config", FBANK_CONF, d, tmp_path / "log", tmp_path / "fb",
           check=False)
    assert r.returncode == 1
    assert f"utterance {UTTS[2]}: command 'sox {tmp_path}/missing.wav -t wav -' failed" in r.stderr
    assert not (d / "feats.scp").exists() and leftovers(tmp_path) == []
    assert not list((tmp_path / "fb").glob("*.2.*"))    # the failed job wrote nothing


def test_multichannel_and_wrong_rate_in_one_dir_fail_before_features(small, tmp_path):
    d = tmp_path / "data"
    shutil.copytree(small["raw"], d)
    sf.write(tmp_path / "stereo.wav", np.zeros((8000, 2)), 8000, subtype="PCM_16")
    lines = (d / "wav.scp").read_text().splitlines()
    lines[1] = f"{UTTS[1]} {tmp_path}/stereo.wav"
    (d / "wav.scp").write_text("\n".join(lines) + "\n")
    r = tool("make_fbank", "--config", FBANK_CONF, d, tmp_path / "f.ark", tmp_path / "f.scp")
    assert r.returncode == 1 and f"utterance {UTTS[1]}" in r.stderr and "2 channels" in r.stderr
    assert not (tmp_path / "f.scp").exists() and not (tmp_path / "f.ark").exists() and leftovers(tmp_path) == []


# ----------------------------------------------------------------------------- data dirs


def _edit(path, fn):
    lines = path.read_text().splitlines()
    path.write_text("\n".join(fn(lines)) + "\n")


@pytest.mark.parametrize("name, edit, message", [
    ("utt2spk", lambda ls: [ls[1], ls[0], *ls[2:]], "utt2spk:2: not sorted"),
    ("wav.scp", lambda ls: [ls[0], ls[0], *ls[1:]], "wav.scp:2: duplicate key"),
    ("wav.scp", lambda ls: ls[:-1], "wav.scp: keys differ from utt2spk; 1 missing"),
    ("utt2spk", lambda ls: [ls[0].replace(" global", " x global"), *ls[1:]], "expected one speaker, got 'x global'"),
])
def test_inconsistent_data_dir_stops_make_fbank_sh_before_any_job(small, tmp_path, name, edit, message):
    d = tmp_path / "data"
    shutil.copytree(small["raw"], d)
    _edit(d / name, edit)
    r = sh("steps/make_fbank.sh", "--nj", 2, "--fbank-config", FBANK_CONF, d, tmp_path / "log", tmp_path / "fb",
           check=False)
    assert r.returncode == 1 and message in r.stderr, r.stderr
    assert not (d / "feats.scp").exists() and not (tmp_path / "log").exists()


# ----------------------------------------------------------------------------- features


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_features_are_refused_naming_the_utterance(small, tmp_path, value):
    d = tmp_path / "data"
    shutil.copytree(small["data"], d)
    feats = kaldiio.load_scp(str(small["data"] / "feats.scp"))
    with ArchiveWriter(tmp_path / "feats.ark", d / "feats.scp") as w:
        for u in sorted(feats):
            m = np.array(feats[u])
            if u == UTTS[2]:
                m[7, 3] = value
            w[u] = m
    e = train_main("--config", tiny_conf(tmp_path / "dnn.yaml"), d, small["ali"], tmp_path / "exp")
    assert f"utterance {UTTS[2]}: non-finite feature value {value} at frame 7, dim 3" in str(e)
    assert not (tmp_path / "exp/final.pt").exists() and not (tmp_path / "exp/checkpoint.pt").exists()


# ----------------------------------------------------------------------------- configs and models


@pytest.mark.parametrize("override, message", [
    ("train.lr=fast", "train.lr: expected float, got 'fast'"),
    ("train.batch_size=0", "train.batch_size must be >= 1"),
    ("train.schedule=cosine", "train.schedule must be newbob or warmup_decay"),
    ("train.nan_retries=-1", "train.nan_retries must be >= 0"),
    ("train.learning_rate=0.1", "unknown training option(s): learning_rate"),
    ("model.hidden_dim=-3", "hidden_dim must be >= 1"),
])
def test_bad_config_values_name_the_option(small, tmp_path, override, message):
    e = train_main("--config", tiny_conf(tmp_path / "dnn.yaml"), "--set", override, small["data"], small["ali"],
                   tmp_path / "exp")
    assert message in str(e)
    assert not (tmp_path / "exp/checkpoint.pt").exists()


def test_config_is_parsed_never_executed(small, tmp_path):
    conf = tmp_path / "evil.yaml"
    conf.write_text(f"model: !!python/object/apply:os.system ['touch {tmp_path}/pwned']\n")
    e = train_main("--config", conf, small["data"], small["ali"], tmp_path / "exp")
    assert "evil.yaml: not a valid YAML config" in str(e) and not (tmp_path / "pwned").exists()


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_checkpoint_with_code_is_refused(tmp_path):
    from dgmm.models import load_model
    bad = tmp_path / "final.pt"
    torch.save({"config": {"type": "dnn"}, "state_dict": {}, "x": _Evil(str(tmp_path / "pwned"))}, bad,
               pickle_module=pickle)
    with pytest.raises(ValueError, match="not a readable dgmm checkpoint"):
        load_model(bad)
    assert not (tmp_path / "pwned").exists()


def test_resume_from_a_checkpoint_of_another_architecture(small, tmp_path):
    conf = tiny_conf(tmp_path / "dnn.yaml", max_epochs=1)
    exp = tmp_path / "exp"
    assert train_main("--config", conf, small["data"], small["ali"], exp) == 0
    (exp / "final.pt").unlink()                           # as if killed before the end
    e = train_main("--config", conf, "--set", "model.hidden_dim=48", small["data"], small["ali"], exp)
    assert f"{exp}/checkpoint.pt: written for another model architecture" in str(e) \
        and "size mismatch for hidden.0.weight" in str(e)


def test_junk_training_checkpoint_is_refused(small, tmp_path):
    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / "checkpoint.pt").write_bytes(b"PK\x03\x04 half of a zip")
    e = train_main("--config", tiny_conf(tmp_path / "dnn.yaml"), small["data"], small["ali"], exp)
    assert f"{exp}/checkpoint.pt: not a readable training checkpoint" in str(e)


def test_hclg_of_another_model_is_refused(small, tmp_path):
    fsdd = shared_path("kaldi_ref", "fsdd/golden_decode_mono")
    yesno = small["ref"] / "golden_decode"
    with ArchiveWriter(tmp_path / "ll.ark", tmp_path / "ll.scp") as w:
        w["u1"] = np.zeros((20, 11), np.float32)
    r = tool("decode", "--acwt", 0.1, yesno / "final.mdl", fsdd / "HCLG.fst", f"scp:{tmp_path}/ll.scp",
             tmp_path / "dec")
    assert r.returncode == 1 and "HCLG.fst: input label (transition-id) 618" in r.stderr \
        and "has only 30 transition-ids" in r.stderr, r.stderr[-2000:]
    assert not (tmp_path / "dec").exists()


# ----------------------------------------------------------------------------- full disk


def test_full_disk_during_archive_write_leaves_nothing(small, tmp_path):
    """RLIMIT_FSIZE (ulimit -f, EFBIG) stands in for a full filesystem (ENOSPC: same code path)."""
    out = tmp_path / "out"
    out.mkdir()
    r = tool("make_fbank", "--config", FBANK_CONF, "--compress", "false", small["raw"], out / "f.ark",
             out / "f.scp", limit_kb=40)
    assert r.returncode == 1 and f"{out}/f.ark: cannot write utterance" in r.stderr and "Traceback" not in r.stderr
    assert list(out.iterdir()) == []
    # the same through the stage script: no feats.scp, and a later run with space succeeds
    d = tmp_path / "data"
    shutil.copytree(small["raw"], d)
    args = ["steps/make_fbank.sh", "--nj", 2, "--fbank-config", FBANK_CONF, "--compress", "false", d,
            tmp_path / "log", tmp_path / "fb"]
    r = subprocess.run(["bash", "-c", "ulimit -f 40; exec bash \"$@\"", "x", *map(str, args)], cwd=REPO, env=env(),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "cannot write utterance" in r.stderr and not (d / "feats.scp").exists()
    assert leftovers(tmp_path) == []
    sh(*args)
    assert kaldiio.load_scp(str(d / "feats.scp")).keys() == kaldiio.load_scp(str(small["data"] / "feats.scp")).keys()


def test_full_disk_during_import_keeps_the_previous_import(small, tmp_path):
    dest = tmp_path / "ali"
    shutil.copytree(small["ali"], dest)
    before = {p.name: p.read_bytes() for p in dest.iterdir() if p.is_file()}
    (dest / "pdf_ali.ark").unlink()                     # forces a rewrite bigger than the limit
    before.pop("pdf_ali.ark")
    r = tool("import_ali", small["ref"] / "exp/mono0a_ali", small["data"], dest, limit_kb=1)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    after = {p.name: p.read_bytes() for p in dest.iterdir() if p.is_file()}
    assert {k: v for k, v in after.items() if k in before} == before and leftovers(dest) == []


# ----------------------------------------------------------------------------- paths with spaces


def test_corpus_and_dirs_with_spaces(small, tmp_path):
    root = tmp_path / "my corpus"
    (root / "waves").mkdir(parents=True)
    d = root / "data"
    shutil.copytree(small["raw"], d)
    lines = []
    for line in (d / "wav.scp").read_text().splitlines():
        u, path = line.split(" ", 1)
        shutil.copy(path, root / "waves" / f"{u}.wav")
        lines.append(f"{u} {root}/waves/{u}.wav")
    (d / "wav.scp").write_text("\n".join(lines) + "\n")
    sh("steps/make_fbank.sh", "--nj", 2, "--fbank-config", FBANK_CONF, d, root / "log", root / "fb dir")
    assert (kaldiio.load_scp(str(d / "feats.scp"))[UTTS[0]] ==
            kaldiio.load_scp(str(small["data"] / "feats.scp"))[UTTS[0]]).all()
    sh("steps/import_ali.sh", "--lang", small["ref"] / "data/lang", small["ref"] / "exp/mono0a_ali", d, root / "ali")
    assert (root / "ali/pdf_ali.scp").read_text().count("\n") == len(UTTS)
