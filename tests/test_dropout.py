"""Model key ``dropout`` (dgmm/models/networks.py): dropout after the hidden ReLUs, training only.

The paper's parameter counts and the state-dict layout must not change (a dropout model loads the
weights of one without), evaluation must be exactly the dropout-free network, training must not.
"""

from __future__ import annotations

import pytest
import torch

from dgmm.models.networks import build_model, count_parameters, dgmm_from_dnn

SMALL = {"input_dim": 30, "num_states": 7, "hidden_layers": 3, "hidden_dim": 16, "bottleneck_dim": 4,
         "num_components": 2}


@pytest.mark.parametrize("kind", ["dnn", "dgmm", "dsgmm"])
def test_dropout_same_parameters_eval_identical_train_stochastic(kind):
    torch.manual_seed(0)
    plain = build_model({**SMALL, "type": kind})
    drop = build_model({**SMALL, "type": kind, "dropout": 0.3})
    assert list(plain.state_dict()) == list(drop.state_dict())
    assert count_parameters(plain) == count_parameters(drop)
    drop.load_state_dict(plain.state_dict())
    x = torch.randn(50, SMALL["input_dim"])
    plain.eval(), drop.eval()
    assert torch.equal(plain(x), drop(x))
    drop.train()
    torch.manual_seed(1)
    a = drop(x)
    assert not torch.allclose(a, plain(x))
    assert torch.isfinite(drop.training_loss(x, torch.randint(0, SMALL["num_states"], (50,)))[0])


def test_dropout_dnn_to_dgmm_and_bad_value():
    dnn = build_model({**SMALL, "type": "dnn", "dropout": 0.2})
    dgmm = dgmm_from_dnn(dnn, {"type": "dgmm", "num_states": 7, "bottleneck_dim": 4, "num_components": 2,
                               "dropout": 0.1}, 2)
    assert torch.equal(dgmm.hidden[2].weight, dnn.hidden[2].weight)
    assert dgmm.hidden[1][1].p == 0.1 and dnn.hidden[1][1].p == 0.2
    with pytest.raises(ValueError, match="dropout"):
        build_model({**SMALL, "type": "dnn", "dropout": 1.0})
