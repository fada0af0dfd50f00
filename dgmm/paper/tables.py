"""The paper's tables from trained systems: numbers, the computed verdict under each table, plots.

A system is a model dir <exp>/<name> (final.pt, metrics.tsv, frame_accuracy.<test-set>,
decode_<test-set>/scoring_kaldi/best_wer). Columns as in the paper: #params, training steps, CE cost
and state accuracy (test set, against the GMM alignments), CV state accuracy, WER. Verdicts compare
test-set state accuracy (the paper's main figure of merit); a missing number gives "not decided".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from dgmm.train.metrics import plt, read_metrics_tsv  # plt: matplotlib with the Agg backend

TITLES = {
    "1": "Table 1: joint vs separate optimisation",
    "2": "Table 2: shallow GMM on fixed engineered features vs a learned bottleneck",
    "3": "Table 3: DGMM depth (same GMM layer)",
    "4": "Table 4: matched parameter counts, no pre-training",
    "5": "Table 5: DGMM initialised from the DNN vs the DNN, matched parameters",
    "6": "Table 6: Deep Subspace GMM",
    "order": "Training order: variances frozen first, then all, vs all from the start",
}
# Rows of each table, in order (system names of dgmm/paper/systems.py).
ROWS = {
    "1": ("dnn", "dgmm_separate", "dgmm_joint"),
    "2": ("sgmm_lda", "sgmm_logmel"),
    "3": ("dgmm_depth1", "dgmm_depth3", "dgmm_joint"),
    "4": ("snn", "sgmm_matched", "dnn", "dgmm_scratch_matched"),
    "5": ("dnn", "dgmm_matched"),
    "6": ("dgmm_joint", "dsgmm_mean", "dsgmm_mean_weight", "dsgmm_all"),
    "order": ("dgmm_joint", "dgmm_allvar"),
}
SIMILAR = 1.0  # "DGMM ~ DNN": test state accuracies within this many points (absolute %)


@dataclass
class Result:
    """Numbers of one system; None where the file is missing."""
    name: str
    description: str = ""
    params: int | None = None
    trainable: int | None = None
    steps: int | None = None
    cv_acc: float | None = None
    test_ce: float | None = None
    test_acc: float | None = None
    wer: float | None = None
    train_seconds: float | None = None


def train_seconds(log_file: Path) -> float | None:
    """Wall-clock seconds between the first and the last timestamped line of a train.log."""
    from datetime import datetime

    if not log_file.exists():
        return None
    stamps = [ln[:23] for ln in log_file.read_text().splitlines() if ln[:4].isdigit()]
    if not stamps:
        return None
    t0, t1 = (datetime.strptime(s, "%Y-%m-%d %H:%M:%S,%f") for s in (stamps[0], stamps[-1]))
    return (t1 - t0).total_seconds()


def _float(s: str | None) -> float | None:
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def collect(exp: Path, name: str, test_set: str, description: str = "") -> Result:
    """Read a system's numbers from its model dir."""
    from dgmm.bin.results_table import best_wer, cv_accuracy
    from dgmm.models.checkpoint import load_model
    from dgmm.models.networks import count_parameters

    d = exp / name
    r = Result(name, description)
    if (d / "final.pt").exists():
        model = load_model(d / "final.pt")
        r.params, r.trainable = count_parameters(model), count_parameters(model, trainable_only=True)
    if (d / "metrics.tsv").exists():
        rows = read_metrics_tsv(d / "metrics.tsv")
        r.steps = int(rows[-1]["step"]) if rows else None
    r.cv_acc = _float(cv_accuracy(d))
    fa = d / f"frame_accuracy.{test_set}"
    if fa.exists():
        f = fa.read_text().split()
        r.test_ce, r.test_acc = _float(f[f.index("ce") + 1]), _float(f[f.index("acc") + 1])
    r.wer = _float(best_wer(d / f"decode_{test_set}"))
    r.train_seconds = train_seconds(d / "log" / "train.log")
    return r


