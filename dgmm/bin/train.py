"""Frame-level cross-entropy training of a DNN / DGMM / shallow GMM / DSGMM on imported alignments.

Usage: python -m dgmm.bin.train [options] <data-dir> <ali-dir> <exp-dir>
 e.g.: python -m dgmm.bin.train --config conf/dnn.yaml data/train exp/tri1_ali_import exp/dnn
 Multi-process: torchrun --nproc-per-node 2 -m dgmm.bin.train ... (gloo on CPU, NCCL on GPU)

The model is <exp-dir>/init.pt when it exists (e.g. from dgmm.bin.init_dgmm), else --init-model,
else built from the config's ``model`` section (input_dim and num_states from the data). Writes
<exp-dir>/{checkpoint.pt,metrics.tsv,training_curve.png,best.pt,final.pt,config.yaml,splice_opts,
cmvn_opts,cv_utts} and log/train.log (cv_utts: the held-out utterances). Rerunning the same command
continues a killed run from its last checkpoint, unless the training options, data.cmvn_mode,
data.norm_vars or the train/CV split changed since (an error); an
existing final.pt means the stage is done (nothing to do). A refused resume (other options, model or
split) leaves every file of <exp-dir> as it was, but for its log lines appended to log/train.log.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
import torch

from dgmm.cli import DgmmError, run_main, setup_logging, kaldi_bool
from dgmm.data.frames import load_train_cv, split_changes
from dgmm.fileutil import atomic_open
from dgmm.train.config import FEATURE_OPTIONS, load_config, save_config
from dgmm.train.trainer import TrainConfig, Trainer

def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="train", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                usage="%(prog)s [options] <data-dir> <ali-dir> <exp-dir>")
    p.add_argument("data_dir")
    p.add_argument("ali_dir", help="imported alignments: pdf_ali.scp, num_pdfs")
    p.add_argument("exp_dir")
    p.add_argument("--config", help="YAML with model/data/train sections (conf/dnn.yaml)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config entry, e.g. --set train.lr=0.01 (repeatable)")
    p.add_argument("--init-model", help="start from this model file instead of building one")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default: auto)")
    p.add_argument("--seed", type=int, help="overrides train.seed")
    p.add_argument("--bf16", type=kaldi_bool, help="bfloat16 autocast (overrides train.bf16)")
    p.add_argument("--resume", type=kaldi_bool, default=True,
                   help="continue from <exp-dir>/checkpoint.pt when present (default: true)")
    p.add_argument("--num-threads", type=int, default=0, help="torch intra-op threads (0: torch default)")
    p.add_argument("--verbose", action="store_true")
    return p


def check_compatible(model, num_pdfs: int, feat_dim: int, cfg: TrainConfig, ali_dir, data_dir) -> None:
    """Refuse (clear message) when the alignments or features do not fit the model."""
    mc = model.config
    if mc["num_states"] != num_pdfs:
        raise DgmmError(f"{ali_dir}/num_pdfs is {num_pdfs} but the model has {mc['num_states']} "
                        f"output states: alignments and model disagree")
    ctx = cfg.left_context + 1 + cfg.right_context
    if mc["input_dim"] != feat_dim * ctx:
        raise DgmmError(f"{data_dir}/feats.scp has dim {feat_dim}, spliced {ctx} frames = {feat_dim * ctx}, "
                        f"but the model's input_dim is {mc['input_dim']}: features and model disagree")


def warn_other_split(model_file, saved: dict | None, train_utts, cv_utts) -> None:
    """Warn (not an error: starting from another split's model is legitimate) when ``model_file`` was
    made on a train/CV split other than ``train_utts``/``cv_utts``; ``saved``: the split it records
    (init_dgmm and train record it; a file without one, from an older version, is not checked)."""
    changes = split_changes(saved, train_utts, cv_utts, str(model_file)) if saved else []
    if changes:
        logging.getLogger(__name__).warning(
            "%s was made on another train/CV split (%s): it may have been trained or initialised on "
            "utterances that are CV utterances now", model_file, "; ".join(changes))


def write_exp_files(exp: Path, cfg: dict, tcfg: TrainConfig, num_pdfs: int) -> None:
    """<exp>/{config.yaml,splice_opts,cmvn_opts,num_pdfs}, each atomically: the options of the model
    being trained. Called once the resume checks have passed, so that a refused resume (other options
    or split) leaves the files of the run it refused to continue."""
    save_config(exp / "config.yaml", cfg)
    d = cfg["data"]
    for name, text in (("splice_opts", f"--left-context={tcfg.left_context} --right-context={tcfg.right_context}"),
                       ("cmvn_opts", f"--norm-vars={str(d['norm_vars']).lower()} --cmvn-mode={d['cmvn_mode']}"),
                       ("num_pdfs", str(num_pdfs))):
        with atomic_open(exp / name) as f:
            f.write(f"{text}\n")


def main(argv=None) -> int:
    args = get_parser().parse_args(argv)
    exp = Path(args.exp_dir)
    (exp / "log").mkdir(parents=True, exist_ok=True)
    from dgmm.train.distributed import init_distributed, shutdown
    ctx = init_distributed(args.device)
    logger = setup_logging("train", args.verbose)
    handler = logging.FileHandler(exp / "log" / ("train.log" if ctx.is_main else f"train.{ctx.rank}.log"))
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s (train) %(message)s"))
    logging.getLogger().addHandler(handler)
    logger.info("command: %s", " ".join(["python -m dgmm.bin.train", *(argv if argv is not None else sys.argv[1:])]))
    logger.info("%s", ctx.describe())
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    if args.resume and (exp / "final.pt").exists():
        logger.info("%s exists, skipping training (use --resume false to train again)", exp / "final.pt")
        return 0

    from dgmm.models import build_model, load_model_and_extra, save_model
    cfg = load_config(args.config, args.set)
    if args.seed is not None:
        cfg["train"]["seed"] = args.seed
    if args.bf16 is not None:
        cfg["train"]["bf16"] = args.bf16
    tcfg = TrainConfig.from_dict(cfg["train"])
    d = cfg["data"]
    if d["streaming"] and tcfg.block_frames is None:
        raise DgmmError("data.streaming needs train.block_frames (the block-shuffle buffer size)")
    torch.manual_seed(tcfg.seed)
    tr, cv, cmvn = load_train_cv(args.data_dir, args.ali_dir, d["cmvn_mode"], d["norm_vars"], d["cv_percent"],
                                 d["cv_by_speaker"], d["cv_seed"], d["streaming"],
                                 cv_random=d["cv_random"])
    init = exp / "init.pt" if (exp / "init.pt").exists() else args.init_model
    if init:
        model, init_extra = load_model_and_extra(init)
        logger.info("model from %s%s", init, " (the config's model section is not used)" if cfg["model"] else "")
        warn_other_split(init, init_extra.get("split"), tr.index.utts, cv.index.utts)
    else:
        ctx_frames = tcfg.left_context + 1 + tcfg.right_context
        model = build_model({**cfg["model"], "input_dim": tr.feat_dim * ctx_frames, "num_states": tr.num_pdfs})
    check_compatible(model, tr.num_pdfs, tr.feat_dim, tcfg, args.ali_dir, args.data_dir)
    cfg["model"] = dict(model.config)
    data_options = {k: d[k] for k in FEATURE_OPTIONS}
    extra = {"splice": [tcfg.left_context, tcfg.right_context], **data_options}
    if cmvn.global_stats is not None:
        extra["global_cmvn_stats"] = torch.from_numpy(np.asarray(cmvn.global_stats, np.float64))
    logger.info("model %s: %s", model.config["type"], model.config)
    trainer = Trainer(model, tr, cv, tcfg, exp, ctx, save_model=save_model, model_extra=extra,
                      data_options=data_options)
    row = trainer.run(resume=args.resume, on_start=lambda: write_exp_files(exp, cfg, tcfg, tr.num_pdfs))
    logger.info("final: epoch %s, train CE %.4f acc %.2f%%, cv CE %.4f acc %.2f%%", row.get("epoch"),
                row.get("tr_ce") or float("nan"), row.get("tr_acc") or float("nan"), row["cv_ce"], row["cv_acc"])
    shutdown(ctx)
    return 0


if __name__ == "__main__":
    run_main(main)
