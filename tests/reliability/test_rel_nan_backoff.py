"""A NaN loss during training: the trainer backs off (last good state, half the learning rate) and
reports it, a bounded number of times, and never writes NaN weights. With 2 data-parallel ranks
(gloo, torchrun) a NaN on one rank only makes both back off together (no desync, no hang).

Run as a script (``torchrun ... test_rel_nan_backoff.py <exp> <nan-calls>``), this file is one rank
of that test: it trains the tiny DNN below with NaN losses on rank 1 at the given loss calls."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

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


def _trainer(tmp_path, ctx=None, **cfg):
    torch.manual_seed(0)
    model = build_model({"type": "dnn", "input_dim": 4, "num_states": 3, "hidden_layers": 1, "hidden_dim": 8})
    c = TrainConfig(**{"lr": 0.1, "batch_size": 20, "max_epochs": 3, "schedule": "warmup_decay", "decay": 1.0,
                       "left_context": 0, "right_context": 0, **cfg})
    return Trainer(model, _frames(6, 1), _frames(2, 2), c, tmp_path, ctx, save_model=save_model), model


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


def _rank_main(exp: str, nan_calls: str) -> None:
    """One rank of the 2-rank test: NaN losses on rank 1 only, at loss call ``n`` (``n-``: from n on);
    writes <exp>/rank<r>.pt with this rank's final weights and back-off state."""
    from dgmm.train.distributed import init_distributed, shutdown
    torch.set_num_threads(1)
    ctx = init_distributed("cpu")
    tr, model = _trainer(Path(exp), ctx)
    first, persistent, _ = nan_calls.partition("-")
    if ctx.rank == 1:
        _NaNAt(model, (lambda n: n >= int(first)) if persistent else (lambda n: n == int(first)))
    try:
        tr.run()
    except FloatingPointError as e:
        print(f"rank {ctx.rank}: {e}", file=sys.stderr)
    finally:
        torch.save({"model": model.state_dict(), "backoffs": tr.backoffs, "lr_scale": tr.lr_scale,
                    "step": tr.step, "epoch": tr.epoch}, Path(exp) / f"rank{ctx.rank}.pt")
        shutdown(ctx)


def _torchrun(exp: Path, nan_calls: str) -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": f"{repo}{os.pathsep}{Path(__file__).parent}", "OMP_NUM_THREADS": "1"}
    p = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "2",
                          "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{port}", __file__, str(exp),
                          nan_calls], cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, start_new_session=True)
    try:
        out = p.communicate(timeout=180)[0]
    except subprocess.TimeoutExpired:     # a desync: one rank waits forever in a collective
        os.killpg(p.pid, signal.SIGKILL)
        raise AssertionError("the 2 ranks hung (desynchronised) after a NaN on one rank") from None
    assert p.returncode == 0, out[-3000:]
    return out


@pytest.mark.parametrize("nan_calls", ["5", "5-"])
def test_nan_on_one_of_two_ranks_backs_off_both_together(tmp_path, nan_calls):
    """Rank 1 alone sees the NaN (2 ranks x 6 batches of 20 frames per epoch: loss call 5 is in epoch
    1): both ranks take the same back-off, stay in step with identical weights, and no NaN weights
    are written; a NaN that persists makes both give up after nan_retries (3), neither hangs."""
    out = _torchrun(tmp_path, nan_calls)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    for k in ("backoffs", "lr_scale", "step", "epoch"):
        assert r0[k] == r1[k], (k, r0[k], r1[k])
    for k, v in r0["model"].items():
        assert torch.equal(v, r1["model"][k]), k               # the replicas are still identical
    assert _finite(torch.load(tmp_path / "checkpoint.pt", weights_only=True)["model"])
    rows = read_metrics_tsv(tmp_path / "metrics.tsv")
    if nan_calls == "5":
        assert r0["backoffs"] == 1 and r0["lr_scale"] == 0.5 and r0["epoch"] == 3
        assert [r["epoch"] for r in rows if r["kind"] == "backoff"] == ["1"]
        assert [float(r["lr"]) for r in rows if r["kind"] == "epoch"] == [0.05, 0.05, 0.05]
        for name in ("final.pt", "best.pt"):
            assert _finite(load_checkpoint(tmp_path / name)["state_dict"])
    else:
        assert out.count("gave up after 3 back-off") == 2, out[-3000:]    # both ranks, not one
        assert len([r for r in rows if r["kind"] == "backoff"]) == 3 and not (tmp_path / "final.pt").exists()


if __name__ == "__main__":
    _rank_main(*sys.argv[1:])
