"""Trainer: FSDD DNN and DGMM beat the prior-only baseline; schedules; rejection; refusals; options."""

import copy
import os

import numpy as np
import pytest
import torch
import yaml

from conftest import shared_path
from dgmm.bin import init_dgmm, train
from dgmm.cli import DgmmError
from dgmm.kaldi.archive import read_vector
from dgmm.data.frames import load_train_cv
from dgmm.models import build_model, load_checkpoint, load_model
from dgmm.train.metrics import read_metrics_tsv
from dgmm.train.schedules import NewBob, WarmupDecay
from dgmm.train.trainer import TrainConfig, Trainer
from fsdd_frames import make_fsdd

DNN_CONF = {"model": {"type": "dnn", "hidden_layers": 2, "hidden_dim": 128},
            "train": {"lr": 0.02, "momentum": 0.9, "max_epochs": 4, "report_every": 40}}
DGMM_CONF = {"model": {"type": "dgmm", "bottleneck_dim": 20, "num_components": 2},
             "train": {"lr": 0.002, "momentum": 0.9, "max_epochs": 3, "freeze_variances_epochs": 1}}


@pytest.fixture(scope="module")
def fsdd(tmp_path_factory):
    shared_path("kaldi_ref", "fsdd")
    return make_fsdd(tmp_path_factory.mktemp("fsdd"), shared_path(), per_digit=10)


def _conf(tmp_path, name, conf):
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump(conf))
    return str(p)


def test_fsdd_dnn_then_dgmm_beat_prior_baseline(fsdd, tmp_path):
    data, ali = fsdd
    torch.set_num_threads(2)
    tr, cv, _ = load_train_cv(data, ali, "none")
    # prior-only baselines: the training prior's top pdf, and even the best constant guess for CV
    top = int(torch.bincount(tr.labels, minlength=tr.num_pdfs).argmax())
    prior_acc = 100 * float((cv.labels == top).float().mean())
    oracle_const_acc = 100 * float(torch.bincount(cv.labels).max()) / len(cv)
    baseline = max(prior_acc, oracle_const_acc)

    dnn_exp, dgmm_exp = tmp_path / "dnn", tmp_path / "dgmm"
    assert train.main(["--num-threads", "2", "--config", _conf(tmp_path, "dnn", DNN_CONF),
                       str(data), str(ali), str(dnn_exp)]) == 0
    rows = read_metrics_tsv(dnn_exp / "metrics.tsv")
    dnn_cv = max(float(r["cv_acc"]) for r in rows if r["kind"] == "epoch" and r["status"] == "accepted")
    assert dnn_cv > baseline + 10, (dnn_cv, baseline)
    for f in ("final.pt", "best.pt", "training_curve.png", "log/train.log", "checkpoint.pt"):
        assert (dnn_exp / f).exists(), f
    assert load_checkpoint(dnn_exp / "final.pt")["splice"] == [20, 5]
    assert (dnn_exp / "training_curve.png").read_bytes()[:4] == b"\x89PNG"
    # rerunning a finished stage does nothing
    mtime = (dnn_exp / "final.pt").stat().st_mtime_ns
    assert train.main([str(data), str(ali), str(dnn_exp)]) == 0
    assert (dnn_exp / "final.pt").stat().st_mtime_ns == mtime

    assert init_dgmm.main(["--num-threads", "2", "--config", _conf(tmp_path, "dgmm", DGMM_CONF),
                           "--dnn", str(dnn_exp / "final.pt"), str(data), str(ali),
                           str(dgmm_exp / "init.pt")]) == 0
    init = load_model(dgmm_exp / "init.pt")
    dnn = load_model(dnn_exp / "final.pt")
    assert torch.equal(init.hidden[0].weight, dnn.hidden[0].weight)  # first hidden layer copied
    assert init.config["hidden_layers"] == 1                          # default: all but the DNN's last
    # the config's model.hidden_layers says how many to copy: here all of the DNN's 2
    assert init_dgmm.main(["--num-threads", "2", "--config", _conf(tmp_path, "dgmm", DGMM_CONF),
                           "--set", "model.hidden_layers=2", "--dnn", str(dnn_exp / "final.pt"), "--init-frames", "0",
                           str(data), str(ali), str(tmp_path / "all_layers.pt")]) == 0
    all_layers = load_model(tmp_path / "all_layers.pt")
    assert all_layers.config["hidden_layers"] == 2 and torch.equal(all_layers.hidden[2].weight, dnn.hidden[2].weight)
    assert train.main(["--num-threads", "2", "--config", _conf(tmp_path, "dgmm", DGMM_CONF),
                       str(data), str(ali), str(dgmm_exp)]) == 0
    rows = read_metrics_tsv(dgmm_exp / "metrics.tsv")
    dgmm_cv = max(float(r["cv_acc"]) for r in rows if r["kind"] == "epoch" and r["status"] == "accepted")
    assert dgmm_cv > baseline + 10, (dgmm_cv, baseline)
    assert load_model(dgmm_exp / "final.pt").config["type"] == "dgmm"


