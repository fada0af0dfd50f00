"""Build the initial model of a GMM-family experiment: DGMM / DSGMM (optionally from a trained DNN) or shallow GMM.

Usage: python -m dgmm.bin.init_dgmm [options] <data-dir> <ali-dir> <model-out>
 e.g.: python -m dgmm.bin.init_dgmm --config conf/dgmm.yaml --dnn exp/dnn/final.pt \\
           data/train exp/tri1_ali_import exp/dgmm/init.pt

With --dnn, the input and the first K hidden layers are copies of the DNN's, K = --num-hidden-to-copy,
else the config's model.hidden_layers, else all but the last (the paper: 7 of 8); the bottleneck is
random. A DNN trained on a train/CV
split other than this run's (its final.pt records it) is used with a warning. The GMM layer is then
initialised from data (--init-frames training frames pushed through the network, per-state EM on the
bottleneck outputs); the state prior (fixed for ``prior: counts``, the starting point of the online
prior) comes from <ali-dir>/pdf_counts when present (required for ``prior: counts``).
The splicing and CMVN of the model file are those of the config's ``train``/``data`` sections.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from dgmm.cli import DgmmError, run_main, setup_logging
from dgmm.data.frames import load_train_cv, shuffle_order, split_fingerprint
from dgmm.train.config import load_config
from dgmm.train.trainer import TrainConfig


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="init_dgmm", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                usage="%(prog)s [options] <data-dir> <ali-dir> <model-out>")
    p.add_argument("data_dir")
    p.add_argument("ali_dir")
    p.add_argument("model_out")
    p.add_argument("--config", help="YAML with model/data/train sections (conf/dgmm.yaml)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    p.add_argument("--dnn", help="trained DNN (final.pt) whose hidden layers are copied")
    p.add_argument("--num-hidden-to-copy", type=int, default=0,
                   help="DNN hidden layers to copy (0: the config's model.hidden_layers, else all but the last)")
    p.add_argument("--init-frames", type=int, default=100000,
                   help="training frames for the data-driven GMM initialisation (0: random init)")
    p.add_argument("--seed", type=int, default=777)
    p.add_argument("--num-threads", type=int, default=0)
    return p


def main(argv=None) -> int:
    args = get_parser().parse_args(argv)
    log = setup_logging("init_dgmm")
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    torch.manual_seed(args.seed)
    from dgmm.bin.train import check_compatible, warn_other_split
    from dgmm.kaldi.archive import read_vector
    from dgmm.models import build_model, count_prior, dgmm_from_dnn, load_model_and_extra, save_model

    cfg = load_config(args.config, args.set)
    tcfg = TrainConfig.from_dict(cfg["train"])
    d = cfg["data"]
    mcfg = dict(cfg["model"])
    if mcfg.get("type", "dgmm") == "dnn":
        raise DgmmError("init_dgmm builds GMM-family models; the config's model type is dnn")
    tr, cv, cmvn = load_train_cv(args.data_dir, args.ali_dir, d["cmvn_mode"], d["norm_vars"], d["cv_percent"],
                                 d["cv_by_speaker"], d["cv_seed"], d["streaming"],
                                 cv_random=d["cv_random"])
    if args.dnn:
        dnn, dnn_extra = load_model_and_extra(args.dnn)
        if dnn.config["type"] != "dnn":
            raise DgmmError(f"--dnn {args.dnn} is a {dnn.config['type']} model, not a dnn")
        # init.pt records this run's split (below), so train can only check that one: check the DNN's here
        warn_other_split(args.dnn, dnn_extra.get("split"), tr.index.utts, cv.index.utts)
        k = args.num_hidden_to_copy or mcfg.get("hidden_layers") or max(1, dnn.config["hidden_layers"] - 1)
        model = dgmm_from_dnn(dnn, {**mcfg, "num_states": dnn.config["num_states"]}, k)
        log.info("copied %d of %d hidden layers of %s", k, dnn.config["hidden_layers"], args.dnn)
    else:
        ctx = tcfg.left_context + 1 + tcfg.right_context
        model = build_model({**mcfg, "input_dim": tr.feat_dim * ctx, "num_states": tr.num_pdfs})
    check_compatible(model, tr.num_pdfs, tr.feat_dim, tcfg, args.ali_dir, args.data_dir)

    counts_file = Path(args.ali_dir) / "pdf_counts"
    if model.config["prior"] == "counts" and not counts_file.exists():
        raise FileNotFoundError(f"{counts_file} not found (needed for prior: counts)")
    if model.config["prior"] != "none" and counts_file.exists():
        counts = read_vector(counts_file)
        if len(counts) != tr.num_pdfs:
            raise DgmmError(f"{counts_file} has {len(counts)} entries, num_pdfs is {tr.num_pdfs}")
        if model.config["prior"] == "counts":
            model.set_count_prior(counts)
        else:  # the online prior starts at the alignment's state frequencies instead of uniform
            with torch.no_grad():
                model.prior.logits.copy_(count_prior(counts))
        log.info("state prior initialised from %s", counts_file)
    if args.init_frames > 0:
        if not hasattr(model.gmm, "init_from_data"):
            log.warning("%s has no data-driven initialisation; keeping the random init", type(model.gmm).__name__)
        else:
            if hasattr(tr, "set_epoch"):
                tr.set_epoch(0, args.seed, tcfg.block_frames)
            frames = shuffle_order(tr.index, 0, args.seed, tcfg.block_frames)[:args.init_frames]
            feats, labels = [], []
            with torch.no_grad():
                for lo in range(0, len(frames), 8192):
                    x, y = tr.gather(frames[lo:lo + 8192], tcfg.left_context, tcfg.right_context)
                    feats.append(model.features(x))
                    labels.append(y)
            model.gmm.init_from_data(torch.cat(feats), torch.cat(labels))
            log.info("GMM layer initialised from %d frames (%d of %d states seen)", len(frames),
                     int(torch.unique(torch.cat(labels)).numel()), tr.num_pdfs)
    # the split as dgmm.bin.train records it: its run with the same data options checks it against its own
    extra = {"splice": [tcfg.left_context, tcfg.right_context], "cmvn_mode": d["cmvn_mode"],
             "norm_vars": d["norm_vars"], "split": split_fingerprint(tr.index.utts, cv.index.utts)}
    if cmvn.global_stats is not None:
        extra["global_cmvn_stats"] = torch.from_numpy(np.asarray(cmvn.global_stats, np.float64))
    Path(args.model_out).parent.mkdir(parents=True, exist_ok=True)
    save_model(args.model_out, model, extra)
    log.info("wrote %s (%s, %d states, input %d)", args.model_out, model.config["type"],
             model.config["num_states"], model.config["input_dim"])
    return 0


if __name__ == "__main__":
    run_main(main)
