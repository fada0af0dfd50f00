"""Frame-level cross-entropy training, one code path for DNN, DGMM, shallow GMM and DSGMM.

The model obeys the ``dgmm.models`` interface: ``training_loss(x [B, input_dim], y [B]) -> (loss,
log_post [B, S])`` (the loss is a mean over the batch and may include model-specific terms such as
the online prior's CE), ``set_variances_trainable(flag)`` for GMM-family models, and ``.config``.

One epoch = one pass over the training frames in the order ``shuffle_order(seed, epoch)``; each
global batch is split over the ranks; the rank's mean loss is weighted by its share of the global
batch so that DDP's gradient average equals the single-process gradient of the whole batch. After
each epoch: CV, the schedule accepts or rejects the epoch (a rejected epoch's weights are replaced
by the best ones, as Kaldi's newbob does), metrics.tsv / curve PNG / checkpoint are written.

A non-finite training loss (or CV loss) backs off instead of writing NaN weights: the epoch restarts
from the last accepted model and optimizer state with half the learning rate (a ``backoff`` row in
metrics.tsv, a warning in the log); after ``nan_retries`` back-offs training stops with an error.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from dgmm.cli import DgmmError
from dgmm.data.frames import iter_batches, num_batches, shuffle_order, split_changes, split_fingerprint
from dgmm.fileutil import atomic_open
from dgmm.train import checkpoint as ckpt
from dgmm.train.config import DATA_DEFAULTS
from dgmm.train.distributed import DistContext, all_gather_object, all_reduce_sum, barrier
from dgmm.train.metrics import plot_curves, write_metrics_tsv
from dgmm.train.schedules import SCHEDULE_OPTIONS, build_schedule

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Training hyperparameters (the ``train:`` section of conf/dnn.yaml, conf/dgmm.yaml)."""
    optimizer: str = "sgd"            # sgd (with momentum) or adam
    lr: float = 0.008                 # initial learning rate (Kaldi nnet1's default)
    momentum: float = 0.9             # sgd only
    weight_decay: float = 0.0
    batch_size: int = 200             # frames per rank and step (the paper's 200)
    schedule: str = "newbob"          # newbob or warmup_decay
    max_epochs: int = 20
    min_epochs: int = 0               # newbob: never stop before this many epochs
    keep_lr_epochs: int = 0           # newbob: epochs always accepted at the initial lr
    start_halving_impr: float = 0.01  # newbob: start halving when rel. CV improvement falls below
    end_halving_impr: float = 0.001   # newbob: stop (while halving) when it falls below
    halving_factor: float = 0.5       # newbob
    warmup_steps: int = 0             # warmup_decay: linear warmup steps
    decay: float = 0.5                # warmup_decay: lr factor per epoch after warmup
    grad_clip: float = 5.0            # max global gradient L2 norm, 0 = off (GMM layers need it)
    seed: int = 777
    left_context: int = 20
    right_context: int = 5
    block_frames: int | None = None   # None: global frame shuffle; else block-shuffle buffer size
    checkpoint_every: int = 0         # steps between mid-epoch checkpoints, 0 = only per epoch
    report_every: int = 0             # steps between periodic metric rows, 0 = off
    periodic_cv: bool = False         # evaluate CV at each periodic report as well
    freeze_variances_epochs: int = 0  # GMM family: variances fixed for the first N epochs
    freeze_hidden: bool = False       # train only the output layer (model.set_hidden_trainable)
    bf16: bool = False                # bfloat16 autocast of forward passes
    cv_batch_size: int = 4096
    nan_retries: int = 3              # back-offs (restore last good state, halve lr) before giving up

    @classmethod
    def defaults(cls) -> dict:
        """Every option with its default: what an option missing from a config or checkpoint means."""
        return asdict(cls())

    @classmethod
    def from_dict(cls, d: dict | None) -> "TrainConfig":
        d = dict(d or {})
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown training option(s): {', '.join(unknown)}")
        return cls(**d)

    def __post_init__(self):
        """Type and range checks: a bad value is one error naming the option, never a traceback later."""
        for f in fields(self):
            v = getattr(self, f.name)
            want = int if f.default is None else type(f.default)     # None default: an int or null
            accepted = (bool,) if want is bool else (int, float) if want is float else (want,)
            if (f.default is not None or v is not None) and \
                    (not isinstance(v, accepted) or (want is not bool and isinstance(v, bool))):
                raise ValueError(f"training option train.{f.name}: expected {want.__name__}"
                                 f"{' or null' if f.default is None else ''}, got {v!r}")
        bad = [f"{k} must be {rule}" for k, rule, good in (
            ("lr", "> 0", self.lr > 0), ("batch_size", ">= 1", self.batch_size >= 1),
            ("cv_batch_size", ">= 1", self.cv_batch_size >= 1), ("max_epochs", ">= 1", self.max_epochs >= 1),
            ("momentum", "in [0, 1)", 0 <= self.momentum < 1), ("halving_factor", "in (0, 1]",
                                                                0 < self.halving_factor <= 1),
            ("optimizer", "sgd or adam", self.optimizer in ("sgd", "adam")),
            ("schedule", " or ".join(SCHEDULE_OPTIONS), self.schedule in SCHEDULE_OPTIONS),
            ("block_frames", ">= 1 or null", self.block_frames is None or self.block_frames >= 1),
        ) if not good]
        bad += [f"{k} must be >= 0" for k in ("weight_decay", "min_epochs", "keep_lr_epochs", "warmup_steps",
                                              "grad_clip", "left_context", "right_context", "checkpoint_every",
                                              "report_every", "freeze_variances_epochs", "nan_retries")
                if getattr(self, k) < 0]
        if bad:
            raise ValueError(f"bad training option(s): train.{'; train.'.join(bad)}")