def test_refuses_mismatched_alignments_and_features(fsdd, tmp_path):
    data, ali = fsdd
    wrong_pdfs = build_model({"type": "dnn", "input_dim": 26 * 13, "num_states": 66, "hidden_layers": 1,
                              "hidden_dim": 8})
    from dgmm.models import save_model
    save_model(tmp_path / "m66.pt", wrong_pdfs)
    with pytest.raises(DgmmError, match="num_pdfs is 67 but the model has 66"):
        train.main(["--init-model", str(tmp_path / "m66.pt"), str(data), str(ali), str(tmp_path / "e1")])
    wrong_dim = build_model({"type": "dnn", "input_dim": 26 * 40, "num_states": 67, "hidden_layers": 1,
                             "hidden_dim": 8})
    save_model(tmp_path / "m40.pt", wrong_dim)
    with pytest.raises(DgmmError, match="feats.scp has dim 13"):
        train.main(["--init-model", str(tmp_path / "m40.pt"), str(data), str(ali), str(tmp_path / "e2")])


def test_newbob_follows_kaldi_scheduler():
    """Decisions of steps/nnet/train_scheduler.sh for a given CV-loss sequence (start_halving 0.01,
    end_halving 0.001): accept while improving, reject when worse, halve from the first small
    improvement on, stop when halving and the improvement falls below 0.001."""
    s = NewBob(1.0, max_epochs=20)
    s.start(10.0)
    trace = []
    for loss in (5.0, 4.0, 4.5, 3.99, 3.9, 3.8999):
        acc = s.end_epoch(loss)
        trace.append((acc, s.cur_lr, s.done))
    # 5.0: +50% accept; 4.0: +20% accept; 4.5: worse -> reject, rel_impr 0 -> start halving (lr .5)
    # 3.99: +0.25% accept, < 1% -> halve (.25); 3.9: +2.3% accept, halving continues (.125)
    # 3.8999: +0.0026% < 0.1% while halving -> stop, lr unchanged
    assert trace == [(True, 1.0, False), (True, 1.0, False), (False, 0.5, False), (True, 0.25, False),
                     (True, 0.125, False), (True, 0.125, True)]
    assert s.best_loss == 3.8999
    k = NewBob(1.0, max_epochs=3, keep_lr_epochs=1)
    k.start(1.0)
    assert k.end_epoch(2.0) and k.cur_lr == 1.0  # kept epoch accepted even though worse
    k2 = NewBob(1.0, max_epochs=10, min_epochs=4)
    k2.start(1.0)
    for _ in range(3):
        k2.end_epoch(2.0)
    assert not k2.done  # would stop, but min_epochs
    state = copy.deepcopy(k2.state_dict())
    k3 = NewBob(1.0, max_epochs=10, min_epochs=4)
    k3.load_state_dict(state)
    assert k3.end_epoch(2.0) is False and k3.done and k3.cur_lr == k2.cur_lr


def test_warmup_decay():
    s = WarmupDecay(0.1, steps_per_epoch=10, max_epochs=2, warmup_steps=4, decay=0.5)
    assert [round(s.lr(i), 6) for i in range(4)] == [0.025, 0.05, 0.075, 0.1]
    assert s.lr(4) == pytest.approx(0.1) and s.lr(14) == pytest.approx(0.05)
    s.start(3.0)
    assert s.end_epoch(4.0) and not s.done and s.end_epoch(5.0) and s.done


class _Stub:
    """A schedule that rejects every epoch (to check that weights are restored)."""
    done = False

    def lr(self, step):
        return 0.01

    def start(self, loss):
        pass

    def end_epoch(self, loss):
        self.done = True
        return False

    def state_dict(self):
        return {}


