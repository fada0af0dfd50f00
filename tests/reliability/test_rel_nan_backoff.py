"""A NaN loss during training: the trainer backs off (last good state, half the learning rate) and
reports it, a bounded number of times, and never writes NaN weights."""

from __future__ import annotations

import logging

import pytest
import torch

from dgmm.data.frames import FrameSet, UttList
from dgmm.models import build_model, load_checkpoint, save_model
from dgmm.train.metrics import read_metrics_tsv
from dgmm.train.trainer import TrainConfig, Trainer


def _frames(n_utts: int, seed: int) -> FrameSet:
    """Three separable classes, 40 frames per utterance, 4-dim features."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 3, (n_utts * 40,), generator=g)
    feats = torch.randn(n_utts * 40, 4, generator=g) * 0.3 + torch.nn.functional.one_hot(labels, 4).float()
    index = UttList([f"u{i}" for i in range(n_utts)], torch.arange(0, n_utts * 40 + 1, 40))
    return FrameSet(index, feats, labels, 3)


class _NaNAt:
    """Wraps model.training_loss: the loss of the calls listed in ``bad`` is NaN."""

    def __init__(self, model, bad):
        self.n, self.bad, self.orig = 0, bad, model.training_loss
        model.training_loss = self

    def __call__(self, x, y):
        self.n += 1
        loss, log_post = self.orig(x, y)
        return (loss * float("nan"), log_post) if self.bad(self.n) else (loss, log_post)


def _trainer(tmp_path, **cfg):
    torch.manual_seed(0)
    model = build_model({"type": "dnn", "input_dim": 4, "num_states": 3, "hidden_layers": 1, "hidden_dim": 8})
    c = TrainConfig(**{"lr": 0.1, "batch_size": 20, "max_epochs": 3, "schedule": "warmup_decay", "decay": 1.0,
                       "left_context": 0, "right_context": 0, **cfg})
    return Trainer(model, _frames(6, 1), _frames(2, 2), c, tmp_path, save_model=save_model), model


def _finite(state: dict) -> bool:
    return all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


def test_one_nan_backs_off_halves_lr_and_finishes(tmp_path, caplog):
    tr, model = _trainer(tmp_path)
    _NaNAt(model, lambda n: n == 15)                  # in epoch 2 (12 batches per epoch)
    with caplog.at_level(logging.WARNING):
        tr.run()
    rows = read_metrics_tsv(tmp_path / "metrics.tsv")
    back = [r for r in rows if r["kind"] == "backoff"]
    assert len(back) == 1 and back[0]["epoch"] == "2" and back[0]["status"] == "nan"
    epochs = [r for r in rows if r["kind"] == "epoch"]
    assert [float(r["lr"]) for r in epochs] == [0.1, 0.05, 0.05]
    assert [r["epoch"] for r in epochs] == ["1", "2", "3"]        # epoch 2 redone, not skipped
    assert any("back-off 1 of 3" in r.message and "epoch 2" in r.message for r in caplog.records)
    for name in ("final.pt", "best.pt", "checkpoint.pt"):
        obj = torch.load(tmp_path / name, weights_only=True)
        assert _finite(obj["model"] if "model" in obj else load_checkpoint(tmp_path / name)["state_dict"])
    assert float(epochs[-1]["cv_ce"]) < float(rows[0]["cv_ce"])   # it still learned


def test_persistent_nan_gives_up_after_nan_retries_without_nan_weights(tmp_path):
    tr, model = _trainer(tmp_path, nan_retries=2)
    _NaNAt(model, lambda n: n > 14)
    with pytest.raises(FloatingPointError, match=r"epoch 2 step \d+: loss is nan; gave up after 2 back-off"):
        tr.run()
    assert not (tmp_path / "final.pt").exists()
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert _finite(state["model"]) and state["position"]["backoffs"] == 2
    rows = read_metrics_tsv(tmp_path / "metrics.tsv")
    assert [float(r["lr"]) for r in rows if r["kind"] == "backoff"] == [0.05, 0.025]


def test_backoff_state_survives_a_resume(tmp_path):
    """The halved learning rate is in the checkpoint: a rerun after a crash keeps it."""
    tr, model = _trainer(tmp_path, max_epochs=2)
    _NaNAt(model, lambda n: n == 15)
    tr.run()
    tr2, _ = _trainer(tmp_path, max_epochs=2)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    tr2._restore(state)
    assert tr2.lr_scale == 0.5 and tr2.backoffs == 1
