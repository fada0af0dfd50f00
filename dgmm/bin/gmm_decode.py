"""GMM acoustic log-likelihoods of a data dir for HCLG decoding (Kaldi's ``gmm-compute-likes`` on
``apply-cmvn | add-deltas`` features), written as ``<decode-dir>/loglikes.{ark,scp}``, the input of
``steps/decode.sh``.

    python -m dgmm.bin.gmm_decode [options] <model> <data-dir> <decode-dir>
e.g.: python -m dgmm.bin.gmm_decode exp/mono/final.mdl data/test exp/mono/decode_test

CMVN options come from ``--cmvn-opts`` or ``<model-dir>/cmvn_opts``. Features: ``feats.scp`` +
``cmvn.scp`` when present, else MFCCs from ``wav.scp`` (``--wav-dir`` resolves relative paths).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: threads only cost time here

import argparse  # noqa: E402
import logging  # noqa: E402
from pathlib import Path

from dgmm.cli import DgmmError, run_main, setup_logging
from dgmm.gmm.estimate import pdf_log_likelihoods
from dgmm.gmm.features import load_feats
from dgmm.kaldi.archive import ArchiveWriter
from dgmm.kaldi.gmm_model import read_gmm_model

log = logging.getLogger("gmm_decode")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="gmm_decode", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cmvn-opts", default=None, help="default: <model-dir>/cmvn_opts")
    p.add_argument("--wav-dir", default=None, help="directory relative wav.scp paths are resolved in")
    p.add_argument("model")
    p.add_argument("data")
    p.add_argument("dir")
    a = p.parse_args(argv)
    setup_logging("gmm_decode")
    model = read_gmm_model(a.model)
    cmvn_opts = a.cmvn_opts
    if cmvn_opts is None:
        f = Path(a.model).parent / "cmvn_opts"
        cmvn_opts = f.read_text().strip() if f.exists() else ""
    feats = load_feats(a.data, cmvn_opts, wav_cwd=a.wav_dir)
    out = Path(a.dir)
    out.mkdir(parents=True, exist_ok=True)
    with ArchiveWriter(out / "loglikes.ark", out / "loglikes.scp") as w:
        for utt, f in feats.items():
            if f.shape[1] != model.am.dim:
                raise DgmmError(f"utterance {utt}: features have dimension {f.shape[1]}, {a.model} "
                                f"expects {model.am.dim}")
            w[utt] = pdf_log_likelihoods(model.am, f)
    log.info("wrote log-likelihoods of %d utterances (%d pdfs) to %s/loglikes.scp", len(feats),
             len(model.am.pdfs), out)
    return 0


if __name__ == "__main__":
    run_main(main)
