"""Learning-rate schedules: Kaldi nnet1's newbob and linear warmup + exponential decay.

A schedule gives the learning rate of each step (``lr(step)``), decides after each epoch's
cross-validation whether the epoch is kept (``end_epoch(cv_loss) -> accepted``) and when training
stops (``done``). Its whole state is a plain dict (``state_dict``) for checkpoints.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class NewBob:
    """Kaldi ``steps/nnet/train_scheduler.sh``: constant lr per epoch, halved once CV stops improving.

    After each epoch: the model is accepted if its CV loss is below the best so far, otherwise
    rejected (the caller restores the best weights). ``rel_impr = (best_before - best_after) /
    best_before``; once halving has started and rel_impr < end_halving_impr, training stops (not
    before ``min_epochs``); rel_impr < start_halving_impr starts halving; while halving, lr *=
    halving_factor each epoch. The first ``keep_lr_epochs`` epochs are always accepted, never halve.
    """

    def __init__(self, lr: float, max_epochs: int = 20, min_epochs: int = 0, keep_lr_epochs: int = 0,
                 start_halving_impr: float = 0.01, end_halving_impr: float = 0.001,
                 halving_factor: float = 0.5):
        self.lr0, self.cur_lr = lr, lr
        self.max_epochs, self.min_epochs, self.keep_lr_epochs = max_epochs, min_epochs, keep_lr_epochs
        self.start_impr, self.end_impr, self.factor = start_halving_impr, end_halving_impr, halving_factor
        self.best_loss: float | None = None
        self.halving = False
        self.epochs_done = 0
        self.stopped = False

    def lr(self, step: int) -> float:
        return self.cur_lr

    def start(self, cv_loss: float) -> None:
        """CV loss of the initial model (Kaldi's ``iter00.initial`` cross-validation)."""
        self.best_loss = cv_loss

    @property
    def done(self) -> bool:
        return self.stopped or self.epochs_done >= self.max_epochs

    def end_epoch(self, cv_loss: float) -> bool:
        self.epochs_done += 1
        epoch = self.epochs_done
        prev = self.best_loss
        accepted = cv_loss < prev or epoch <= self.keep_lr_epochs
        if accepted:
            self.best_loss = cv_loss
        if epoch <= self.keep_lr_epochs:
            return accepted
        rel_impr = (prev - self.best_loss) / prev
        if self.halving and rel_impr < self.end_impr:
            if epoch >= self.min_epochs:
                log.info("newbob: finished, too small relative improvement %.6g", rel_impr)
                self.stopped = True
                return accepted
            log.info("newbob: supposed to finish, continuing as min_epochs=%d", self.min_epochs)
            return accepted
        if rel_impr < self.start_impr:
            self.halving = True
        if self.halving:
            self.cur_lr *= self.factor
        return accepted

    def state_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("cur_lr", "best_loss", "halving", "epochs_done", "stopped")}

    def load_state_dict(self, state: dict) -> None:
        for k, v in state.items():
            setattr(self, k, v)


class WarmupDecay:
    """Linear warmup over ``warmup_steps`` to ``lr``, then ``lr * decay ** ((step - warmup) /
    steps_per_epoch)`` (exponential decay by ``decay`` per epoch); ``max_epochs`` epochs, all accepted."""

    def __init__(self, lr: float, steps_per_epoch: int, max_epochs: int = 20, warmup_steps: int = 0,
                 decay: float = 0.5):
        self.lr0, self.steps_per_epoch, self.max_epochs = lr, max(1, steps_per_epoch), max_epochs
        self.warmup, self.decay = warmup_steps, decay
        self.best_loss: float | None = None
        self.epochs_done = 0

    def lr(self, step: int) -> float:
        if step < self.warmup:
            return self.lr0 * (step + 1) / self.warmup
        return self.lr0 * self.decay ** ((step - self.warmup) / self.steps_per_epoch)

    def start(self, cv_loss: float) -> None:
        self.best_loss = cv_loss

    @property
    def done(self) -> bool:
        return self.epochs_done >= self.max_epochs

    def end_epoch(self, cv_loss: float) -> bool:
        self.epochs_done += 1
        self.best_loss = min(self.best_loss, cv_loss) if self.best_loss is not None else cv_loss
        return True

    def state_dict(self) -> dict:
        return {"best_loss": self.best_loss, "epochs_done": self.epochs_done}

    def load_state_dict(self, state: dict) -> None:
        for k, v in state.items():
            setattr(self, k, v)


SCHEDULE_OPTIONS = {
    "newbob": ("max_epochs", "min_epochs", "keep_lr_epochs", "start_halving_impr", "end_halving_impr",
               "halving_factor"),
    "warmup_decay": ("max_epochs", "warmup_steps", "decay"),
}


def build_schedule(name: str, lr: float, steps_per_epoch: int, **opts):
    """``newbob`` or ``warmup_decay`` with the options of that class."""
    if name not in SCHEDULE_OPTIONS:
        raise ValueError(f"unknown learning-rate schedule {name!r} (newbob or warmup_decay)")
    if name == "newbob":
        return NewBob(lr, **opts)
    return WarmupDecay(lr, steps_per_epoch, **opts)
