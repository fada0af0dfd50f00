"""Training metrics: ``metrics.tsv`` (one row per report) and the training-curve PNG.

Rows are dicts with the columns of ``COLUMNS``: ``kind`` is ``initial`` (CV of the starting model),
``periodic`` (every N steps: running train CE/accuracy of the epoch so far, and CV when asked) or
``epoch`` (the epoch's train and CV figures; ``status`` accepted/rejected) or ``backoff`` (a NaN loss
restarted the epoch from the last good state with the ``lr`` shown; ``status`` nan). CE is nats per frame,
accuracy is the frame (pdf) accuracy in percent.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")  # files only, never a display
import matplotlib.pyplot as plt  # noqa: E402

from dgmm.fileutil import atomic_open, atomic_path  # noqa: E402

COLUMNS = ("kind", "epoch", "step", "frames", "lr", "tr_ce", "tr_acc", "cv_ce", "cv_acc", "status")


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def write_metrics_tsv(path: str | os.PathLike, rows: list[dict]) -> None:
    """Rewrite the whole table atomically (after a resume it holds exactly the checkpoint's history)."""
    with atomic_open(path) as f:
        f.write("\t".join(COLUMNS) + "\n")
        for r in rows:
            f.write("\t".join(_fmt(r.get(c)) for c in COLUMNS) + "\n")


def read_metrics_tsv(path: str | os.PathLike) -> list[dict]:
    with open(path) as f:
        head = f.readline().rstrip("\n").split("\t")
        return [dict(zip(head, line.rstrip("\n").split("\t"))) for line in f]


def plot_curves(path: str | os.PathLike, rows: list[dict], title: str = "") -> None:
    """CE and state accuracy of train and CV against epoch (periodic rows at fractional epochs)."""
    fig, (ax_ce, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label, style in (("tr", "train", "-"), ("cv", "cv", "--")):
        pts = [(_x(r), r[f"{key}_ce"], r[f"{key}_acc"]) for r in rows if r.get(f"{key}_ce") is not None]
        if pts:
            xs, ce, acc = zip(*pts)
            ax_ce.plot(xs, ce, style, marker=".", label=label)
            ax_acc.plot(xs, acc, style, marker=".", label=label)
    ax_ce.set(xlabel="epoch", ylabel="cross-entropy (nats/frame)")
    ax_acc.set(xlabel="epoch", ylabel="frame accuracy (%)")
    for ax in (ax_ce, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    plt.close(fig)


def _x(row: dict) -> float:
    """Plot position: epochs completed (periodic rows carry a fractional ``epoch_pos``)."""
    return row.get("epoch_pos", row["epoch"])