def test_rejected_epoch_restores_best_weights(fsdd, tmp_path):
    data, ali = fsdd
    tr, cv, _ = load_train_cv(data, ali, "speaker")
    model = build_model({"type": "dnn", "input_dim": 26 * 13, "num_states": 67, "hidden_layers": 1,
                         "hidden_dim": 16})
    t = Trainer(model, tr, cv, TrainConfig(max_epochs=1), tmp_path)
    t.sched = _Stub()
    before = copy.deepcopy(model.state_dict())
    t.run()
    rows = read_metrics_tsv(tmp_path / "metrics.tsv")
    # the epoch changed the weights (its CV differs), then the rejection put the old ones back
    assert rows[-1]["status"] == "rejected" and rows[-1]["cv_ce"] != rows[0]["cv_ce"]
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_adam_bf16_clip_warmup(fsdd, tmp_path):
    data, ali = fsdd
    tr, cv, _ = load_train_cv(data, ali, "speaker")
    torch.manual_seed(0)
    model = build_model({"type": "dnn", "input_dim": 26 * 13, "num_states": 67, "hidden_layers": 1,
                         "hidden_dim": 32})
    cfg = TrainConfig(optimizer="adam", lr=0.003, schedule="warmup_decay", warmup_steps=20, max_epochs=1,
                      grad_clip=1.0, bf16=True, batch_size=400)
    row = Trainer(model, tr, cv, cfg, tmp_path).run()
    initial_cv = float(read_metrics_tsv(tmp_path / "metrics.tsv")[0]["cv_ce"])
    assert np.isfinite(row["tr_ce"]) and row["cv_ce"] < initial_cv


def test_variance_schedule(fsdd, tmp_path):
    data, ali = fsdd
    tr, cv, _ = load_train_cv(data, ali, "speaker")
    torch.manual_seed(0)
    model = build_model({"type": "dgmm", "input_dim": 26 * 13, "num_states": 67, "hidden_layers": 1,
                         "hidden_dim": 32, "bottleneck_dim": 8, "num_components": 1})
    log_vars0 = model.gmm.log_vars.detach().clone()
    means0 = model.gmm.means.detach().clone()
    cfg = TrainConfig(optimizer="adam", lr=0.003, schedule="warmup_decay", max_epochs=2,
                      freeze_variances_epochs=2, batch_size=400)
    Trainer(model, tr, cv, cfg, tmp_path / "a").run()
    assert torch.equal(model.gmm.log_vars, log_vars0) and not torch.equal(model.gmm.means, means0)
    cfg.freeze_variances_epochs = 1
    Trainer(model, tr, cv, cfg, tmp_path / "b").run()  # frozen in epoch 1, trained in epoch 2
    assert not torch.equal(model.gmm.log_vars, log_vars0)


def test_streaming_training_equals_in_memory(fsdd, tmp_path):
    """Block shuffle: reading feats.scp block by block trains exactly as the in-RAM store."""
    data, ali = fsdd
    cfg = TrainConfig(max_epochs=1, block_frames=2000, lr=0.01, batch_size=500)
    results = []
    for streaming in (False, True):
        tr, cv, _ = load_train_cv(data, ali, "speaker", streaming=streaming)
        torch.manual_seed(1)
        model = build_model({"type": "dnn", "input_dim": 26 * 13, "num_states": 67, "hidden_layers": 1,
                             "hidden_dim": 32})
        results.append(Trainer(model, tr, cv, cfg, tmp_path / str(streaming)).run())
    assert results[0] == results[1]


@pytest.mark.parametrize("kind", ["shallow_gmm", "dsgmm"])
def test_init_and_train_gmm_family_from_scratch(fsdd, tmp_path, kind):
    data, ali = fsdd
    conf = {"model": {"type": kind, "bottleneck_dim": 8, "num_components": 2, "hidden_layers": 0 if kind == "shallow_gmm" else 1,
                      "hidden_dim": 32, "prior": "counts" if kind == "shallow_gmm" else "online"},
            "train": {"optimizer": "adam", "lr": 0.003, "max_epochs": 1, "left_context": 2, "right_context": 2,
                      "batch_size": 500}}
    path = _conf(tmp_path, kind, conf)
    exp = tmp_path / "exp"
    assert init_dgmm.main(["--config", path, "--init-frames", "5000", str(data), str(ali), str(exp / "init.pt")]) == 0
    model = load_model(exp / "init.pt")
    assert model.config["input_dim"] == 5 * 13 and model.config["type"] == kind
    # the prior starts at the alignments' state frequencies (pdf_counts of all utterances)
    freq = torch.tensor(read_vector(ali / "pdf_counts"))
    freq = torch.clamp(freq, min=1.0) / torch.clamp(freq, min=1.0).sum()
    torch.testing.assert_close(model.log_prior().double().exp(), freq, atol=1e-6, rtol=1e-4)
    assert train.main(["--config", path, str(data), str(ali), str(exp)]) == 0
    rows = read_metrics_tsv(exp / "metrics.tsv")
    assert float(rows[-1]["cv_ce"]) < float(rows[0]["cv_ce"])


