"""Fixed engineered features for the paper's Table 2: CMVN'd fbank, spliced, projected by an LDA
estimated on the pdf alignments of the training data.

Usage: python -m dgmm.bin.paper_lda [options] <ali-dir> <lda-dir> <train-data> <train-out> [<data> <out>]...
 e.g.: python -m dgmm.bin.paper_lda --dim 40 --splice 4 exp/ali_train exp/paper/lda \\
           data/fbank/train exp/paper/data/lda_train data/fbank/test exp/paper/data/lda_test

The LDA (dgmm/paper/lda.py) is estimated from <train-data> and <ali-dir> (pdf_ali.scp) and stored as
<lda-dir>/lda.npz (W [dim, D], mean [D]); every <data> dir is then transformed into <out>
(feats.scp + data/feats.ark, and copies of its utt2spk, spk2utt, text, wav.scp). The outputs need
no further CMVN or splicing (train them with data.cmvn_mode none and a context of 0).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import kaldiio
import numpy as np

from dgmm.cli import DgmmError, run_main, setup_logging
from dgmm.data.frames import Cmvn, read_frames
from dgmm.data.splice import splice_frames
from dgmm.fileutil import atomic_path
from dgmm.kaldi.archive import ArchiveWriter
from dgmm.paper.lda import apply_lda, estimate_lda, lda_stats

TABLES = ("utt2spk", "spk2utt", "text", "wav.scp")


def transform_dir(src: Path, dest: Path, W: np.ndarray, mean: np.ndarray, splice: int, cmvn_mode: str) -> int:
    """Write the LDA features of every utterance of ``src`` into the data dir ``dest``."""
    if not (src / "feats.scp").exists():
        raise FileNotFoundError(f"{src / 'feats.scp'} not found")
    (dest / "data").mkdir(parents=True, exist_ok=True)
    for t in TABLES:
        if (src / t).exists():
            shutil.copy(src / t, dest / t)
    cmvn = Cmvn(cmvn_mode, False, src)
    with ArchiveWriter(dest / "data" / "feats.ark", dest / "feats.scp") as w:
        for utt, m in kaldiio.load_scp_sequential(str(src / "feats.scp")):
            x = splice_frames(cmvn(utt, np.asarray(m, np.float32)), splice, splice)
            if x.shape[1] != W.shape[1]:
                raise DgmmError(f"{src}/feats.scp: utterance {utt} has dim {m.shape[1]}, the LDA expects "
                                f"{W.shape[1] // (2 * splice + 1)}")
            w[utt] = apply_lda(x, W, mean)
        return w.num_written


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="paper_lda", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                usage="%(prog)s [options] <ali-dir> <lda-dir> <train-data> <train-out> "
                                      "[<data> <out>]...")
    p.add_argument("--dim", type=int, default=40, help="LDA output dimension (default: %(default)s)")
    p.add_argument("--splice", type=int, default=4, help="frames of context on each side (default: %(default)s)")
    p.add_argument("--cmvn-mode", default="speaker", help="CMVN before splicing (default: %(default)s)")
    p.add_argument("ali_dir")
    p.add_argument("lda_dir")
    p.add_argument("pairs", nargs="+", metavar="<data> <out>")
    args = p.parse_args(argv)
    log = setup_logging("paper_lda")
    if len(args.pairs) % 2:
        raise DgmmError("expected pairs of <data> <out> dirs")
    pairs = [(Path(a), Path(b)) for a, b in zip(args.pairs[::2], args.pairs[1::2])]
    train = pairs[0][0]
    data = read_frames(train, args.ali_dir, None, Cmvn(args.cmvn_mode, False, train))
    W, mean = estimate_lda(*lda_stats(data, args.splice, args.splice), args.dim)
    out = Path(args.lda_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "lda.npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, W=W, mean=mean)
    log.info("LDA %d -> %d estimated on %d frames of %s (%d pdfs)", W.shape[1], W.shape[0], len(data),
             train, data.num_pdfs)
    for src, dest in pairs:
        n = transform_dir(src, dest, W, mean, args.splice, args.cmvn_mode)
        log.info("wrote %s/feats.scp (%d utterances)", dest, n)
    return 0


if __name__ == "__main__":
    run_main(main)
