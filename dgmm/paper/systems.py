"""The systems of the paper's tables at a given scale: one training configuration per system.

Every system is a model dir ``<exp>/<name>``. Its YAML config is the recipe's base config (data and
train sections of conf/dnn.yaml or conf/dgmm.yaml) with the model section of the scale. GMM-family
systems are built by steps/init_dgmm.sh, either from the baseline DNN (its first ``copy`` hidden
layers, the paper's pre-training) or from scratch (``init`` = none).

Tables (paper numbering; "order" is the remark on the variance schedule):
  1  dnn, dgmm_separate (hidden layers of the DNN frozen), dgmm_joint (same DGMM, trained jointly)
  2  sgmm_lda (shallow GMM on fixed spliced-fbank + LDA features), sgmm_logmel (log-mel input with
     a learned bottleneck of the same dimension)
  3  dgmm_depth1, dgmm_depth3, dgmm_joint (7 hidden layers): the same GMM layer
  4  matched parameter counts, no pre-training: snn, sgmm_matched, dnn, dgmm_scratch_matched
  5  dgmm_matched (from the DNN, bottleneck sized to the DNN's parameter count) vs dnn
  6  dgmm_joint vs dsgmm_mean, dsgmm_mean_weight, dsgmm_all
  order  dgmm_joint (variances frozen for the first epochs, then all) vs dgmm_allvar (all from the start)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch

from dgmm.models.networks import build_model, count_parameters

# Network sizes per scale. "paper": Variani et al.'s sizes (input 26 x 40 log-mel, 8 x 2560 ReLU,
# GMM(272, 5), PLP+LDA stand-in of 39 dims with GMM(39, 21)); "small": a 2-core CPU runs all tables
# on a corpus of FSDD's size in about an hour; "tiny": a smoke test (one epoch each, with Adam: SGD
# moves an 8-layer net of width 32 too little in a hundred steps for newbob to accept the epoch).
# "train": overrides of the configs' train sections.
SCALES: dict[str, dict] = {
    "paper": {"hidden_layers": 8, "hidden_dim": 2560, "bottleneck_dim": 272, "num_components": 5,
              "lda_dim": 39, "lda_splice": 4, "lda_components": 21, "train": {}},
    "small": {"hidden_layers": 8, "hidden_dim": 256, "bottleneck_dim": 40, "num_components": 4,
              "lda_dim": 40, "lda_splice": 4, "lda_components": 4, "train": {}},
    "tiny": {"hidden_layers": 8, "hidden_dim": 32, "bottleneck_dim": 8, "num_components": 2,
             "lda_dim": 8, "lda_splice": 2, "lda_components": 2,
             "train": {"max_epochs": 1, "optimizer": "adam", "lr": 0.002}},
}
DEPTHS = (1, 3, 7)  # Table 3: hidden layers copied from the 8-layer DNN
TABLES = ("1", "2", "3", "4", "5", "6", "order")


@dataclass
class System:
    """One model dir of the experiments.

    kind: "dnn" (steps/train_dnn.sh) or "gmm" (steps/init_dgmm.sh + steps/train_dgmm.sh);
    feats: "fbank" (spliced log-mel) or "lda" (Table 2's fixed features); init: the system whose
    hidden layers are copied, or "none"; copy: how many (0 when init is none).
    """
    name: str
    kind: str
    description: str
    model: dict
    tables: tuple[str, ...]
    feats: str = "fbank"
    init: str = "none"
    copy: int = 0
    train: dict = field(default_factory=dict)


def _count(model_cfg: dict, input_dim: int, num_states: int) -> int:
    """#parameters of the model a config builds (on the meta device: no memory, no init)."""
    with torch.device("meta"):
        return count_parameters(build_model({**model_cfg, "input_dim": input_dim, "num_states": num_states}))


def match_parameters(model_cfg: dict, key: str, target: int, input_dim: int, num_states: int) -> int:
    """The integer value (>= 1) of ``model_cfg[key]`` whose parameter count is closest to ``target``.

    Every size used here (a width, g, d) enters the count linearly, so two evaluations give the line.
    """
    def at(v):
        return _count({**model_cfg, key: v}, input_dim, num_states)
    a, b = at(1), at(2)
    slope = b - a
    v = max(1, round(1 + (target - a) / slope))
    return min((max(1, v - 1), v, v + 1), key=lambda u: abs(at(u) - target))


def paper_systems(scale: str, input_dim: int, num_states: int) -> list[System]:
    """The systems of all tables, those others are initialised from first."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose from {', '.join(SCALES)}")
    sc = SCALES[scale]
    L, w, d, g = sc["hidden_layers"], sc["hidden_dim"], sc["bottleneck_dim"], sc["num_components"]
    dnn = {"type": "dnn", "hidden_layers": L, "hidden_dim": w}
    dgmm = {"type": "dgmm", "hidden_layers": L - 1, "hidden_dim": w, "bottleneck_dim": d, "num_components": g}
    target = _count(dnn, input_dim, num_states)
    snn = {"type": "dnn", "hidden_layers": 1}
    snn["hidden_dim"] = match_parameters(snn, "hidden_dim", target, input_dim, num_states)
    sgmm = {"type": "shallow_gmm", "bottleneck_dim": d}
    sgmm["num_components"] = match_parameters(sgmm, "num_components", target, input_dim, num_states)
    dgmm_m = dict(dgmm)
    dgmm_m["bottleneck_dim"] = match_parameters(dgmm, "bottleneck_dim", target, input_dim, num_states)
    logmel = {"type": "shallow_gmm", "bottleneck_dim": sc["lda_dim"], "num_components": sc["lda_components"]}
    lda = {**logmel, "identity_bottleneck": True}   # the GMM layer reads the LDA features themselves
    no_splice = {"left_context": 0, "right_context": 0}
    gm = f"GMM({d},{g})"
    systems = [
        System("dnn", "dnn", f"DNN {L}x{w}", dnn, ("1", "4", "5")),
        System("dgmm_separate", "gmm", f"DGMM {L - 1}x{w} + {gm}, hidden layers of the DNN frozen",
               {**dgmm, "freeze_hidden": True}, ("1",), init="dnn", copy=L - 1),
        System("dgmm_joint", "gmm", f"DGMM {L - 1}x{w} + {gm}, from the DNN, trained jointly", dgmm,
               ("1", "3", "6", "order"), init="dnn", copy=L - 1),
        System("sgmm_lda", "gmm", f"shallow GMM({sc['lda_dim']},{sc['lda_components']}) on fixed "
               f"fbank+LDA (splice +-{sc['lda_splice']})", lda, ("2",), feats="lda", train=no_splice),
        System("sgmm_logmel", "gmm", f"shallow GMM({sc['lda_dim']},{sc['lda_components']}) on log-mel, "
               "learned bottleneck", logmel, ("2",)),
        *[System(f"dgmm_depth{k}", "gmm", f"DGMM {k}x{w} + {gm}, from the DNN", {**dgmm, "hidden_layers": k},
                 ("3",), init="dnn", copy=k) for k in DEPTHS if k != L - 1],
        System("snn", "dnn", f"shallow NN 1x{snn['hidden_dim']}", snn, ("4",)),
        System("sgmm_matched", "gmm", f"shallow GMM({d},{sgmm['num_components']})", sgmm, ("4",)),
        System("dgmm_scratch_matched", "gmm", f"DGMM {L - 1}x{w} + GMM({dgmm_m['bottleneck_dim']},{g}), "
               "no pre-training", dgmm_m, ("4",)),
        System("dgmm_matched", "gmm", f"DGMM {L - 1}x{w} + GMM({dgmm_m['bottleneck_dim']},{g}), from the DNN",
               dgmm_m, ("5",), init="dnn", copy=L - 1),
        *[System(f"dsgmm_{share}", "gmm", f"DSGMM {L - 1}x{w} + {gm}, subspace shared by "
                 f"{share.replace('_', '+')}", {**dgmm, "type": "dsgmm", "subspace_share": share},
                 ("6",), init="dnn", copy=L - 1) for share in ("mean", "mean_weight", "all")],
        System("dgmm_allvar", "gmm", f"DGMM {L - 1}x{w} + {gm}, all parameters trained from the start",
               dgmm, ("order",), init="dnn", copy=L - 1, train={"freeze_variances_epochs": 0}),
    ]
    if L - 1 not in DEPTHS:
        raise ValueError(f"scale {scale}: Table 3 needs dgmm_joint to have one of {DEPTHS} hidden layers")
    return systems


# Model keys that GMM-family systems take from the recipe's DGMM config: its regularisation, which no
# table varies (the paper gives no variance floor; recipes tune it, e.g. 0.5 against overconfidence
# on unseen speakers).
BASE_GMM_KEYS = ("var_floor",)


def system_config(system: System, base: dict, scale: str, max_epochs: int | None = None) -> dict:
    """The full YAML config of a system: ``base`` (a load_config dict) with the model and train
    settings of the system and the scale (GMM-family systems keep the base's BASE_GMM_KEYS);
    ``max_epochs`` overrides them all."""
    cfg = copy.deepcopy(base)
    cfg["model"] = dict(system.model)
    if system.kind == "gmm":
        cfg["model"].update({k: base["model"][k] for k in BASE_GMM_KEYS if k in base["model"]})
    cfg["train"].update(SCALES[scale]["train"])
    cfg["train"].update(system.train)
    if max_epochs is not None:
        cfg["train"]["max_epochs"] = max_epochs
    if system.feats == "lda":  # LDA features are spliced, normalised and projected already
        cfg["data"]["cmvn_mode"] = "none"
    return cfg
