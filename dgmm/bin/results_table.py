"""The summary table of a recipe: system, #params, CV state accuracy, test state accuracy, WER.

    python -m dgmm.bin.results_table [--test-set NAME] <system>...

Each <system> is a model dir (exp/dnn: final.pt, metrics.tsv, frame_accuracy.<test-set>,
decode_<test-set>/scoring_kaldi/best_wer) or ``LABEL=DECODE_DIR`` for a system known only by its
decode dir (the GMM-HMM baseline; #params then counts the Gaussians of <DECODE_DIR>/../final.mdl or
of the model named in its log). Missing numbers print as "-". Output is a markdown table.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from dgmm.cli import run_main
from dgmm.train.metrics import read_metrics_tsv

WER = re.compile(r"%WER\s+([\d.]+)")


def best_wer(decode_dir: Path) -> str:
    f = decode_dir / "scoring_kaldi" / "best_wer"
    m = WER.search(f.read_text()) if f.exists() else None
    return m.group(1) if m else "-"


def cv_accuracy(model_dir: Path) -> str:
    """CV state accuracy of the kept model: the last epoch newbob did not reject."""
    f = model_dir / "metrics.tsv"
    if not f.exists():
        return "-"
    rows = read_metrics_tsv(f)
    kept = [r for r in rows if r["kind"] == "epoch" and r.get("status") != "rejected"] or rows[:1]
    return f"{float(kept[-1]['cv_acc']):.2f}" if kept else "-"


def test_accuracy(model_dir: Path, test_set: str) -> str:
    f = model_dir / f"frame_accuracy.{test_set}"
    if not f.exists():
        return "-"
    fields = f.read_text().split()
    return fields[fields.index("acc") + 1]


def nnet_params(model_dir: Path) -> str:
    from dgmm.models.checkpoint import load_model
    from dgmm.models.networks import count_parameters

    f = model_dir / "final.pt"
    return f"{count_parameters(load_model(f)) / 1e6:.3f} M" if f.exists() else "-"


def gmm_params(mdl: Path) -> str:
    """Weights, means and variances of all Gaussians of a Kaldi GMM model."""
    from dgmm.kaldi.gmm_model import read_gmm_model

    if not mdl.exists():
        return "-"
    am = read_gmm_model(mdl).am
    n = sum(g.weights.size + g.means_invvars.size + g.inv_vars.size for g in am.pdfs)
    return f"{n / 1e6:.3f} M"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--test-set", default="test", help="name of the test data dir (default: %(default)s)")
    p.add_argument("--gmm-model", default=None, help="final.mdl of LABEL=DECODE_DIR systems "
                                                        "(default: <DECODE_DIR>/../final.mdl)")
    p.add_argument("systems", nargs="+")
    args = p.parse_args(argv)
    print("| system | #params | CV state acc (%) | test state acc (%) | WER (%) |")
    print("|---|---|---|---|---|")
    for s in args.systems:
        if "=" in s:
            label, decode_dir = s.rsplit("=", 1)  # the label may hold "=", the decode dir not
            d = Path(decode_dir)
            mdl = Path(args.gmm_model) if args.gmm_model else d.parent / "final.mdl"
            print(f"| {label} | {gmm_params(mdl)} | - | - | {best_wer(d)} |")
        else:
            d = Path(s)
            print(f"| {d.name} | {nnet_params(d)} | {cv_accuracy(d)} | {test_accuracy(d, args.test_set)} | "
                  f"{best_wer(d / f'decode_{args.test_set}')} |")
    return 0


if __name__ == "__main__":
    run_main(main)
