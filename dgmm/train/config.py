"""Experiment configuration files (conf/dnn.yaml, conf/dgmm.yaml): sections ``model``, ``data``, ``train``.

``model`` is passed to ``dgmm.models.build_model`` (input_dim / num_states are filled in from the
data); ``train`` is ``TrainConfig``; ``data`` is ``DATA_DEFAULTS`` below. Command-line overrides are
``section.key=value`` strings with YAML values (``train.lr=0.01``, ``data.cmvn_mode=global``).
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from dgmm.cli import DgmmError

DATA_DEFAULTS = {
    "cmvn_mode": "speaker",   # speaker | utterance | global | none (as apply-cmvn; see dgmm.data.frames.Cmvn)
    "norm_vars": False,       # apply-cmvn --norm-vars
    "cv_percent": 10,         # held-out share, as utils/subset_data_dir_tr_cv.sh
    "cv_by_speaker": False,   # --cv-spk-percent instead of --cv-utt-percent
    "cv_random": False,       # cv_percent of the utterances at random (nnet3 get_egs.sh's validation subset)
    "cv_seed": 777,           # shuffling seed of the by-speaker and random splits
    "streaming": False,       # read training features block by block (needs train.block_frames)
}
# the data options that change the features the network sees: a resumed run refuses other values
# (the cv_* options are checked through the train/CV split, streaming only changes how features are read)
FEATURE_OPTIONS = ("cmvn_mode", "norm_vars")
SECTIONS = ("model", "data", "train")


def load_config(path: str | os.PathLike | None, overrides: list[str] = ()) -> dict:
    """{"model": {...}, "data": {...}, "train": {...}} from a YAML file plus overrides."""
    cfg = {s: {} for s in SECTIONS}
    if path:
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"config file {p} not found")
        try:   # safe_load: tags such as !!python/object are refused, never executed
            loaded = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as e:
            raise DgmmError(f"{p}: not a valid YAML config: {' '.join(str(e).split())}") from None
        if not isinstance(loaded, dict) or set(loaded) - set(SECTIONS):
            raise DgmmError(f"{p}: expected a mapping with sections {', '.join(SECTIONS)}, "
                            f"got {sorted(loaded) if isinstance(loaded, dict) else type(loaded).__name__}")
        for s in SECTIONS:
            cfg[s].update(loaded.get(s) or {})
    for o in overrides:
        key, eq, value = o.partition("=")
        section, dot, name = key.partition(".")
        if not eq or not dot or section not in SECTIONS or not name:
            raise DgmmError(f"bad override {o!r}: expected section.key=value with section in {SECTIONS}")
        cfg[section][name] = yaml.safe_load(value)
    unknown = sorted(set(cfg["data"]) - set(DATA_DEFAULTS))
    if unknown:
        raise DgmmError(f"unknown data option(s): {', '.join(unknown)}")
    cfg["data"] = {**DATA_DEFAULTS, **cfg["data"]}
    return cfg


def save_config(path: str | os.PathLike, cfg: dict) -> None:
    from dgmm.fileutil import atomic_open
    with atomic_open(path) as f:
        yaml.safe_dump(cfg, f, sort_keys=False)
