"""Resuming dgmm.bin.train refuses a changed train/CV split (checkpoint fingerprint), old checkpoints
without one resume with a warning, <exp>/cv_utts lists the held-out utterances, and init_dgmm records
the same fingerprint as the training run on the same split (and warns about a --dnn of another split)."""

import hashlib
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from dgmm.bin import init_dgmm, train
from dgmm.data.frames import split_fingerprint
from dgmm.kaldi.archive import ArchiveWriter
from dgmm.models import build_model, save_model
from dgmm.train.metrics import read_metrics_tsv
from dgmm.train.trainer import Trainer

UTTS = [f"u{i:02d}" for i in range(20)]   # one speaker each; default split: CV = the last 10% = u18 u19
CONF = {"model": {"type": "dnn", "hidden_layers": 1, "hidden_dim": 8},
        "data": {"cmvn_mode": "none"},
        "train": {"lr": 0.1, "batch_size": 50, "max_epochs": 2, "schedule": "warmup_decay", "decay": 1.0,
                  "left_context": 0, "right_context": 0}}


class _Killed(Exception):
    pass


def _data(root):
    """data dir (feats.scp, utt2spk) + imported alignments (pdf_ali.scp, num_pdfs): 20 utterances of
    30 frames each (so that moving an utterance between train and CV keeps the frame counts), 3 pdfs."""
    data, ali = root / "data", root / "ali"
    data.mkdir()
    ali.mkdir()
    g = np.random.default_rng(0)
    with ArchiveWriter(data / "feats.ark", data / "feats.scp") as fw, \
            ArchiveWriter(ali / "pdf_ali.ark", ali / "pdf_ali.scp") as aw:
        for u in UTTS:
            labels = g.integers(0, 3, 30).astype(np.int32)
            fw[u] = (g.normal(size=(30, 4)) * 0.3 + np.eye(4)[labels]).astype(np.float32)
            aw[u] = labels
    (data / "utt2spk").write_text("".join(f"{u} {u}\n" for u in UTTS))
    (ali / "num_pdfs").write_text("3\n")
    return data, ali


def _drop_utt(data, utt):
    for name in ("feats.scp", "utt2spk"):
        p = data / name
        p.write_text("".join(line for line in p.read_text().splitlines(True) if line.split()[0] != utt))


@pytest.fixture
def setup(tmp_path):
    data, ali = _data(tmp_path)
    conf = tmp_path / "dnn.yaml"
    conf.write_text(yaml.safe_dump(CONF))
    return data, ali, ["--num-threads", "1", "--config", str(conf)]


def _train_killed_after_epoch_1(monkeypatch, argv):
    """dgmm.bin.train killed right after the first epoch's checkpoint."""
    orig = Trainer.save_checkpoint

    def save_then_die(self):
        orig(self)
        if self.epoch == 1:
            raise _Killed
    with monkeypatch.context() as m:
        m.setattr(Trainer, "save_checkpoint", save_then_die)
        with pytest.raises(_Killed):
            train.main(argv)


def test_resume_refuses_changed_split(setup, tmp_path, monkeypatch):
    data, ali, opts = setup
    exp = tmp_path / "exp"
    _train_killed_after_epoch_1(monkeypatch, opts + [str(data), str(ali), str(exp)])
    assert (exp / "cv_utts").read_text() == "u18\nu19\n"
    assert not (exp / "final.pt").exists()
    shutil.copytree(exp, tmp_path / "old")
    ckpt_bytes = (exp / "checkpoint.pt").read_bytes()

    # another split option: same counts and frames, other CV utterances
    with pytest.raises(ValueError, match=r"checkpoint.pt: written with another train/CV split \(CV set: 2 "
                                         r"utterances in the checkpoint, 2 now; [1-4] ids differ, first: u"):
        train.main(opts + ["--set", "data.cv_random=true", str(data), str(ali), str(exp)])
    # one utterance less in the data dir: u18 moves from CV to training (same training frame count)
    saved = {name: (data / name).read_text() for name in ("feats.scp", "utt2spk")}
    _drop_utt(data, "u00")
    with pytest.raises(ValueError) as e:
        train.main(opts + [str(data), str(ali), str(exp)])
    msg = str(e.value)
    assert "CV set: 2 utterances in the checkpoint, 1 now; 1 ids differ, first: u18" in msg, msg
    assert "training set: 18 utterances in the checkpoint, 18 now, 1 of them held out for CV before, " \
           "first: u18" in msg, msg
    assert f"delete {exp / 'checkpoint.pt'}" in msg, msg
    assert (exp / "checkpoint.pt").read_bytes() == ckpt_bytes and (exp / "cv_utts").read_text() == "u18\nu19\n"

    # the same split again: resumes and finishes; final.pt / best.pt record the split
    for name, text in saved.items():
        (data / name).write_text(text)
    assert train.main(opts + [str(data), str(ali), str(exp)]) == 0
    assert "resuming from" in (exp / "log/train.log").read_text()
    assert [r["epoch"] for r in read_metrics_tsv(exp / "metrics.tsv") if r["kind"] == "epoch"] == ["1", "2"]
    split = split_fingerprint(UTTS[:18], UTTS[18:])
    assert split["cv_sha1"] == hashlib.sha1((exp / "cv_utts").read_bytes()).hexdigest()
    for name in ("final.pt", "best.pt"):
        assert torch.load(exp / name, weights_only=True)["split"] == split

    # a checkpoint of an older version (no split recorded): resumes with a warning
    old = tmp_path / "old"
    log = _resume_older_checkpoint(old, "split", opts + [str(data), str(ali), str(old)])
    assert "records no train/CV split (older version)" in log


