"""Flat-start monophone GMM-HMM training (Kaldi's ``steps/train_mono.sh``), written in Kaldi's layout.

    python -m dgmm.bin.train_mono [options] <data-dir> <lang-dir> <exp-dir>

Features: ``<data>/feats.scp`` (+ ``cmvn.scp``) when present, else Kaldi-default MFCCs computed from
``wav.scp`` (``--wav-dir`` resolves relative paths) with per-speaker CMVN; then deltas (39 dims).
Writes ``final.mdl``, ``tree``, ``ali.N.gz`` (the last realignment, text archives as train_mono.sh
writes them), ``final.occs``, ``num_jobs``, ``cmvn_opts``, ``phones.txt``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: threads only cost time here

import argparse  # noqa: E402
import logging  # noqa: E402
import tempfile
from pathlib import Path

from dgmm.cli import DgmmError, run_main, setup_logging
from dgmm.gmm.expdir import job_utterances, write_exp_dir
from dgmm.gmm.features import load_feats
from dgmm.gmm.langdir import Lang
from dgmm.gmm.mono import MonoConfig, train_mono
from dgmm.kaldi.tables import read_table

log = logging.getLogger("train_mono")


def khg_tree_bytes(tree) -> bytes:
    """Kaldi binary bytes of a khg ContextDependency (khg can only write it to a file)."""
    with tempfile.TemporaryDirectory() as tmp:
        tree.write(True, f"{tmp}/tree")
        return Path(f"{tmp}/tree").read_bytes()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="train_mono", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    c = MonoConfig()
    p.add_argument("--nj", type=int, default=4, help="number of jobs (alignment files)")
    p.add_argument("--totgauss", type=int, default=c.totgauss, help="target number of Gaussians")
    p.add_argument("--num-iters", type=int, default=c.num_iters)
    p.add_argument("--boost-silence", type=float, default=c.boost_silence,
                   help="factor on the likelihood of optional-silence pdfs during alignment")
    p.add_argument("--cmvn-opts", default="", help="e.g. --norm-vars=true")
    p.add_argument("--wav-dir", default=None, help="directory relative wav.scp paths are resolved in")
    p.add_argument("data")
    p.add_argument("lang")
    p.add_argument("dir")
    a = p.parse_args(argv)
    setup_logging("train_mono")
    for f in ("text", "utt2spk"):
        if not (Path(a.data) / f).exists():
            raise DgmmError(f"{a.data}/{f}: missing")
    lang = Lang.read(a.lang)
    texts = {u: t.split() for u, t in read_table(Path(a.data) / "text", allow_empty_value=True).items()}
    feats = load_feats(a.data, a.cmvn_opts, wav_cwd=a.wav_dir)
    jobs = job_utterances(a.data, a.nj)
    cfg = MonoConfig(num_iters=a.num_iters, totgauss=a.totgauss, boost_silence=a.boost_silence)
    log.info("training on %d utterances, %d-dim features", len(texts), next(iter(feats.values())).shape[1])
    model, tree, tr = train_mono(lang, feats, texts, cfg, init_utts=jobs[0][:10])
    write_exp_dir(a.dir, model, khg_tree_bytes(tree), tr.alis, jobs, tr.occs, a.cmvn_opts, a.lang,
                  ali_binary=False)
    log.info("wrote %s: %d pdfs, %d Gaussians, %d of %d utterances aligned", a.dir,
             len(model.am.pdfs), model.am.num_gauss, len(tr.alis), len(texts))
    return 0


if __name__ == "__main__":
    run_main(main)
