"""Shared set-up for the reliability suite: the yesno training set through the stage scripts.

Each stage of ``STAGES`` is ``(prepare(y, root), args(y, root))``: the inputs it needs copied into a
fresh ``root`` and its command line writing under ``root``. ``build(base)`` runs them all once, in
order, each in ``base/<stage>`` (steps/make_fbank.sh -> steps/import_ali.sh with Kaldi's mono0a
alignments -> steps/train_dnn.sh -> steps/init_dgmm.sh + steps/train_dgmm.sh -> steps/make_loglikes.sh
-> steps/decode.sh, tiny networks: seconds each); these runs are the uninterrupted references of the
kill tests, which rerun a stage in another root of the same layout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import yaml

from conftest import REPO, shared_path

TINY = {
    "dnn": {"model": {"type": "dnn", "hidden_layers": 1, "hidden_dim": 32},
            "data": {"cmvn_mode": "utterance", "cv_percent": 10},
            "train": {"lr": 0.02, "max_epochs": 2, "batch_size": 100, "checkpoint_every": 20,
                      "report_every": 20, "left_context": 3, "right_context": 3, "seed": 5}},
    "dgmm": {"model": {"type": "dgmm", "bottleneck_dim": 8, "num_components": 2},
             "data": {"cmvn_mode": "utterance", "cv_percent": 10},
             "train": {"lr": 0.004, "max_epochs": 2, "batch_size": 100, "checkpoint_every": 20,
                       "left_context": 3, "right_context": 3, "seed": 5}},
}


def env() -> dict:
    return dict(os.environ, DGMM_ROOT=str(REPO), PATH=f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}",
                OMP_NUM_THREADS="1")


def sh(*args, check: bool = True, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run(["bash", *map(str, args)], cwd=REPO, env=env(), capture_output=True, text=True,
                       timeout=300, **kw)
    if check:
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return r


def raw_data_dir(dest: Path, utts: list[str] | None = None) -> Path:
    """data/train_yesno of Kaldi's recipe with absolute wav paths (optionally a subset)."""
    ref = shared_path("kaldi_ref", "yesno")
    dest.mkdir(parents=True)
    lines = (ref / "data/train_yesno/wav.scp").read_text().split("\n")
    wav = dict(line.split(" ", 1) for line in lines if line)
    keep = sorted(utts or wav)
    (dest / "wav.scp").write_text("".join(f"{u} {ref / wav[u]}\n" for u in keep))
    (dest / "utt2spk").write_text("".join(f"{u} global\n" for u in keep))
    (dest / "spk2utt").write_text("global " + " ".join(keep) + "\n")
    text = dict(line.split(" ", 1) for line in (ref / "data/train_yesno/text").read_text().splitlines())
    (dest / "text").write_text("".join(f"{u} {text[u]}\n" for u in keep))
    return dest


def _model_dir(y, root):
    (root / "dgmm").mkdir(parents=True)
    for f in ("final.pt", "final.mdl"):
        shutil.copy(y["dgmm"] / "exp" / f, root / "dgmm" / f)


def _decode_inputs(y, root):
    _model_dir(y, root)
    (root / "dgmm/decode").mkdir()
    shutil.copy(y["loglikes"] / "dgmm/decode/loglikes.scp", root / "dgmm/decode/loglikes.scp")


def _train(script, conf):
    return lambda y, r: [f"steps/{script}.sh", "--nnet-config", y[conf], "--num-threads", 1, y["data"],
                         y["ali"], r / "exp"]


STAGES = {
    "fbank": (lambda y, r: shutil.copytree(y["raw"], r / "data"),
              lambda y, r: ["steps/make_fbank.sh", "--nj", 3, "--fbank-config", y["fbank_conf"], r / "data",
                            r / "log", r / "fbank"]),
    "import": (lambda y, r: r.mkdir(),
               lambda y, r: ["steps/import_ali.sh", "--lang", y["lang"], y["kaldi_ali"], y["data"], r / "ali"]),
    "dnn": (lambda y, r: r.mkdir(), _train("train_dnn", "dnn_conf")),
    "dgmm": (lambda y, r: shutil.copytree(y["dgmm_init"], r / "exp"), _train("train_dgmm", "dgmm_conf")),
    "loglikes": (_model_dir,
                 lambda y, r: ["steps/make_loglikes.sh", "--nj", 2, y["data"], r / "dgmm", r / "dgmm/decode"]),
    "decode": (_decode_inputs,
               lambda y, r: ["steps/decode.sh", "--nj", 2, "--min-lmwt", 10, "--max-lmwt", 10,
                             "--word-ins-penalty", "0.0,1.0", y["graph"],
                             y["data"], r / "dgmm/decode"]),
}


def build(base: Path) -> dict:
    """Run every stage once under base/<stage>; returns the paths (stage name -> its root) and the
    seconds each took (key ``("seconds", stage)``)."""
    ref = shared_path("kaldi_ref", "yesno")
    y = {"base": base, "raw": raw_data_dir(base / "raw"), "fbank_conf": REPO / "egs/yesno/s5/conf/fbank.conf",
         "kaldi_ali": ref / "exp/mono0a_ali", "lang": ref / "data/lang", "graph": base / "graph"}
    for name, conf in TINY.items():
        y[f"{name}_conf"] = base / f"{name}.yaml"
        y[f"{name}_conf"].write_text(yaml.safe_dump(conf))
    y["graph"].mkdir()
    for f in ("HCLG.fst", "words.txt"):
        shutil.copy(ref / "golden_decode" / f, y["graph"] / f)
    for name, (prepare, args) in STAGES.items():
        if name == "dgmm":   # the DGMM starts from the DNN (steps/init_dgmm.sh)
            y["dgmm_init"] = base / "dgmm_init"
            sh("steps/init_dgmm.sh", "--nnet-config", y["dgmm_conf"], "--num-threads", 1, y["data"], y["ali"],
               y["dnn"] / "exp", y["dgmm_init"])
        y[name] = base / name
        prepare(y, y[name])
        t0 = time.time()
        sh(*args(y, y[name]))
        y["seconds", name] = time.time() - t0
        if name == "fbank":
            y["data"] = y["fbank"] / "data"
        elif name == "import":
            y["ali"] = y["import"] / "ali"
    return y
