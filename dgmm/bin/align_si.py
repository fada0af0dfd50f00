"""Forced alignment of a data dir with a GMM system (Kaldi's ``steps/align_si.sh``).

    python -m dgmm.bin.align_si [options] <data-dir> <lang-dir> <src-dir> <align-dir>
e.g.: python -m dgmm.bin.align_si --nj 2 data/train data/lang exp/tri1 exp/tri1_ali

Training graphs from ``<src-dir>/tree`` (any context width) and L.fst, alignment with
``--transition-scale=1.0 --acoustic-scale=0.1 --self-loop-scale=0.1 --beam=10 --retry-beam=40``.
Writes ``ali.N.gz`` (text archives, as align_si.sh), ``final.mdl``, ``tree``, ``final.occs``,
``num_jobs``, ``cmvn_opts``, ``phones.txt``. Features as ``dgmm.bin.train_mono``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: threads only cost time here

import argparse  # noqa: E402
import logging  # noqa: E402
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

from dgmm.cli import DgmmError, run_main, setup_logging  # noqa: E402
from dgmm.gmm.expdir import job_utterances  # noqa: E402
from dgmm.gmm.features import load_feats  # noqa: E402
from dgmm.gmm.align import write_alignments  # noqa: E402
from dgmm.gmm.langdir import Lang  # noqa: E402
from dgmm.gmm.trainer import Trainer  # noqa: E402
from dgmm.gmm.triphone import GraphCompiler  # noqa: E402
from dgmm.kaldi.event_map import read_tree  # noqa: E402
from dgmm.kaldi.gmm_model import read_gmm_model  # noqa: E402
from dgmm.kaldi.tables import read_table  # noqa: E402

log = logging.getLogger("align_si")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="align_si", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nj", type=int, default=4)
    p.add_argument("--beam", type=float, default=10.0)
    p.add_argument("--retry-beam", type=float, default=40.0)
    p.add_argument("--boost-silence", type=float, default=1.0)
    p.add_argument("--wav-dir", default=None, help="directory relative wav.scp paths are resolved in")
    p.add_argument("data")
    p.add_argument("lang")
    p.add_argument("srcdir")
    p.add_argument("dir")
    a = p.parse_args(argv)
    setup_logging("align_si")
    src, out = Path(a.srcdir), Path(a.dir)
    for f in (src / "final.mdl", src / "tree", Path(a.data) / "text"):
        if not f.exists():
            raise DgmmError(f"{f}: missing")
    lang = Lang.read(a.lang)
    model = read_gmm_model(src / "final.mdl")
    tree = read_tree(src / "tree")
    cmvn_opts = (src / "cmvn_opts").read_text().strip() if (src / "cmvn_opts").exists() else ""
    texts = {u: t.split() for u, t in read_table(Path(a.data) / "text", allow_empty_value=True).items()}
    feats = load_feats(a.data, cmvn_opts, wav_cwd=a.wav_dir)
    compile_graph = GraphCompiler(lang, tree, model.trans_model)
    graphs = {u: compile_graph(u, w) for u, w in texts.items() if u in feats}
    tr = Trainer(model, graphs, feats, boost_phones=lang.optional_silence, boost=a.boost_silence)
    tr.realign(a.beam, a.retry_beam)
    out.mkdir(parents=True, exist_ok=True)
    jobs = job_utterances(a.data, a.nj)
    for f in ("final.mdl", "tree", "final.occs", "cmvn_opts", "phones.txt"):
        if (src / f).exists():
            shutil.copyfile(src / f, out / f)
    (out / "num_jobs").write_text(f"{len(jobs)}\n")
    # ali.1.gz last: the recipes take its presence as "this stage is done" (a kill before it redoes it)
    for n, utts in reversed(list(enumerate(jobs, 1))):
        write_alignments(out / f"ali.{n}.gz", {u: tr.alis[u] for u in utts if u in tr.alis}, binary=False)
    log.info("aligned %d of %d utterances into %s", len(tr.alis), len(texts), out)
    return 0


if __name__ == "__main__":
    run_main(main)
