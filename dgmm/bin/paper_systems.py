"""Write the configurations of the paper's experiments at a scale: <exp>/conf/<system>.yaml and
<exp>/systems.tsv, the list steps/paper_experiments.sh trains (in order). A config is rewritten only
when its effective configuration changes (every default filled in: a new option with a default, key
order or comments leave a trained system alone), so its time tells the driver whether a trained system
is still current.

Usage: python -m dgmm.bin.paper_systems [options] <data-dir> <ali-dir> <exp-dir>
 e.g.: python -m dgmm.bin.paper_systems --scale small --dnn-config conf/dnn.yaml \\
           --dgmm-config conf/dgmm.yaml data/fbank/train exp/ali_train exp/paper

systems.tsv columns: name, kind (dnn | gmm), feats (fbank | lda), init (system whose hidden layers
are copied, or none), copy (how many), tables (comma-separated), description. <exp>/scale.txt holds the
scale's sizes (also the LDA options: lda_dim, lda_splice). Network sizes: dgmm/paper/systems.py.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import kaldiio
import yaml

from dgmm.cli import DgmmError, run_main, setup_logging
from dgmm.data.frames import load_pdf_alignments
from dgmm.fileutil import atomic_open
from dgmm.models.networks import DEFAULTS as MODEL_DEFAULTS, resolve_config
from dgmm.paper.systems import SCALES, TABLES, paper_systems, system_config
from dgmm.train.config import load_config
from dgmm.train.trainer import TrainConfig

log = logging.getLogger("paper_systems")


def effective_config(cfg: dict) -> dict:
    """A load_config dict with every default filled in: what training uses (the data section has
    them already; model: resolve_config, which also gives ``hidden_layers: None`` the type's depth,
    train: TrainConfig.defaults). A model section that does not resolve (a shallow GMM on LDA features:
    its input_dim comes from the data) gets networks.DEFAULTS filled in only. Not validated: an
    unknown key is kept, so it differs from any valid config."""
    try:
        model = resolve_config(cfg["model"])
    except (TypeError, ValueError):
        model = {**MODEL_DEFAULTS, **cfg["model"]}
    return {"model": model, "data": dict(cfg["data"]), "train": {**TrainConfig.defaults(), **cfg["train"]}}


def config_changes(path: Path, cfg: dict) -> list[str] | None:
    """``section.key: old -> new`` for each effective difference between the config file ``path``
    and ``cfg`` ([] when equal), None when ``path`` does not exist or does not load."""
    if not path.exists():
        return None
    try:
        old = effective_config(load_config(path))
    except (DgmmError, TypeError, ValueError) as e:  # e.g. an option this code no longer knows
        log.warning("%s does not load (%s); rewriting it", path, e)
        return None
    new = effective_config(cfg)
    changes = []
    for s in new:
        for k in sorted(set(old[s]) | set(new[s])):
            if (k in old[s], old[s].get(k)) != (k in new[s], new[s].get(k)):
                changes.append(f"{s}.{k}: {old[s].get(k, '(absent)')} -> {new[s].get(k, '(absent)')}")
    return changes


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="paper_systems", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                usage="%(prog)s [options] <data-dir> <ali-dir> <exp-dir>")
    p.add_argument("--scale", default="small", choices=sorted(SCALES), help="network sizes (default: %(default)s)")
    p.add_argument("--dnn-config", default="conf/dnn.yaml", help="base data/train sections of NN systems")
    p.add_argument("--dgmm-config", default="conf/dgmm.yaml", help="base data/train sections of GMM-family systems")
    p.add_argument("--tables", default=" ".join(TABLES), help="tables whose systems are listed (default: all)")
    p.add_argument("--max-epochs", type=int, default=None, help="overrides train.max_epochs of the scale and the configs")
    p.add_argument("data_dir")
    p.add_argument("ali_dir")
    p.add_argument("exp_dir")
    args = p.parse_args(argv)
    setup_logging("paper_systems")
    tables = args.tables.replace(",", " ").split()
    bad = sorted(set(tables) - set(TABLES))
    if bad:
        raise DgmmError(f"--tables: unknown table(s) {bad}; known: {' '.join(TABLES)}")
    _, num_pdfs = load_pdf_alignments(args.ali_dir)
    scp = Path(args.data_dir) / "feats.scp"
    if not scp.exists():
        raise FileNotFoundError(f"{scp} not found")
    _, first = next(iter(kaldiio.load_scp_sequential(str(scp))))
    bases = {"dnn": load_config(args.dnn_config), "gmm": load_config(args.dgmm_config)}
    t = bases["dnn"]["train"]
    ctx = t.get("left_context", 20) + 1 + t.get("right_context", 5)
    sc = SCALES[args.scale]
    systems = paper_systems(args.scale, first.shape[1] * ctx, num_pdfs)
    # a listed system's init system is listed too
    wanted = {s.name for s in systems if set(s.tables) & set(tables)}
    wanted |= {s.init for s in systems if s.name in wanted and s.init != "none"}
    exp = Path(args.exp_dir)
    (exp / "conf").mkdir(parents=True, exist_ok=True)
    with atomic_open(exp / "systems.tsv") as f:
        for s in systems:
            if s.name not in wanted:
                continue
            conf = exp / "conf" / f"{s.name}.yaml"
            cfg = system_config(s, bases[s.kind], args.scale, args.max_epochs)
            changes = config_changes(conf, cfg)
            if changes != []:  # an unchanged config keeps its time: a trained system stays current
                if changes:
                    log.info("%s changed (%s): rewritten, so %s is trained again", conf, "; ".join(changes), s.name)
                with atomic_open(conf) as c:
                    c.write(yaml.safe_dump(cfg, sort_keys=False))
            f.write("\t".join([s.name, s.kind, s.feats, s.init, str(s.copy), ",".join(s.tables),
                               s.description]) + "\n")
    with atomic_open(exp / "scale.txt") as f:
        f.write(f"scale {args.scale}\n" + "".join(f"{k} {v}\n" for k, v in sc.items() if k != "train"))
    log.info("scale %s: %d systems in %s/systems.tsv (input dim %d, %d pdfs)", args.scale, len(wanted), exp,
             first.shape[1] * ctx, num_pdfs)
    return 0


if __name__ == "__main__":
    run_main(main)
