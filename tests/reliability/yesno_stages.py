"""Shared set-up for the reliability suite: tiny network configs (seconds to train on yesno), the
environment of the stage scripts, and yesno data dirs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


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
