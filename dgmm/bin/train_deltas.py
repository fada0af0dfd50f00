"""Triphone GMM-HMM training with a phonetic decision tree (Kaldi's ``steps/train_deltas.sh``).

    python -m dgmm.bin.train_deltas [options] <num-leaves> <tot-gauss> <data-dir> <lang-dir> <ali-dir> <exp-dir>
e.g.: python -m dgmm.bin.train_deltas 2000 10000 data/train data/lang exp/mono_ali exp/tri1

Reads ``<ali-dir>/{final.mdl,ali.*.gz,num_jobs}`` (Kaldi's or ours). Writes ``final.mdl``, ``tree``,
``ali.N.gz`` (binary, as train_deltas.sh), ``final.occs``, ``num_jobs``, ``cmvn_opts``, ``phones.txt``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: threads only cost time here

import argparse  # noqa: E402
import logging  # noqa: E402
from pathlib import Path  # noqa: E402

from dgmm.cli import DgmmError, run_main, setup_logging  # noqa: E402
from dgmm.gmm.expdir import job_utterances, read_ali_dir, write_exp_dir  # noqa: E402
from dgmm.gmm.features import load_feats  # noqa: E402
from dgmm.gmm.langdir import Lang  # noqa: E402
from dgmm.gmm.triphone import TriConfig, train_deltas  # noqa: E402
from dgmm.kaldi.event_map import format_tree  # noqa: E402
from dgmm.kaldi.gmm_model import read_gmm_model  # noqa: E402
from dgmm.kaldi.tables import read_table  # noqa: E402

log = logging.getLogger("train_deltas")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="train_deltas", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    c = TriConfig()
    p.add_argument("--nj", type=int, default=4)
    p.add_argument("--num-iters", type=int, default=c.num_iters)
    p.add_argument("--boost-silence", type=float, default=c.boost_silence)
    p.add_argument("--cluster-thresh", type=float, default=c.cluster_thresh)
    p.add_argument("--wav-dir", default=None, help="directory relative wav.scp paths are resolved in")
    p.add_argument("num_leaves", type=int)
    p.add_argument("tot_gauss", type=int)
    p.add_argument("data")
    p.add_argument("lang")
    p.add_argument("alidir")
    p.add_argument("dir")
    a = p.parse_args(argv)
    setup_logging("train_deltas")
    ali = Path(a.alidir)
    for f in (ali / "final.mdl", Path(a.data) / "text", Path(a.lang) / "phones/roots.int"):
        if not f.exists():
            raise DgmmError(f"{f}: missing")
    cmvn_opts = (ali / "cmvn_opts").read_text().strip() if (ali / "cmvn_opts").exists() else ""
    lang = Lang.read(a.lang)
    src = read_gmm_model(ali / "final.mdl")
    alis = read_ali_dir(ali)
    texts = {u: t.split() for u, t in read_table(Path(a.data) / "text", allow_empty_value=True).items()}
    feats = load_feats(a.data, cmvn_opts, wav_cwd=a.wav_dir)
    texts = {u: w for u, w in texts.items() if u in alis}
    cfg = TriConfig(num_iters=a.num_iters, boost_silence=a.boost_silence, cluster_thresh=a.cluster_thresh)
    model, tree, tr = train_deltas(lang, feats, texts, src, alis, a.num_leaves, a.tot_gauss, cfg)
    jobs = job_utterances(a.data, a.nj)
    write_exp_dir(a.dir, model, format_tree(tree), tr.alis, jobs, tr.occs, cmvn_opts, a.lang, ali_binary=True)
    log.info("wrote %s: %d pdfs, %d Gaussians", a.dir, len(model.am.pdfs), model.am.num_gauss)
    return 0


if __name__ == "__main__":
    run_main(main)
