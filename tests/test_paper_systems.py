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


def _stamp(path):
    return path.read_text(), path.stat().st_mtime_ns


def test_configs_are_rewritten_only_when_their_effective_configuration_changes(tmp_path):
    """A finished system is retrained when its config file is newer than its final.pt, so a config
    is rewritten only for a change that alters training, not for a new defaulted key (the old
    text-based check retrained every system when data.cv_random appeared), key order or comments."""
    import os

    import kaldiio
    import numpy as np
    import yaml

    from dgmm.bin.paper_systems import main

    data, ali, exp = tmp_path / "data", tmp_path / "ali", tmp_path / "exp"
    data.mkdir()
    ali.mkdir()
    kaldiio.save_ark(str(data / "feats.ark"), {"u1": np.zeros((5, 4), np.float32)}, scp=str(data / "feats.scp"))
    (ali / "pdf_ali.scp").write_text("")
    (ali / "num_pdfs").write_text("6\n")
    dnn_conf, dgmm_conf = tmp_path / "dnn.yaml", tmp_path / "dgmm.yaml"
    dnn_conf.write_text("model:\n  type: dnn\ntrain:\n  batch_size: 200\n")
    dgmm_conf.write_text("model:\n  type: dgmm\n  var_floor: 0.5\ntrain:\n  freeze_variances_epochs: 1\n")

    def run(dnn=dnn_conf):
        assert main(["--scale", "tiny", "--tables", "1 2", "--dnn-config", str(dnn), "--dgmm-config",
                     str(dgmm_conf), str(data), str(ali), str(exp)]) == 0

    run()
    # sgmm_lda: a model section that does not resolve without the LDA features' input_dim
    conf = {n: exp / "conf" / f"{n}.yaml" for n in ("dnn", "dgmm_separate", "dgmm_joint", "sgmm_lda")}
    fresh = {n: p.read_text() for n, p in conf.items()}
    cfg = {n: yaml.safe_load(t) for n, t in fresh.items()}
    assert cfg["dnn"]["data"]["cv_random"] is False and cfg["dnn"]["train"]["batch_size"] == 200

    # the files as older code wrote them: no data.cv_random, other key order, comments, explicit defaults,
    # the type's default depth left implicit (explicit in the new configs: dnn 8, dgmm 7 hidden layers)
    old = cfg["dnn"]
    del old["data"]["cv_random"]
    assert old["model"].pop("hidden_layers") == 8
    old = {s: dict(reversed(old[s].items())) for s in ("train", "data", "model")}
    conf["dnn"].write_text("# written before data.cv_random existed\n" + yaml.safe_dump(old, sort_keys=False))
    sep = cfg["dgmm_separate"]
    sep["model"]["dropout"] = 0.0                  # networks.py's default
    sep["train"]["nan_retries"] = 3                # TrainConfig's default
    sep["model"]["hidden_layers"] = None           # networks.py: 7 for a dgmm
    conf["dgmm_separate"].write_text(yaml.safe_dump(sep, sort_keys=True))
    joint = cfg["dgmm_joint"]
    joint["model"]["hidden_dim"] += 1              # a real change: another network
    conf["dgmm_joint"].write_text(yaml.safe_dump(joint, sort_keys=False))
    for p in conf.values():
        os.utime(p, ns=(10**18, 10**18))           # older than any rewrite
    before = {n: _stamp(p) for n, p in conf.items()}
    run()
    assert _stamp(conf["dnn"]) == before["dnn"]
    assert _stamp(conf["dgmm_separate"]) == before["dgmm_separate"]
    assert _stamp(conf["sgmm_lda"]) == before["sgmm_lda"]
    assert conf["dgmm_joint"].stat().st_mtime_ns > 10**18 and conf["dgmm_joint"].read_text() == fresh["dgmm_joint"]

    # a training option of the base config, and a data option the old file only implied by its default
    changed = tmp_path / "dnn_changed.yaml"
    changed.write_text("model:\n  type: dnn\ndata:\n  cv_random: true\ntrain:\n  batch_size: 100\n")
    run(changed)
    new = yaml.safe_load(conf["dnn"].read_text())
    assert conf["dnn"].stat().st_mtime_ns > 10**18
    assert new["train"]["batch_size"] == 100 and new["data"]["cv_random"] is True
    assert _stamp(conf["dgmm_separate"]) == before["dgmm_separate"]
