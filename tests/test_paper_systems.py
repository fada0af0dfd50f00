"""dgmm.paper.systems: what each paper system's config takes from the recipe's configs (fast; the
experiments themselves run in tests/test_paper_experiments.py)."""

from __future__ import annotations

from dgmm.paper.systems import paper_systems, system_config
from dgmm.train.config import load_config


def test_gmm_systems_keep_the_recipes_variance_floor(tmp_path):
    conf = tmp_path / "dgmm.yaml"
    conf.write_text("model:\n  type: dgmm\n  bottleneck_dim: 99\n  var_floor: 0.5\n"
                    "train:\n  lr: 0.003\n  max_epochs: 4\n")
    base = load_config(conf)
    dnn_base = load_config(None)
    for s in paper_systems("tiny", input_dim=1040, num_states=50):
        cfg = system_config(s, base if s.kind == "gmm" else dnn_base, "tiny", max_epochs=2)
        assert cfg["model"]["type"] == s.model["type"]
        assert cfg["train"]["max_epochs"] == 2
        if s.kind == "gmm":
            # the floor (regularisation) comes from the recipe, the sizes from the scale
            assert cfg["model"]["var_floor"] == 0.5, s.name
            assert cfg["model"]["bottleneck_dim"] == s.model["bottleneck_dim"] != 99, s.name
            assert cfg["train"]["lr"] == 0.002  # the tiny scale's own train override wins over the base
        else:
            assert "var_floor" not in cfg["model"], s.name
