"""Compute the state prior p(s) of a model: from alignment counts, mean posteriors, or its online prior.

    python -m dgmm.bin.compute_prior --method counts|posterior|online [options] <ali-or-data-dir> <model-dir>
e.g.: python -m dgmm.bin.compute_prior --method counts exp/tri1_ali_import exp/dnn
      python -m dgmm.bin.compute_prior --method posterior --num-frames 20000 data/train exp/dnn

counts: <ali-dir>/pdf_counts (floored at --count-floor frames); posterior: mean softmax of
<model-dir>/final.pt over --num-frames random frames of <data-dir>; online: the model's learned prior
(the first argument is then unused). Writes <model-dir>/prior.vec and <model-dir>/prior_method.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import torch

from dgmm.cli import DgmmError, run_main, setup_logging
from dgmm.decode.prior import online_prior, prior_from_counts, prior_from_posteriors, write_prior
from dgmm.kaldi.archive import read_vector

log = logging.getLogger("compute_prior")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="compute_prior", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--method", choices=["counts", "posterior", "online"], required=True)
    p.add_argument("--model", default="", help="model file (default <model-dir>/final.pt)")
    p.add_argument("--count-floor", type=float, default=1.0, help="counts: minimum frames per pdf")
    p.add_argument("--num-frames", type=int, default=20000, help="posterior: frames averaged")
    p.add_argument("--seed", type=int, default=777)
    p.add_argument("--prob-floor", type=float, default=1e-10)
    p.add_argument("--num-threads", type=int, default=1)
    p.add_argument("src", help="ali dir (counts), data dir (posterior), anything (online)")
    p.add_argument("model_dir")
    a = p.parse_args(argv)
    setup_logging("compute_prior")
    torch.set_num_threads(a.num_threads)
    model_dir = Path(a.model_dir)
    model_path = Path(a.model) if a.model else model_dir / "final.pt"
    model = None
    if a.method != "counts" or model_path.is_file():
        from dgmm.models import load_model
        from dgmm.models.checkpoint import load_checkpoint
        model = load_model(model_path)
        model.eval()
    if a.method == "counts":
        counts_file = Path(a.src) / "pdf_counts"
        if not counts_file.is_file():
            raise FileNotFoundError(f"{counts_file} not found (steps/import_ali.sh writes it)")
        counts = read_vector(counts_file)
        probs = prior_from_counts(counts, a.count_floor, a.prob_floor)
        n_zero = int(np.sum(counts < a.count_floor))
        desc = (f"counts {counts_file} (total {counts.sum():.0f} frames, {n_zero} pdfs below the floor of "
                f"{a.count_floor} frames)")
    elif a.method == "posterior":
        extra = {k: v for k, v in load_checkpoint(model_path).items() if k not in ("config", "state_dict")}
        probs, n = prior_from_posteriors(model, extra, a.src, a.num_frames, a.seed, a.prob_floor)
        desc = f"posterior mean of {model_path} over {n} random frames of {a.src} (seed {a.seed})"
    else:
        probs = online_prior(model, a.prob_floor)
        desc = f"online prior of {model_path}"
    if model is not None and len(probs) != model.config["num_states"]:
        raise DgmmError(f"prior has {len(probs)} entries but {model_path} has {model.config['num_states']} pdfs")
    out = write_prior(model_dir, probs, f"{a.method}: {desc}")
    log.info(f"wrote {out} ({len(probs)} pdfs): {a.method}: {desc}")
    return 0


if __name__ == "__main__":
    run_main(main)