def _fmt(v, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def _params(r: Result) -> str:
    if r.params is None:
        return "-"
    s = f"{r.params / 1e6:.3f} M"
    return s if r.trainable == r.params else f"{s} ({r.trainable / 1e6:.3f} M trained)"


def markdown_table(rows: list[Result]) -> str:
    out = ["| system | description | #params | training steps | test CE (nats/frame) | test state acc (%) "
           "| CV state acc (%) | WER (%) | training time (s) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r.name} | {r.description} | {_params(r)} | {_fmt(r.steps, 'd')} | {_fmt(r.test_ce, '.4f')} "
                   f"| {_fmt(r.test_acc, '.2f')} | {_fmt(r.cv_acc, '.2f')} | {_fmt(r.wer, '.2f')} "
                   f"| {_fmt(r.train_seconds, '.0f')} |")
    return "\n".join(out) + "\n"


def _acc(r: Result) -> str:
    return f"{r.name} {r.test_acc:.2f}%"


def verdict(table: str, res: dict[str, Result]) -> tuple[bool | None, str]:
    """(held?, sentence) for the paper's qualitative finding of ``table``, from test state accuracy.

    held is None when a needed number is missing.
    """
    need = ROWS[table]
    missing = [n for n in need if res.get(n) is None or res[n].test_acc is None]
    if missing:
        return None, f"not decided: no test state accuracy for {', '.join(missing)}"
    a = {n: res[n].test_acc for n in need}
    if table == "1":
        ok = a["dgmm_joint"] > a["dgmm_separate"]
        claim = "joint optimisation beats separate optimisation"
        why = f"{_acc(res['dgmm_joint'])} vs {_acc(res['dgmm_separate'])}"
    elif table == "2":
        ok = a["sgmm_logmel"] > a["sgmm_lda"]
        claim = "a learned bottleneck on log-mel beats fixed engineered (LDA) features"
        why = f"{_acc(res['sgmm_logmel'])} vs {_acc(res['sgmm_lda'])}"
    elif table == "3":
        accs = [a[n] for n in need]
        ok = all(x < y for x, y in zip(accs, accs[1:]))
        claim = "deeper DGMMs are better (accuracy rises with every added depth)"
        why = " < ".join(_acc(res[n]) for n in need)
    elif table == "4":
        ok = a["dnn"] > a["snn"] and a["dgmm_scratch_matched"] > a["sgmm_matched"]
        claim = "at equal parameter counts, deep beats shallow for both the NN and the GMM"
        why = (f"{_acc(res['dnn'])} vs {_acc(res['snn'])}; "
               f"{_acc(res['dgmm_scratch_matched'])} vs {_acc(res['sgmm_matched'])}")
    elif table == "5":
        diff = a["dgmm_matched"] - a["dnn"]
        ok = abs(diff) <= SIMILAR
        claim = f"the DGMM is on par with the DNN (test state accuracy within {SIMILAR:g} points)"
        why = f"{_acc(res['dgmm_matched'])} vs {_acc(res['dnn'])}, difference {diff:+.2f}"
    elif table == "6":
        ok = a["dsgmm_mean"] >= a["dgmm_joint"]
        claim = "a subspace shared by the means is at least as good as the baseline DGMM"
        why = f"{_acc(res['dsgmm_mean'])} vs {_acc(res['dgmm_joint'])}"
    elif table == "order":
        ok = a["dgmm_joint"] >= a["dgmm_allvar"]
        claim = "freezing the variances first, then training all, is at least as good as training all from the start"
        why = f"{_acc(res['dgmm_joint'])} vs {_acc(res['dgmm_allvar'])}"
    else:
        raise ValueError(f"unknown table {table!r}")
    return ok, f"{'held' if ok else 'did not hold'}: {claim} ({why})"


def plot_table(path: Path, title: str, exp: Path, names: tuple[str, ...]) -> None:
    """CV (solid) and training (dotted) CE and state accuracy against training steps, one colour a system."""
    fig, (ax_ce, ax_acc) = plt.subplots(1, 2, figsize=(11, 4.2))
    for i, name in enumerate(names):
        f = exp / name / "metrics.tsv"
        if not f.exists():
            continue
        rows = read_metrics_tsv(f)
        color = f"C{i}"
        for key, style, label in (("cv", "-", name), ("tr", ":", None)):
            pts = [(int(r["step"]), _float(r[f"{key}_ce"]), _float(r[f"{key}_acc"])) for r in rows]
            pts = [p for p in pts if p[1] is not None and not math.isnan(p[1])]
            if pts:
                steps, ce, acc = zip(*pts)
                ax_ce.plot(steps, ce, style, color=color, marker=".", label=label)
                ax_acc.plot(steps, acc, style, color=color, marker=".", label=label)
    ax_ce.set(xlabel="training steps", ylabel="cross-entropy (nats/frame)")
    ax_acc.set(xlabel="training steps", ylabel="state accuracy (%)")
    for ax in (ax_ce, ax_acc):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small", title="CV solid, train dotted", title_fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    from dgmm.fileutil import atomic_path
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    plt.close(fig)


def table_markdown(table: str, exp: Path, test_set: str, descriptions: dict[str, str]) -> tuple[str, bool | None]:
    """The markdown of one table (title, rows, verdict line, plot link) and its verdict."""
    res = {n: collect(exp, n, test_set, descriptions.get(n, "")) for n in ROWS[table]}
    held, sentence = verdict(table, res)
    png = f"table{table}.png" if table != "order" else "training_order.png"
    text = (f"### {TITLES[table]} ({test_set})\n\n" + markdown_table([res[n] for n in ROWS[table]])
            + f"\n**Paper's finding {sentence}.**\n\n![{TITLES[table]}]({png})\n")
    return text, held


def table_filename(table: str) -> str:
    return "training_order" if table == "order" else f"table{table}"
