"""The networks of the paper: DNN, Deep GMM (DGMM), shallow GMM and Deep Subspace GMM (DSGMM).

All models share one interface (used by the trainer and the decoder):

    forward(x [B, input_dim]) -> log p(s|x) [B, S], log-softmax normalised (F.nll_loss applies)
    training_loss(x, y) -> (loss, log_post): posterior cross-entropy, plus the online prior's own
        cross-entropy against the labels for the GMM family (the paper's Fig. 2 prior module)
    log_likelihoods(x) -> [B, S]: GMM family: log p(x|s) of the GMM layer; DNN: log p(s|x)
    log_prior() -> [S] log p(s), or None (DNN, prior "none")
    set_variances_trainable(flag)   the paper's schedule; no-op for the DNN
    set_hidden_trainable(flag)      False: the hidden ReLU stack is fixed (separate optimisation)
    config                          the full configuration dict the model was built from

Configuration (``build_model(config)``; every default lives in DEFAULTS below):

    type            "dnn" | "dgmm" | "shallow_gmm" | "dsgmm"
    input_dim       spliced feature dimension (26 frames x 40 log-mel = 1040)
    num_states      number of pdfs (tied states) S
    hidden_layers   ReLU hidden layers; None: 8 for "dnn", 7 for "dgmm"/"dsgmm", 0 for "shallow_gmm"
    hidden_dim      hidden layer width
    bottleneck_dim  d, the linear bottleneck feeding the GMM layer (GMM family)
    num_components  g, Gaussians per state
    subspace_dim    k for "dsgmm" (None: = d)
    subspace_share  "mean" | "mean_weight" | "all" for "dsgmm" (the paper's Table 6)
    freeze_hidden   separate optimisation: hidden layers fixed, bottleneck + GMM (+ prior) trained
    identity_bottleneck  no learned bottleneck: the GMM layer reads the hidden stack's (or, for a
                    shallow GMM, the input's) own d dimensions, e.g. fixed engineered features (Table 2)
    dropout         dropout probability after every hidden ReLU while training (0: none; no parameters)
    var_floor       variance floor of the GMM layer
    exact_gmm       GMM layer accuracy guarantee (gmm_layer.py); False: always the fast float32 path
    prior           "online" (learned, Fig. 2) | "counts" (fixed, set_count_prior) | "none"

Parameter conventions (they reproduce the paper's counts; tests/test_networks.py): every Linear
layer of the hidden stack and the DNN output has a bias; the bottleneck has none (it would only
shift every mean); the GMM layer counts means, log-variances and weight logits (S·g·(2d+1)); the
online prior counts its S logits. E.g. input 1040, S 2432, width 2560: DNN 8x2560 54.8 M; DGMM
7x2560 + GMM(272,5) 49.3 M with 7.33 M trainable when the hidden layers are frozen; shallow
GMM(39,21) 4.08 M; shallow GMM(272,41) 54.6 M; DGMM 7x2560 + GMM(480,5) 54.9 M.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
import torch.nn.functional as F

from dgmm.models.gmm_layer import GMMLayer
from dgmm.models.prior import CountPrior, OnlinePrior
from dgmm.models.subspace_gmm import SHARE_OPTIONS, SubspaceGMMLayer

MODEL_TYPES = ("dnn", "dgmm", "shallow_gmm", "dsgmm")
PRIOR_TYPES = ("online", "counts", "none")

DEFAULTS: dict = {
    "type": "dgmm",
    "input_dim": 1040,         # 26 spliced frames x 40 log-mel
    "num_states": 2432,
    "hidden_layers": None,     # None: 8 (dnn), 7 (dgmm, dsgmm), 0 (shallow_gmm)
    "hidden_dim": 2560,
    "bottleneck_dim": 272,     # d
    "num_components": 5,       # g
    "subspace_dim": None,      # k (dsgmm); None: = d
    "subspace_share": "all",   # dsgmm: mean | mean_weight | all
    "freeze_hidden": False,
    "identity_bottleneck": False,
    "dropout": 0.0,
    "var_floor": 0.01,
    "exact_gmm": True,
    "prior": "online",
}
_DEFAULT_DEPTH = {"dnn": 8, "dgmm": 7, "dsgmm": 7, "shallow_gmm": 0}


def resolve_config(config: dict) -> dict:
    """``config`` completed with DEFAULTS and checked; unknown keys and bad values raise ValueError."""
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"model config: unknown key(s) {unknown}; known: {sorted(DEFAULTS)}")
    c = {**DEFAULTS, **config}
    if c["type"] not in MODEL_TYPES:
        raise ValueError(f"model config: type must be one of {MODEL_TYPES}, got {c['type']!r}")
    if c["prior"] not in PRIOR_TYPES:
        raise ValueError(f"model config: prior must be one of {PRIOR_TYPES}, got {c['prior']!r}")
    if c["subspace_share"] not in SHARE_OPTIONS:
        raise ValueError(f"model config: subspace_share must be one of {SHARE_OPTIONS}, got {c['subspace_share']!r}")
    if c["hidden_layers"] is None:
        c["hidden_layers"] = _DEFAULT_DEPTH[c["type"]]
    if c["type"] == "shallow_gmm" and c["hidden_layers"] != 0:
        raise ValueError("model config: a shallow_gmm has hidden_layers = 0")
    if c["type"] == "dnn" and c["hidden_layers"] < 1:
        raise ValueError("model config: a dnn needs hidden_layers >= 1")
    if not 0 <= float(c["dropout"]) < 1:
        raise ValueError(f"model config: dropout must be in [0, 1), got {c['dropout']}")
    for key in ("input_dim", "num_states", "hidden_dim", "bottleneck_dim", "num_components"):
        if int(c[key]) < 1:
            raise ValueError(f"model config: {key} must be >= 1, got {c[key]}")
    below = c["hidden_dim"] if c["hidden_layers"] else c["input_dim"]
    if c["identity_bottleneck"] and c["type"] != "dnn" and c["bottleneck_dim"] != below:
        raise ValueError(f"model config: identity_bottleneck needs bottleneck_dim = {below} (the dimension "
                         f"below the GMM layer), got {c['bottleneck_dim']}")
    return c


def hidden_stack(input_dim: int, num_layers: int, width: int, dropout: float = 0.0) -> nn.Sequential:
    """``num_layers`` x (Linear + ReLU); layer i is element 2i of the Sequential.

    With ``dropout`` > 0 element 2i+1 is ReLU followed by Dropout(``dropout``) (active in train()
    mode only); parameter names and counts are those without dropout.
    """
    layers: list[nn.Module] = []
    for i in range(num_layers):
        act = nn.Sequential(nn.ReLU(), nn.Dropout(dropout)) if dropout > 0 else nn.ReLU()
        linear = nn.Linear(input_dim if i == 0 else width, width)
        # He init (variance 2/fan_in, zero bias) keeps the activations' scale through the ReLUs; torch's
        # default (1/(3 fan_in)) shrinks it up to 2.5x per layer (an 8-layer stack's output ~30x below
        # its input), and SGD needed epochs to get going (FSDD DNN 8x256: CV frame accuracy after the
        # first epoch 4.5% with torch's init, 46.9% with He init)
        nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
        nn.init.zeros_(linear.bias)
        layers += [linear, act]
    return nn.Sequential(*layers)


class DNN(nn.Module):
    """ReLU DNN with a softmax output: the paper's baseline (8 x 2560)."""

    def __init__(self, input_dim: int = 1040, hidden_layers: int = 8, hidden_dim: int = 2560,
                 num_states: int = 2432, dropout: float = 0.0):
        super().__init__()
        self.config = resolve_config({"type": "dnn", "input_dim": input_dim, "hidden_layers": hidden_layers,
                                      "hidden_dim": hidden_dim, "num_states": num_states, "dropout": dropout})
        self.hidden = hidden_stack(input_dim, hidden_layers, hidden_dim, dropout)
        self.output = nn.Linear(hidden_dim, num_states)

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(self.output(self.hidden(x)), dim=-1)

    def training_loss(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        log_post = self.forward(x)
        return F.nll_loss(log_post, y), log_post

    def log_likelihoods(self, x: Tensor) -> Tensor:
        """log p(s|x): the caller subtracts a (count) prior to get scaled likelihoods."""
        return self.forward(x)

    def log_prior(self) -> Tensor | None:
        return None

    def set_variances_trainable(self, flag: bool) -> None:
        pass

    def set_hidden_trainable(self, flag: bool) -> None:
        """flag False: only the output layer trains."""
        for p in self.hidden.parameters():
            p.requires_grad_(flag)


class DeepGMM(nn.Module):
    """Hidden ReLU stack (possibly empty) + linear bottleneck d + GMM or subspace-GMM layer + prior.

    log p(s|x) = log_softmax_s(log p(s) + log p(x|s)). The prior enters the posterior as a constant
    (detached): the online prior is learnt only by its own cross-entropy against the labels, so it
    stays an estimate of the state frequencies.
    """

    def __init__(self, config: dict):
        super().__init__()
        self.config = c = resolve_config(config)
        if c["type"] == "dnn":
            raise ValueError("DeepGMM: config type 'dnn' is the DNN class")
        d = c["bottleneck_dim"]
        self.hidden = hidden_stack(c["input_dim"], c["hidden_layers"], c["hidden_dim"], c["dropout"])
        if c["identity_bottleneck"]:
            self.bottleneck = nn.Identity()
        else:
            self.bottleneck = nn.Linear(c["hidden_dim"] if c["hidden_layers"] else c["input_dim"], d, bias=False)
        if c["type"] == "dsgmm":
            self.gmm = SubspaceGMMLayer(d, c["num_states"], c["num_components"], c["subspace_dim"],
                                        c["subspace_share"], c["var_floor"], c["exact_gmm"])
        else:
            self.gmm = GMMLayer(d, c["num_states"], c["num_components"], c["var_floor"], c["exact_gmm"])
        self.prior = {"online": OnlinePrior, "counts": CountPrior}.get(c["prior"], lambda s: None)(c["num_states"])
        self.set_hidden_trainable(not c["freeze_hidden"])

    def set_hidden_trainable(self, flag: bool) -> None:
        """Separate optimisation (flag False): the hidden stack is fixed, the rest trains."""
        for p in self.hidden.parameters():
            p.requires_grad_(flag)

    def set_variances_trainable(self, flag: bool) -> None:
        self.gmm.set_variances_trainable(flag)

    def features(self, x: Tensor) -> Tensor:
        """[B, input_dim] -> [B, d] bottleneck outputs (the GMM layer's input)."""
        return self.bottleneck(self.hidden(x))

    def log_likelihoods(self, x: Tensor) -> Tensor:
        """[B, input_dim] -> [B, S] log p(x|s)."""
        return self.gmm(self.features(x))

    def log_prior(self) -> Tensor | None:
        return None if self.prior is None else self.prior()

    def set_count_prior(self, pdf_counts, floor: float = 1.0) -> None:
        """Load the fixed prior of a ``prior: counts`` model from per-pdf frame counts."""
        if not isinstance(self.prior, CountPrior):
            raise ValueError(f"set_count_prior: model has prior {self.config['prior']!r}, not 'counts'")
        self.prior.set_counts(pdf_counts, floor)

    def _posterior(self, ll: Tensor) -> Tensor:
        lp = self.log_prior()
        return F.log_softmax(ll if lp is None else ll + lp.detach(), dim=-1)

    def forward(self, x: Tensor) -> Tensor:
        return self._posterior(self.log_likelihoods(x))

    def training_loss(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        log_post = self.forward(x)
        loss = F.nll_loss(log_post, y)
        if isinstance(self.prior, OnlinePrior):
            loss = loss + self.prior.loss(y)
        return loss, log_post


def build_model(config: dict) -> nn.Module:
    """A DNN or a member of the GMM family from a (partial) config; see the module docstring."""
    c = resolve_config(config)
    if c["type"] != "dnn":
        return DeepGMM(c)
    model = DNN(c["input_dim"], c["hidden_layers"], c["hidden_dim"], c["num_states"], c["dropout"])
    model.config = c  # the full dict it was built from (GMM-only keys are unused)
    return model


def dgmm_from_dnn(dnn: DNN, config: dict, num_hidden_to_copy: int) -> DeepGMM:
    """A DGMM/DSGMM whose input and first K hidden layers are copies of a trained DNN's (paper: 7 of 8).

    ``config`` gives the GMM part; input_dim and hidden_dim are taken from the DNN and
    hidden_layers = K. Set ``freeze_hidden`` in config for separate optimisation.
    """
    k = int(num_hidden_to_copy)
    if not 1 <= k <= dnn.config["hidden_layers"]:
        raise ValueError(f"dgmm_from_dnn: num_hidden_to_copy must be in [1, {dnn.config['hidden_layers']}], got {k}")
    c = {**config, "input_dim": dnn.config["input_dim"], "hidden_dim": dnn.config["hidden_dim"], "hidden_layers": k}
    if c.get("type", DEFAULTS["type"]) not in ("dgmm", "dsgmm"):
        raise ValueError(f"dgmm_from_dnn: type must be dgmm or dsgmm, got {c.get('type')!r}")
    model = DeepGMM(c)
    with torch.no_grad():
        for i in range(k):
            model.hidden[2 * i].load_state_dict(dnn.hidden[2 * i].state_dict())
    return model


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (all, or only those with requires_grad)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
