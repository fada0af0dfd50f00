"""Run a trained model over a data dir and write acoustic log-likelihoods for WFST decoding.

    python -m dgmm.bin.make_loglikes [options] <model.pt> <data-dir> <out-ark> <out-scp>
e.g.: python -m dgmm.bin.make_loglikes --nj 4 --job 1 --prior exp/dnn/prior.vec exp/dnn/final.pt \\
        data/test exp/dnn/decode_test/data/loglikes.1.ark exp/dnn/decode_test/data/loglikes.1.scp

Writes a float32 [frames, num_pdfs] matrix per utterance (ark + scp, readable by Kaldi's
latgen-faster-mapped and kaldiio). DNN: log p(s|x) - prior_scale * log p(s) with --prior; GMM family:
log p(x|s) of the GMM layer (--gmm-output loglik, default) or log p(s|x) - prior_scale * log p(s)
(--gmm-output posterior; prior from --prior, else the model's own). See dgmm/decode/loglikes.py.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import torch

from dgmm.cli import DgmmError, run_main, setup_logging, kaldi_bool
from dgmm.decode.features import InputPipeline, feats_table, job_utterances
from dgmm.decode.loglikes import GMM_OUTPUTS, acoustic_scores
from dgmm.decode.prior import read_log_prior
from dgmm.kaldi.archive import ArchiveWriter
from dgmm.kaldi.tables import read_table
from dgmm.models import load_model
from dgmm.models.checkpoint import load_checkpoint

log = logging.getLogger("make_loglikes")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="make_loglikes", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--nj", type=int, default=1)
    p.add_argument("--job", type=int, default=1)
    p.add_argument("--prior", default="", help="prior vector file (probabilities), e.g. <model-dir>/prior.vec")
    p.add_argument("--prior-scale", type=float, default=1.0)
    p.add_argument("--gmm-output", choices=GMM_OUTPUTS, default="loglik")
    p.add_argument("--compress", type=kaldi_bool, default=False)
    p.add_argument("--transition-model", default="", help="final.mdl: check num_pdfs against it")
    p.add_argument("--num-threads", type=int, default=1)
    p.add_argument("model")
    p.add_argument("data")
    p.add_argument("ark")
    p.add_argument("scp")
    a = p.parse_args(argv)
    setup_logging("make_loglikes")
    torch.set_num_threads(a.num_threads)
    if not 1 <= a.job <= a.nj:
        raise DgmmError(f"--job {a.job} not in 1..--nj {a.nj}")
    model = load_model(a.model)
    model.eval()
    extra = {k: v for k, v in load_checkpoint(a.model).items() if k not in ("config", "state_dict")}
    num_pdfs = model.config["num_states"]
    if a.transition_model:
        from dgmm.kaldi.transition_model import read_transition_model
        tm_pdfs = read_transition_model(a.transition_model).num_pdfs
        if tm_pdfs != num_pdfs:
            raise DgmmError(f"{a.model} has {num_pdfs} output states but {a.transition_model} has "
                            f"{tm_pdfs} pdfs: the model was not trained on alignments of this final.mdl")
    log_prior = None
    if a.prior:
        log_prior = torch.from_numpy(read_log_prior(a.prior))
        if len(log_prior) != num_pdfs:
            raise DgmmError(f"{a.prior} has {len(log_prior)} entries, the model {num_pdfs} pdfs")
    table = feats_table(a.data)
    n2f_path = Path(a.data) / "utt2num_frames"
    n2f = read_table(n2f_path, int) if n2f_path.is_file() else None
    pipe = InputPipeline(extra, a.data)
    utts = job_utterances(sorted(table.keys()), a.nj, a.job)
    t0, frames = time.time(), 0
    with ArchiveWriter(a.ark, a.scp, compress=a.compress) as w:
        for u in utts:
            feats = np.asarray(table[u])
            if n2f is not None and u in n2f and n2f[u] != len(feats):
                raise DgmmError(f"{a.data}: utterance {u} has {len(feats)} feature frames but "
                                f"utt2num_frames says {n2f[u]}")
            scores = acoustic_scores(model, pipe.inputs(u, feats), log_prior, a.prior_scale, a.gmm_output)
            if not np.all(np.isfinite(scores)):
                raise DgmmError(f"utterance {u}: non-finite acoustic scores (check the prior and the model)")
            w[u] = scores
            frames += len(feats)
    log.info(f"wrote {len(utts)} utterances, {frames} frames x {num_pdfs} pdfs to {a.ark} in "
             f"{time.time() - t0:.1f}s")
    return 0 if utts else 1


if __name__ == "__main__":
    run_main(main)