class TrainingDiverged(DgmmError, FloatingPointError):
    """The loss stayed NaN/Inf through every back-off (reported as one ERROR line by the tools)."""


class _NonFinite(Exception):
    """A NaN/Inf loss: the epoch is abandoned and ``Trainer._back_off`` restores the last good state."""


class _LossModule(nn.Module):
    """Routes ``forward`` to ``training_loss`` so DistributedDataParallel's hooks see it."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x, y):
        return self.model.training_loss(x, y)


class _Sums:
    """Frame-level CE sum, correct count and frame count, accumulated as float64 tensors on the
    training device (no host synchronisation per step); ``values`` gives plain floats."""

    def __init__(self, ce: float = 0.0, correct: float = 0.0, frames: float = 0.0, device="cpu"):
        self.t = torch.tensor([ce, correct, frames], dtype=torch.float64, device=device)

    def add(self, log_post: torch.Tensor, y: torch.Tensor) -> None:
        with torch.no_grad():
            lp = log_post.float()
            self.t[0] += F.nll_loss(lp, y, reduction="sum").double()
            self.t[1] += (lp.argmax(-1) == y).sum().double()
            self.t[2] += len(y)

    @property
    def values(self) -> list[float]:
        return self.t.tolist()

    @property
    def frames(self) -> float:
        return float(self.t[2])

    def reduced(self, ctx: DistContext) -> "_Sums":
        return _Sums(*all_reduce_sum(self.t.clone(), ctx).tolist())

    @property
    def mean_ce(self) -> float:
        ce, _, n = self.values
        return ce / max(n, 1)

    @property
    def accuracy(self) -> float:
        _, correct, n = self.values
        return 100.0 * correct / max(n, 1)


class Trainer:
    """Trains ``model`` on ``train_set`` with CV on ``cv_set`` (FrameSet / StreamingFrames) in ``exp_dir``.

    ``data_options``: the data options the sets were made with that change their features
    (``config.FEATURE_OPTIONS``, e.g. {"cmvn_mode": "speaker", "norm_vars": False}); recorded in the
    checkpoint, and a resume with other values is refused."""

    def __init__(self, model: nn.Module, train_set, cv_set, cfg: TrainConfig, exp_dir: str | Path,
                 ctx: DistContext | None = None, save_model=None, model_extra: dict | None = None,
                 data_options: dict | None = None):
        self.model, self.tr, self.cv, self.cfg = model, train_set, cv_set, cfg
        self.data_options = data_options
        self.exp = Path(exp_dir)
        self.exp.mkdir(parents=True, exist_ok=True)
        self.ctx = ctx or DistContext()
        self.dev = self.ctx.device
        self.save_model = save_model
        self.split = split_fingerprint(train_set.index.utts, cv_set.index.utts)
        self.model_extra = {**(model_extra or {}), "split": self.split}
        self.model.to(self.dev)
        self.opt = self._optimizer()
        self.steps_per_epoch = num_batches(len(train_set), cfg.batch_size, self.ctx.world_size)
        self.sched = build_schedule(cfg.schedule, cfg.lr, self.steps_per_epoch, **{
            k: getattr(cfg, k) for k in SCHEDULE_OPTIONS[cfg.schedule]})
        # training position and history (all in the checkpoint)
        self.epoch, self.next_batch, self.step = 0, 0, 0
        self.lr_scale, self.backoffs = 1.0, 0   # NaN back-off: lr factor and back-offs so far
        self.sums = _Sums(device=self.dev)
        self.rows: list[dict] = []
        self.best = None  # {"model", "optimizer", "cv_ce", "epoch"}
        self.ckpt_path = self.exp / "checkpoint.pt"

    # ------------------------------------------------------------------ set-up
    def _optimizer(self) -> torch.optim.Optimizer:
        c = self.cfg
        params = list(self.model.parameters())
        if c.optimizer == "sgd":
            return torch.optim.SGD(params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay)
        if c.optimizer == "adam":
            return torch.optim.Adam(params, lr=c.lr, weight_decay=c.weight_decay)
        raise ValueError(f"unknown optimizer {c.optimizer!r} (sgd or adam)")

    def _autocast(self):
        if not self.cfg.bf16:
            return contextlib.nullcontext()
        return torch.autocast(self.dev.type, dtype=torch.bfloat16)

    def _set_trainable(self, epoch: int) -> None:
        if hasattr(self.model, "set_variances_trainable"):
            self.model.set_variances_trainable(epoch >= self.cfg.freeze_variances_epochs)
        elif self.cfg.freeze_variances_epochs:
            raise ValueError(f"{type(self.model).__name__} has no variances (freeze_variances_epochs)")
        if self.cfg.freeze_hidden:
            if not hasattr(self.model, "set_hidden_trainable"):
                raise ValueError(f"{type(self.model).__name__} does not support freeze_hidden")
            self.model.set_hidden_trainable(False)

    def _wrapped(self) -> nn.Module:
        """The loss module, in DDP when distributed (rebuilt each epoch: trainable params may change)."""
        m = _LossModule(self.model)
        if not self.ctx.distributed:
            return m
        from torch.nn.parallel import DistributedDataParallel as DDP
        ids = [self.dev.index] if self.dev.type == "cuda" else None
        return DDP(m, device_ids=ids, broadcast_buffers=False)

    # ------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def evaluate(self, data) -> _Sums:
        """CE and accuracy of the current model on all frames of ``data`` (frames split over ranks)."""
        was_training = self.model.training
        self.model.eval()
        sums = _Sums(device=self.dev)
        order = torch.arange(len(data))
        c = self.cfg
        for frames, _ in iter_batches(order, c.cv_batch_size, self.ctx.rank, self.ctx.world_size):
            x, y = data.gather(frames, c.left_context, c.right_context)
            x, y = x.to(self.dev, non_blocking=True), y.to(self.dev, non_blocking=True)
            with self._autocast():
                sums.add(self.model(x), y)
        self.model.train(was_training)
        return sums.reduced(self.ctx)

    # ------------------------------------------------------------------ checkpoints
    def _state(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "schedule": self.sched.state_dict(),
            "best": self.best,
            "rng": all_gather_object(ckpt.rng_state(), self.ctx),
            "position": {"epoch": self.epoch, "next_batch": self.next_batch, "step": self.step,
                         "sums": self.sums.values, "lr_scale": self.lr_scale, "backoffs": self.backoffs},
            "rows": self.rows,
            "world_size": self.ctx.world_size,
            "train_frames": len(self.tr),
            "train_config": asdict(self.cfg),
            "data_options": self.data_options,
            "split": {**self.split, "cv_ids": sorted(self.cv.index.utts)},
        }

    def save_checkpoint(self) -> None:
        state = self._state()  # collective (RNG gather): every rank calls it
        if self.ctx.is_main:
            ckpt.save_checkpoint(self.ckpt_path, state)
        barrier(self.ctx)

    def _restore(self, state: dict) -> None:
        self._check_split(state.get("split"))
        if state["world_size"] != self.ctx.world_size or state["train_frames"] != len(self.tr):
            raise ValueError(
                f"{self.ckpt_path}: written by a run with {state['world_size']} ranks and "
                f"{state['train_frames']} training frames, this run has {self.ctx.world_size} and "
                f"{len(self.tr)}; remove it (or use --resume false) to start over")
        self._check_options("training", "train", state["train_config"], asdict(self.cfg), TrainConfig.defaults())
        if self.data_options is not None:
            if state.get("data_options") is None:   # an older version, or a Trainer given no data_options
                log.warning("%s records no data options (older version, or written without them): cannot "
                            "check that the features are normalised as before; if data.%s changed, delete "
                            "it to start afresh",
                            self.ckpt_path, " or data.".join(self.data_options))
            else:
                self._check_options("data", "data", state["data_options"], self.data_options, DATA_DEFAULTS)
        try:
            self.model.load_state_dict(state["model"])
        except RuntimeError as e:   # e.g. the config's model section changed since the checkpoint
            detail = str(e).strip().splitlines()[1].strip() if "\n" in str(e).strip() else str(e)
            raise ValueError(f"{self.ckpt_path}: written for another model architecture ({detail}); restore "
                             f"the model options, or use --resume false to start over") from None
        self.opt.load_state_dict(state["optimizer"])
        self.sched.load_state_dict(state["schedule"])
        self.best = state["best"]
        pos = state["position"]
        self.epoch, self.next_batch, self.step = pos["epoch"], pos["next_batch"], pos["step"]
        self.sums = _Sums(*pos["sums"], device=self.dev)
        self.lr_scale, self.backoffs = pos.get("lr_scale", 1.0), pos.get("backoffs", 0)
        self.rows = state["rows"]
        ckpt.set_rng_state(state["rng"][self.ctx.rank])

    def _check_options(self, what: str, section: str, saved: dict, now: dict, defaults: dict) -> None:
        """Refuse to resume with options other than the checkpoint's ``saved`` ones (an option missing
        from an older checkpoint had its value in ``defaults``)."""
        changed = [f"{section}.{k}: {saved.get(k, defaults[k])} -> {v}" for k, v in now.items()
                   if saved.get(k, defaults[k]) != v]
        if changed:
            raise ValueError(f"{self.ckpt_path}: written with other {what} options ({'; '.join(changed)}); "
                             f"restore them, or delete {self.ckpt_path} (or use --resume false) to start afresh")

    def _check_split(self, saved: dict | None) -> None:
        """Refuse to resume on another train/CV split: newbob would compare CV losses of different sets
        and the model could train on utterances it was cross-validated on."""
        if saved is None:   # checkpoints written before the split was recorded
            log.warning("%s records no train/CV split (older version): cannot check that the split is "
                        "unchanged; if the data dir or its data.cv_* options changed, delete it to start afresh",
                        self.ckpt_path)
            return
        changes = split_changes(saved, self.tr.index.utts, self.cv.index.utts, "the checkpoint")
        if changes:
            raise ValueError(f"{self.ckpt_path}: written with another train/CV split ({'; '.join(changes)}); "
                             f"the data dir, its data.cv_* options or the split code changed since. Restore "
                             f"them, or delete {self.ckpt_path} (or use --resume false) to start afresh")

    def _write_cv_utts(self) -> None:
        """<exp>/cv_utts: the held-out utterances, one id per line (Kaldi-style list)."""
        if self.ctx.is_main:
            with atomic_open(self.exp / "cv_utts") as f:
                f.writelines(f"{u}\n" for u in sorted(self.cv.index.utts))

    # ------------------------------------------------------------------ main loop
    def run(self, resume: bool = True, on_start=None) -> dict:
        """Train until the schedule stops; returns the final epoch's metrics row.

        ``on_start()``, when given, is called on the main rank once the checkpoint has been restored
        (every resume check passed) or a fresh run has begun: where the caller writes the files that
        describe the model in the exp dir, so that a refused resume leaves those of the run it refused.
        """
        c = self.cfg
        torch.manual_seed(c.seed + self.ctx.rank)
        state = ckpt.load_checkpoint(self.ckpt_path) if resume else None
        if state is not None:
            self._restore(state)
            log.info("resuming from %s: epoch %d, batch %d of %d", self.ckpt_path, self.epoch + 1,
                     self.next_batch, self.steps_per_epoch)
        else:
            cv = self.evaluate(self.cv)
            self.sched.start(cv.mean_ce)
            self.best = {"model": self._cpu_state(), "optimizer": copy.deepcopy(self.opt.state_dict()),
                         "cv_ce": cv.mean_ce, "epoch": 0}
            self._report({"kind": "initial", "epoch": 0, "step": 0, "frames": 0,
                          "cv_ce": cv.mean_ce, "cv_acc": cv.accuracy})
            log.info("CROSSVAL PRERUN AVG.LOSS %.4f (frame accuracy %.2f%%)", cv.mean_ce, cv.accuracy)
            self.save_checkpoint()
        self._write_cv_utts()
        if on_start is not None and self.ctx.is_main:
            on_start()
        while not self.sched.done:
            try:
                self._train_epoch()
            except _NonFinite as e:
                self._back_off(str(e))
        return self._finish()

    def _back_off(self, why: str) -> None:
        """Restart the current epoch from the last accepted state with half the learning rate."""
        self.backoffs += 1
        if self.backoffs > self.cfg.nan_retries:
            raise TrainingDiverged(f"{why}; gave up after {self.cfg.nan_retries} back-off(s) (nan_retries), "
                                   f"last good model in {self.ckpt_path}")
        self.model.load_state_dict(self.best["model"])
        self.opt.load_state_dict(copy.deepcopy(self.best["optimizer"]))
        self.step -= self.next_batch          # the epoch's steps are redone
        self.next_batch, self.sums = 0, _Sums(device=self.dev)
        self.lr_scale *= 0.5
        log.warning("%s: back-off %d of %d, restarting epoch %d from the model of epoch %d with the "
                    "learning rate scaled by %g", why, self.backoffs, self.cfg.nan_retries, self.epoch + 1,
                    self.best["epoch"], self.lr_scale)
        self._report({"kind": "backoff", "epoch": self.epoch + 1, "step": self.step,
                      "lr": self.sched.lr(self.step) * self.lr_scale, "status": "nan"})
        self.save_checkpoint()

    def _cpu_state(self) -> dict:
        return {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}

    def _train_epoch(self) -> None:
        c, ctx = self.cfg, self.ctx
        self._set_trainable(self.epoch)
        net = self._wrapped()
        net.train()
        if hasattr(self.tr, "set_epoch"):
            self.tr.set_epoch(self.epoch, c.seed, c.block_frames)
        order = shuffle_order(self.tr.index, self.epoch, c.seed, c.block_frames)
        lr = self.sched.lr(self.step) * self.lr_scale
        bar = self._progress()
        t0, n0 = time.time(), self.sums.frames
        for frames, n_global in iter_batches(order, c.batch_size, ctx.rank, ctx.world_size, self.next_batch):
            if n_global < ctx.world_size:  # a last global batch too small to give every rank a frame
                log.info("skipping the last %d frame(s) of the epoch (fewer than %d ranks)", n_global,
                         ctx.world_size)
                break
            lr = self.sched.lr(self.step) * self.lr_scale
            for g in self.opt.param_groups:
                g["lr"] = lr
            x, y = self.tr.gather(frames, c.left_context, c.right_context)
            x, y = x.to(self.dev, non_blocking=True), y.to(self.dev, non_blocking=True)
            with self._autocast():
                loss, log_post = net(x, y)
            # a NaN backs off (run), on every rank together; on a GPU (the check is a host sync) every
            # 50 steps and before each checkpoint, which then never holds the weights of a NaN step
            ckpt_due = c.checkpoint_every and (self.next_batch + 1) % c.checkpoint_every == 0
            if (self.dev.type == "cpu" or self.step % 50 == 0 or ckpt_due) and self._any_rank_non_finite(loss):
                if bar is not None:
                    bar.close()
                raise _NonFinite(f"epoch {self.epoch + 1} step {self.step}: loss is {float(loss.detach())}")
            self.opt.zero_grad(set_to_none=True)
            # rank's mean weighted by its share: DDP's average = gradient of the global batch mean
            (loss * (len(frames) * ctx.world_size / n_global)).backward()
            if c.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.grad_clip)
            self.opt.step()
            self.sums.add(log_post, y)
            self.step += 1
            self.next_batch += 1
            if bar is not None:
                bar.update(len(frames))
            if c.report_every and self.next_batch % c.report_every == 0:
                self._periodic(lr)
            if c.checkpoint_every and self.next_batch % c.checkpoint_every == 0 \
                    and self.next_batch < self.steps_per_epoch:
                self.save_checkpoint()
        if bar is not None:
            bar.close()
        elapsed = max(time.time() - t0, 1e-9)
        tr = self.sums.reduced(ctx)
        cv = self.evaluate(self.cv)
        if not (math.isfinite(cv.mean_ce) and math.isfinite(tr.mean_ce)):
            raise _NonFinite(f"epoch {self.epoch + 1}: train CE {tr.mean_ce}, CV CE {cv.mean_ce}")
        accepted = self.sched.end_epoch(cv.mean_ce)
        self.epoch += 1
        if accepted:
            if self.best is None or cv.mean_ce < self.best["cv_ce"] or c.schedule == "newbob":
                self.best = {"model": self._cpu_state(), "optimizer": copy.deepcopy(self.opt.state_dict()),
                             "cv_ce": cv.mean_ce, "epoch": self.epoch}
                self._export("best.pt")
        else:
            self.model.load_state_dict(self.best["model"])
            self.opt.load_state_dict(copy.deepcopy(self.best["optimizer"]))  # no aliasing of best
        status = "accepted" if accepted else "rejected"
        log.info("ITERATION %02d: TRAIN AVG.LOSS %.4f (acc %.2f%%), (lrate %.6g), CROSSVAL AVG.LOSS %.4f "
                 "(acc %.2f%%), nnet %s; %.0f frames/s", self.epoch, tr.mean_ce, tr.accuracy, lr,
                 cv.mean_ce, cv.accuracy, status, (self.sums.frames - n0) * ctx.world_size / elapsed)
        self._report({"kind": "epoch", "epoch": self.epoch, "step": self.step, "frames": int(tr.frames),
                      "lr": lr, "tr_ce": tr.mean_ce, "tr_acc": tr.accuracy, "cv_ce": cv.mean_ce,
                      "cv_acc": cv.accuracy, "status": status})
        self.next_batch, self.sums = 0, _Sums(device=self.dev)
        self.save_checkpoint()

    def _any_rank_non_finite(self, loss: torch.Tensor) -> bool:
        bad = (~torch.isfinite(loss.detach())).double().reshape(1)
        return bool(all_reduce_sum(bad, self.ctx) > 0) if self.ctx.distributed else bool(bad)

    def _periodic(self, lr: float) -> None:
        tr = self.sums.reduced(self.ctx)
        row = {"kind": "periodic", "epoch": self.epoch + 1, "step": self.step, "frames": int(tr.frames),
               "lr": lr, "tr_ce": tr.mean_ce, "tr_acc": tr.accuracy,
               "epoch_pos": self.epoch + self.next_batch / self.steps_per_epoch}
        if self.cfg.periodic_cv:
            cv = self.evaluate(self.cv)
            row.update(cv_ce=cv.mean_ce, cv_acc=cv.accuracy)
        log.info("epoch %d step %d: train CE %.4f acc %.2f%%%s", self.epoch + 1, self.step, tr.mean_ce,
                 tr.accuracy, f", cv CE {row['cv_ce']:.4f} acc {row['cv_acc']:.2f}%" if "cv_ce" in row else "")
        self._report(row)

    def _report(self, row: dict) -> None:
        self.rows.append(row)
        if self.ctx.is_main:
            write_metrics_tsv(self.exp / "metrics.tsv", self.rows)
            if row["kind"] != "periodic":
                plot_curves(self.exp / "training_curve.png", self.rows, title=str(self.exp))

    def _progress(self):
        """tqdm bar with frames/s and ETA, only on an interactive terminal of rank 0."""
        if not (self.ctx.is_main and sys.stderr.isatty()):
            return None
        from tqdm import tqdm
        per_rank = self.cfg.batch_size * self.ctx.world_size
        done = min(self.next_batch * per_rank, len(self.tr))
        return tqdm(total=len(self.tr), initial=done, unit="fr", unit_scale=True, dynamic_ncols=True,
                    desc=f"epoch {self.epoch + 1}", leave=False)

    def _export(self, name: str) -> None:
        if self.ctx.is_main and self.save_model is not None:
            self.save_model(self.exp / name, self.model, {**self.model_extra, "epoch": self.epoch})

    def _finish(self) -> dict:
        """final.pt = the model training ended with (for newbob: the best accepted one); best.pt = best CV.
        final.pt is written last: the recipes take it as "training is done"."""
        if self.ctx.is_main and self.save_model is not None:
            final_state = self._cpu_state()
            self.model.load_state_dict(self.best["model"])
            self.save_model(self.exp / "best.pt", self.model, {**self.model_extra, "epoch": self.best["epoch"]})
            self.model.load_state_dict(final_state)
            self.save_model(self.exp / "final.pt", self.model, {**self.model_extra, "epoch": self.epoch})
        barrier(self.ctx)
        # the metrics of the model kept: the last epoch not rejected by newbob
        kept = [r for r in self.rows if r["kind"] == "epoch" and r.get("status") != "rejected"]
        return kept[-1] if kept else self.rows[0]
