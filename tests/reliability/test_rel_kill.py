"""Kill -9 anywhere: each long stage script is killed (its whole process group, as a crash or an
OOM-killed job would be) at a random point (two seeds), then the same command is rerun. The final
outputs must be byte-identical to an uninterrupted run (features, alignments, archives, decodes)
or metric-identical (trained models: the same metrics.tsv and weights), and any final output present
right after the kill must already be complete (no later stage can consume a half-written file).
For the multi-job scripts, killing one job must fail the script without merging its partial output.

Training resume inside dgmm.bin.train at a chosen batch is tests/test_resume.py; here the kill
point is random (initial CV, mid-epoch, checkpoint writes, final export) and the command is the
stage script.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from conftest import REPO
from yesno_stages import STAGES, build, env, sh

pytestmark = pytest.mark.slow
SEEDS = (1, 2)
TEMP = re.compile(r"^\..*\.(tmp|part)\d+$|\.tmp\d+$")   # temporaries of atomic writes (never read)
# outputs that must be absent or complete right after a kill
FINAL = {"fbank": ["data/feats.scp", "data/utt2num_frames", "data/utt2dur"],
         "import": ["ali/pdf_ali.scp", "ali/num_pdfs", "ali/pdf_counts"],
         "loglikes": ["dgmm/decode/loglikes.scp"],
         "decode": ["dgmm/decode/scoring_kaldi/best_wer"]}


@pytest.fixture(scope="module")
def y(tmp_path_factory):
    return build(tmp_path_factory.mktemp("yesno"))


def snapshot(root: Path) -> dict[str, bytes]:
    """Bytes of every output file under root (its own path replaced by <ROOT>), except logs, backups,
    temporaries and model/plot files (compared by weights and metrics instead)."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_file() and not {"log", ".backup"} & set(rel.parts) and not TEMP.search(p.name) \
                and p.suffix not in (".pt", ".png"):
            out[str(rel)] = p.read_bytes().replace(str(root).encode(), b"<ROOT>")
    return out


def same_weights(a: Path, b: Path) -> None:
    sa, sb = (torch.load(p, weights_only=True) for p in (a, b))
    assert sa.keys() == sb.keys() and sa["state_dict"].keys() == sb["state_dict"].keys()
    for k, v in sa["state_dict"].items():
        assert torch.equal(v, sb["state_dict"][k]), (a, k)


def _work_root(y, stage: str, tag: str) -> Path:
    """A root beside the reference's with a name of the same length: the sclite reports, whose
    table width follows the path length, then compare byte for byte too."""
    return y["base"] / f"{stage[:-len(tag)]}{tag}"


def run_killed(args, seconds: float) -> bool:
    """Run ``bash args`` and SIGKILL its whole process group after ``seconds``; False if it had ended."""
    p = subprocess.Popen(["bash", *map(str, args)], cwd=REPO, env=env(), start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        p.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        return True


@pytest.mark.parametrize("stage", list(STAGES))
def test_kill9_then_rerun_equals_uninterrupted_run(y, stage):
    prepare, args = STAGES[stage]
    ref_root = y[stage]
    ref = snapshot(ref_root)
    duration = y["seconds", stage]
    killed = []
    for seed in SEEDS:
        work = _work_root(y, stage, str(seed))
        prepare(y, work)
        # kill points within the first half of the reference run's time: the stage is still running
        killed.append(run_killed(args(y, work), random.Random(f"{stage}{seed}").uniform(0.05, 0.75) * duration))
        got = snapshot(work)
        for name in FINAL.get(stage, []):
            if name in got:
                assert got[name] == ref[name], f"{name} exists after kill -9 but is not the finished file"
        if (work / "exp/final.pt").exists():    # training: a final.pt present is the finished one
            same_weights(work / "exp/final.pt", ref_root / "exp/final.pt")
        sh(*args(y, work))
        assert snapshot(work) == ref, f"seed {seed}: rerun after kill -9 differs from an uninterrupted run"
        for name in ("final.pt", "best.pt"):
            if (ref_root / "exp" / name).exists():
                same_weights(work / "exp" / name, ref_root / "exp" / name)
    assert any(killed), "the stage always finished before the kill"


def _kill_one_job(args, pattern: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the script and SIGKILL only the job process whose command line matches ``pattern``."""
    p = subprocess.Popen(["bash", *map(str, args)], cwd=REPO, env=env(), start_new_session=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline, killed = time.time() + timeout, False
    while not killed and p.poll() is None and time.time() < deadline:
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                if os.getpgid(int(d.name)) == p.pid and re.search(pattern, cmd) and "bash" not in cmd:
                    os.kill(int(d.name), signal.SIGKILL)
                    killed = True
                    break
            except (OSError, ValueError):
                continue
        time.sleep(0.01)
    out, err = p.communicate(timeout=timeout)
    assert killed, "the job to kill never appeared"
    return subprocess.CompletedProcess(args, p.returncode, out, err)


@pytest.mark.parametrize("stage, scp, pattern", [
    ("fbank", "data/feats.scp", r"dgmm\.bin\.make_fbank .*\.2\.ark"),
    ("loglikes", "dgmm/decode/loglikes.scp", r"dgmm\.bin\.make_loglikes --job 2 ")])
def test_killed_job_is_never_merged(y, stage, scp, pattern):
    prepare, args = STAGES[stage]
    work = _work_root(y, stage, "X")
    prepare(y, work)
    r = _kill_one_job(args(y, work), pattern)
    scp = work / scp
    assert r.returncode != 0, r.stdout[-2000:]
    assert not list(scp.parent.glob(f"{scp.name}*"))    # no merged or half-merged scp
    if stage == "fbank":   # the rerun (the same path as after a whole-script kill, tested above)
        sh(*args(y, work))
        assert snapshot(work) == snapshot(y[stage])