def _exp_files(exp):
    """Every file of an exp dir but its logs (a refused run appends to log/train.log), as bytes."""
    return {p.relative_to(exp): p.read_bytes() for p in exp.rglob("*") if p.is_file() and p.parent.name != "log"}


def _resume_older_checkpoint(exp, key, argv):
    """Delete ``key`` from exp/checkpoint.pt (as written by an older version), resume; the train log."""
    state = torch.load(exp / "checkpoint.pt", weights_only=True)
    del state[key]
    torch.save(state, exp / "checkpoint.pt")
    assert train.main(argv) == 0
    assert (exp / "final.pt").exists()
    return (exp / "log/train.log").read_text()


def test_refused_resume_leaves_the_exp_dir_files(setup, tmp_path, monkeypatch):
    """A resume with other options, model, split or feature options (data.cmvn_mode / norm_vars: the
    network would train on other features) is refused, naming checkpoint, change and remedy, and leaves
    every file of the exp dir as it was (config.yaml, splice_opts, ... used to be rewritten before the
    checks); a checkpoint without the data options record (older version) resumes with a warning."""
    data, ali, opts = setup
    exp = tmp_path / "exp"
    _train_killed_after_epoch_1(monkeypatch, opts + [str(data), str(ali), str(exp)])
    before = _exp_files(exp)
    assert before[Path("splice_opts")] == b"--left-context=0 --right-context=0\n"
    ckpt = exp / "checkpoint.pt"
    for change, refusal in ((["--set", "train.lr=0.2"], "other training options"),
                            (["--set", "train.right_context=1"], "other training options"),
                            (["--set", "model.hidden_dim=9"], "another model architecture"),
                            (["--set", "data.cv_random=true"], "another train/CV split"),
                            (["--set", "data.cmvn_mode=utterance"],
                             f"{ckpt}: written with other data options (data.cmvn_mode: none -> utterance)"),
                            (["--set", "data.norm_vars=true"],
                             f"{ckpt}: written with other data options (data.norm_vars: False -> True)")):
        with pytest.raises(ValueError, match=re.escape(refusal)) as e:
            train.main(opts + change + [str(data), str(ali), str(exp)])
        assert "--resume false" in str(e.value), str(e.value)   # the remedy
        assert _exp_files(exp) == before, change

    log = _resume_older_checkpoint(exp, "data_options", opts + [str(data), str(ali), str(exp)])
    assert "records no data options (older version, or written without them)" in log


def test_init_dgmm_records_the_training_split(setup, tmp_path, capsys):
    """init.pt holds the fingerprint the DGMM's training run computes; a changed split is warned about,
    by init_dgmm for its --dnn (init.pt records init_dgmm's own split, so train cannot see the DNN's)
    and by train for its init.pt."""
    data, ali, opts = setup
    exp = tmp_path / "dgmm"
    dgmm = ["--set", "model.type=dgmm", "--set", "model.bottleneck_dim=3", "--set", "model.num_components=1",
            "--set", "model.prior=none"]
    for name, (tr_utts, cv_utts) in (("other", (UTTS[1:19], UTTS[19:])), ("same", (UTTS[:18], UTTS[18:]))):
        # a DNN's final.pt as dgmm.bin.train writes it: the split recorded next to the weights
        dnn = tmp_path / f"dnn_{name}.pt"
        save_model(dnn, build_model({**CONF["model"], "input_dim": 4, "num_states": 3}),
                   {"split": split_fingerprint(tr_utts, cv_utts)})
        capsys.readouterr()
        assert init_dgmm.main(opts + dgmm + ["--dnn", str(dnn), "--init-frames", "200", str(data), str(ali),
                                             str(exp / "init.pt")]) == 0
        err = capsys.readouterr().err
        warned = f"{dnn} was made on another train/CV split (CV set: 1 utterances in {dnn}, 2 now" in err
        assert warned == (name == "other"), err
    assert torch.load(exp / "init.pt", weights_only=True)["split"] == split_fingerprint(UTTS[:18], UTTS[18:])
    _drop_utt(data, "u00")
    assert train.main(opts + dgmm + ["--set", "train.max_epochs=1", str(data), str(ali), str(exp)]) == 0
    log = (exp / "log/train.log").read_text()
    assert "init.pt was made on another train/CV split (CV set: 2 utterances in " in log, log
    assert torch.load(exp / "final.pt", weights_only=True)["split"] == split_fingerprint(UTTS[1:19], UTTS[19:])
