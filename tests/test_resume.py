"""Kill -9 during an epoch, rerun the same command: same final metrics and model as an uninterrupted run."""

import os
import subprocess
import sys

import pytest
import torch
import yaml

from conftest import REPO, shared_path
from dgmm.models import load_checkpoint
from dgmm.train.metrics import read_metrics_tsv
from fsdd_frames import make_fsdd

CONF = {"model": {"type": "dnn", "hidden_layers": 2, "hidden_dim": 64},
        "train": {"lr": 0.02, "momentum": 0.9, "max_epochs": 3, "batch_size": 50, "checkpoint_every": 7,
                  "report_every": 5, "seed": 3}}

# Runs the trainer in this process and SIGKILLs the process itself after KILL_AT training batches:
# a real kill -9 (no clean-up code runs), at a deterministic point between two checkpoints.
KILLER = """
import os, signal, sys
from dgmm.train import trainer
from dgmm.cli import run_main
from dgmm.bin import train
n = 0
orig = trainer._Sums.add
def add(self, *a):
    global n
    orig(self, *a)
    n += 1
    if n == int(os.environ["KILL_AT"]):
        os.kill(os.getpid(), signal.SIGKILL)
trainer._Sums.add = add
sys.argv[0] = "train"
run_main(train.main, sys.argv[1:])
"""


def _run(args, env_extra=None, killer=False):
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env_extra or {})}
    cmd = [sys.executable] + (["-c", KILLER] if killer else ["-m", "dgmm.bin.train"]) + args
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def fsdd(tmp_path_factory):
    shared_path("kaldi_ref", "fsdd")
    return make_fsdd(tmp_path_factory.mktemp("fsdd"), shared_path(), per_digit=5)


def test_kill9_and_rerun_gives_same_result(fsdd, tmp_path):
    data, ali = fsdd
    conf = tmp_path / "dnn.yaml"
    conf.write_text(yaml.safe_dump(CONF))
    common = ["--num-threads", "1", "--config", str(conf), str(data), str(ali)]

    ref = _run(common + [str(tmp_path / "ref")])
    assert ref.returncode == 0, ref.stderr

    killed = tmp_path / "killed"
    rows = read_metrics_tsv(tmp_path / "ref/metrics.tsv")
    steps = int(next(r["step"] for r in rows if r["kind"] == "epoch"))
    assert sum(r["kind"] == "epoch" for r in rows) == 3
    # batches counted by _Sums.add: 1 (initial CV) + epoch 1 + 1 (its CV) + half of epoch 2
    kill_at = 1 + steps + 1 + steps // 2 + 3
    k = _run(common + [str(killed)], {"KILL_AT": str(kill_at)}, killer=True)
    assert k.returncode == -9, (k.returncode, k.stderr[-2000:])
    assert not (killed / "final.pt").exists()
    pos = torch.load(killed / "checkpoint.pt", weights_only=True)["position"]
    assert pos["epoch"] == 1 and 0 < pos["next_batch"], pos

    resumed = _run(common + [str(killed)])
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stderr
    assert (killed / "metrics.tsv").read_text() == (tmp_path / "ref/metrics.tsv").read_text()
    for name in ("final.pt", "best.pt"):
        a, b = load_checkpoint(killed / name), load_checkpoint(tmp_path / "ref" / name)
        assert a["epoch"] == b["epoch"]
        for key, v in a["state_dict"].items():
            assert torch.equal(v, b["state_dict"][key]), (name, key)
