"""Data-parallel: 2 gloo processes via torchrun = 1 process with the doubled batch (same trajectory)."""

import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml

from conftest import REPO, shared_path
from dgmm.models import load_checkpoint
from dgmm.train.metrics import read_metrics_tsv
from fsdd_frames import make_fsdd

CONF = {"model": {"type": "dnn", "hidden_layers": 2, "hidden_dim": 64},
        "train": {"lr": 0.02, "momentum": 0.9, "max_epochs": 2, "schedule": "warmup_decay",
                  "warmup_steps": 10, "decay": 0.7, "grad_clip": 5.0, "report_every": 10, "seed": 5}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def fsdd(tmp_path_factory):
    shared_path("kaldi_ref", "fsdd")
    return make_fsdd(tmp_path_factory.mktemp("fsdd"), shared_path(), per_digit=4)


def test_two_gloo_ranks_equal_one_process_with_double_batch(fsdd, tmp_path):
    data, ali = fsdd
    conf = tmp_path / "dnn.yaml"
    conf.write_text(yaml.safe_dump(CONF))
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    common = ["--num-threads", "1", "--device", "cpu", "--config", str(conf), str(data), str(ali)]
    one = subprocess.run([sys.executable, "-m", "dgmm.bin.train", "--set", "train.batch_size=100", *common,
                          str(tmp_path / "one")], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stderr
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "2",
                          "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{_free_port()}",
                          "-m", "dgmm.bin.train", "--set", "train.batch_size=50", *common, str(tmp_path / "two")],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert two.returncode == 0, two.stderr[-3000:]
    assert "rank 1 of 2 (gloo backend)" in (tmp_path / "two/log/train.1.log").read_text()

    r1, r2 = read_metrics_tsv(tmp_path / "one/metrics.tsv"), read_metrics_tsv(tmp_path / "two/metrics.tsv")
    assert [(r["kind"], r["epoch"], r["step"], r["frames"]) for r in r1] == \
        [(r["kind"], r["epoch"], r["step"], r["frames"]) for r in r2]
    assert sum(r["kind"] == "epoch" for r in r1) == 2
    for key in ("lr", "tr_ce", "tr_acc", "cv_ce", "cv_acc"):
        a = np.array([float(r[key]) if r[key] != "-" else np.nan for r in r1])
        b = np.array([float(r[key]) if r[key] != "-" else np.nan for r in r2])
        # same arithmetic up to float summation order (gradient all-reduce), which drifts slowly
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=0.1 if key.endswith("acc") else 1e-5, err_msg=key)
    w1 = load_checkpoint(tmp_path / "one/final.pt")["state_dict"]
    w2 = load_checkpoint(tmp_path / "two/final.pt")["state_dict"]
    for k, v in w1.items():
        torch.testing.assert_close(v, w2[k], rtol=1e-3, atol=1e-4)