def test_resume_refuses_changed_options(fsdd, tmp_path):
    data, ali = fsdd
    tr, cv, _ = load_train_cv(data, ali, "none")
    model = build_model({"type": "dnn", "input_dim": 26 * 13, "num_states": 67, "hidden_layers": 1,
                         "hidden_dim": 8})
    Trainer(model, tr, cv, TrainConfig(max_epochs=1), tmp_path).run()
    with pytest.raises(ValueError, match=r"lr: 0.008 -> 0.1"):
        Trainer(model, tr, cv, TrainConfig(max_epochs=1, lr=0.1), tmp_path).run()
    Trainer(model, tr, cv, TrainConfig(max_epochs=1, lr=0.1), tmp_path).run(resume=False)


def test_stage_scripts(fsdd, tmp_path):
    """steps/train_dnn.sh -> steps/init_dgmm.sh -> steps/train_dgmm.sh, usage and refusal messages."""
    import subprocess
    from conftest import REPO
    data, ali = fsdd
    env = {**os.environ, "DGMM_ROOT": str(REPO)}

    def sh(*args):
        return subprocess.run(["bash", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)

    dnn_conf = _conf(tmp_path, "dnn", {**DNN_CONF, "train": {**DNN_CONF["train"], "max_epochs": 1}})
    dgmm_conf = _conf(tmp_path, "dgmm", {**DGMM_CONF, "train": {**DGMM_CONF["train"], "max_epochs": 1}})
    r = sh("steps/train_dnn.sh")
    assert r.returncode == 1 and "Usage: steps/train_dnn.sh" in r.stderr and "e.g.:" in r.stderr
    r = sh("steps/train_dnn.sh", str(data), str(tmp_path / "no_ali"), str(tmp_path / "x"))
    assert r.returncode == 1 and f"expected file {tmp_path}/no_ali/pdf_ali.scp to exist" in r.stderr
    exp = tmp_path / "exp"
    r = sh("steps/train_dnn.sh", "--nnet-config", dnn_conf, "--num-threads", "1", str(data), str(ali), str(exp / "dnn"))
    assert r.returncode == 0, r.stderr[-2000:]
    assert (exp / "dnn/final.pt").exists() and "final: epoch 1" in r.stdout
    r = sh("steps/train_dgmm.sh", "--nnet-config", dgmm_conf, str(data), str(ali), str(exp / "dgmm"))
    assert r.returncode == 1 and "run steps/init_dgmm.sh first" in r.stderr
    r = sh("steps/init_dgmm.sh", "--nnet-config", dgmm_conf, "--num-threads", "1", str(data), str(ali),
           str(exp / "dnn"), str(exp / "dgmm"))
    assert r.returncode == 0, r.stderr[-2000:]
    r = sh("steps/train_dgmm.sh", "--nnet-config", dgmm_conf, "--num-threads", "1", str(data), str(ali),
           str(exp / "dgmm"))
    assert r.returncode == 0, r.stderr[-2000:]
    assert load_checkpoint(exp / "dgmm/final.pt")["config"]["type"] == "dgmm"
    # a model that does not fit the alignments is refused with the reason
    bad = build_model({"type": "dnn", "input_dim": 26 * 13, "num_states": 60, "hidden_layers": 1, "hidden_dim": 8})
    from dgmm.models import save_model
    save_model(tmp_path / "bad.pt", bad)
    r = sh("steps/train_dnn.sh", "--init-model", str(tmp_path / "bad.pt"), str(data), str(ali), str(exp / "bad"))
    assert r.returncode == 1 and "num_pdfs is 67 but the model has 60 output states" in r.stderr
