"""Kill -9 anywhere: the yesno recipe's ``./run.sh`` (in a copy of egs/yesno/s5 with tiny networks) is
SIGKILLed with its whole process group, as a crash, an OOM kill or a reboot would, at a random point
inside each of its long stages: features, the GMM bootstrap (steps/train_mono.sh, align_si.sh), graph,
alignment import, DNN training, the DGMM's initialisation and training, priors, log-likelihood
archives, decoding and scoring. After every kill the same ``./run.sh`` command is started again (and
killed at the next point); the last one runs to the end. Then every output must be byte-identical
to one uninterrupted run (features, alignments, models in Kaldi format, archives, decodes, scores;
the trained networks bit-identical weights), no temporary may be left, and right
after each kill every output a later stage takes as "done" must already be complete (no stage can
consume a half-written file).

For the multi-job scripts, killing one job must fail the script without merging its partial output.
Training resume at a chosen batch is tests/test_resume.py; stale temporaries of one killed writer
are tests/reliability/test_rel_stale_temps.py.
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

import kaldiio
import numpy as np
import pytest
import torch
import yaml

from conftest import REPO, recipe_copy, shared_path
from yesno_stages import TINY, env

pytestmark = pytest.mark.slow

# kill point -> the command line of the process of the run inside which the kill lands (in run order)
POINTS = {
    "features": r"dgmm\.bin\.make_fbank .*train_yesno",
    "mono": r"dgmm\.bin\.train_mono ",
    "align": r"dgmm\.bin\.align_si .*exp/mono_ali",
    "graph": r"dgmm\.bin\.mkgraph ",
    "gmm-decode": r"dgmm\.bin\.decode .*gmm_decode",
    "import": r"dgmm\.bin\.import_ali .*ali_train_yesno",
    "dnn": r"dgmm\.bin\.train .*exp/dnn$",
    "dgmm-init": r"dgmm\.bin\.init_dgmm ",
    "dgmm": r"dgmm\.bin\.train .*exp/dgmm$",
    "prior": r"dgmm\.bin\.compute_prior ",
    "archives": r"dgmm\.bin\.make_loglikes .*exp/dnn",
    "decode": r"dgmm\.bin\.decode .*exp/dgmm/decode",
    "score": r"dgmm\.bin\.score .*exp/dgmm/decode",
}
# both seeds kill inside the long stages; the short ones are shared out (each kill costs a restart)
CHAINS = {1: [p for p in POINTS if p not in ("gmm-decode", "dgmm-init", "score")],
          2: ["features", "mono", "gmm-decode", "dnn", "dgmm-init", "dgmm", "decode", "score"]}
# "stage done" markers of the recipe (utils/uptodate.sh outputs) -> what must be complete with them
# (a directory: all its files but log/, recursively with "**")
DONE = {"data/fbank/train_yesno/.done": "data/fbank/train_yesno/**",
        "exp/mono/final.mdl": "exp/mono", "exp/mono_ali/ali.1.gz": "exp/mono_ali",
        "exp/gmm_ali_test_yesno/ali.1.gz": "exp/gmm_ali_test_yesno", "exp/graph/HCLG.fst": "exp/graph/**",
        "exp/ali_train_yesno/pdf_ali.scp": "exp/ali_train_yesno", "exp/dnn/prior.vec": "exp/dnn/prior.vec",
        **{f"exp/{s}/scoring_kaldi/best_wer": f"exp/{s}/scoring_kaldi/best_wer"
           for s in ("gmm_decode_test_yesno", "dnn/decode_test_yesno", "dgmm/decode_test_yesno")}}
MODELS = ("exp/dnn/final.pt", "exp/dnn/best.pt", "exp/dgmm/init.pt", "exp/dgmm/final.pt", "exp/dgmm/best.pt")
TEMP = re.compile(r"\.(tmp|part)\d+(@.*)?$")     # temporaries of atomic writes and of shell merges


def recipe(base: Path) -> tuple[Path, list[str]]:
    """A copy of egs/yesno/s5 with tiny networks (seconds to train) and its run.sh command line (up
    to the decoding and scoring of stage 8: stage 9 only summarises)."""
    s5 = recipe_copy(base)
    for name, conf in TINY.items():
        (s5 / "conf" / f"{name}.yaml").write_text(
            yaml.safe_dump({**conf, "data": {**conf["data"], "cmvn_mode": "speaker"}}))
    corpus = shared_path("kaldi_ref", "yesno", "waves_yesno")
    return s5, ["./run.sh", "--corpus-dir", str(corpus), "--stop-stage", "8"]


def start(s5: Path, cmd: list[str]) -> subprocess.Popen:
    """``cmd`` in s5 as the leader of a new process group, its output appended to ../run.log."""
    with open(s5.parent / "run.log", "a") as log:
        return subprocess.Popen(cmd, cwd=s5, env=env(), start_new_session=True, stdout=log,
                                stderr=subprocess.STDOUT)


def finish(p: subprocess.Popen, s5: Path) -> None:
    p.wait()
    assert p.returncode == 0, (s5.parent / "run.log").read_text()[-3000:]


def group_commands(pgid: int) -> dict[int, str]:
    """pid -> command line of the live processes of process group ``pgid``."""
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.getpgid(int(d)) == pgid:
                    cmd = Path(f"/proc/{d}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                    if cmd:     # a zombie has none
                        out[int(d)] = cmd
            except (OSError, ValueError):
                continue
    return out


def running(p: subprocess.Popen, pattern: str) -> bool:
    return any(re.search(pattern, c) for c in group_commands(p.pid).values())


def kill_group(p: subprocess.Popen) -> None:
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    while group_commands(p.pid):    # the group's other members die asynchronously
        time.sleep(0.02)


def snapshot(root: Path) -> dict[str, bytes]:
    """Bytes of every output file under root (root's own path replaced by <ROOT>), except logs,
    temporaries, plots, torch files (compared by weights) and the .backup/ of an old feats.scp (moved
    there by a rerun of make_fbank.sh, as Kaldi's make_*.sh do)."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_file() and not {"log", ".backup"} & set(rel.parts) and not TEMP.search(p.name) \
                and p.suffix not in (".log", ".pt", ".png"):
            out[str(rel)] = p.read_bytes().replace(str(root).encode(), b"<ROOT>")
    return out


def same_weights(a: Path, b: Path) -> None:
    sa, sb = (torch.load(p, weights_only=True) for p in (a, b))
    assert sa["state_dict"].keys() == sb["state_dict"].keys(), a
    for k, v in sa["state_dict"].items():
        assert torch.equal(v, sb["state_dict"][k]), (a, k)


@pytest.fixture(scope="module")
def ref(tmp_path_factory):
    """One uninterrupted run: its outputs, and for each kill point how long its process ran."""
    base = tmp_path_factory.mktemp("yesno")
    s5, cmd = recipe(base / "ref")
    p, seen, t0 = start(s5, cmd), {}, time.time()
    while p.poll() is None:
        for pid, c in group_commands(p.pid).items():
            if "dgmm.bin." in c and not c.startswith("bash"):
                seen.setdefault((pid, c), [time.time() - t0])[1:] = [time.time() - t0]
        time.sleep(0.05)
    finish(p, s5)
    seconds = {}
    for name, pattern in POINTS.items():
        runs = [t[-1] - t[0] for (_, c), t in seen.items() if re.search(pattern, c)]
        assert runs, f"no process of the run matches {pattern}"
        seconds[name] = max(runs[0], 0.2)
    return {"base": base, "s5": s5, "snapshot": snapshot(s5), "seconds": seconds}


def check_done_outputs_complete(work: Path, ref: Path) -> None:
    for marker, scope in DONE.items():
        if not (work / marker).exists():
            continue
        d = scope.removesuffix("/**")
        files = [ref / d] if (ref / d).is_file() else \
            [f for f in ((ref / d).rglob("*") if scope.endswith("**") else (ref / d).iterdir())
             if f.is_file() and "log" not in f.relative_to(ref).parts and f.suffix != ".log"]
        for f in files:
            got = work / f.relative_to(ref)
            assert got.exists() and got.read_bytes().replace(str(work).encode(), str(ref).encode()) \
                == f.read_bytes(), f"{marker} is there after kill -9 but {got} is not the finished file"
    for m in MODELS:    # best.pt is rewritten while training (the best so far): not a "done" output
        if (work / m).exists() and not m.endswith("best.pt"):
            same_weights(work / m, ref / m)


@pytest.mark.parametrize("seed", sorted(CHAINS))
def test_kill9_run_sh_anywhere_then_rerun_equals_uninterrupted_run(ref, seed):
    s5, cmd = recipe(ref["base"] / f"sd{seed}")   # a root of the reference's path length (sclite's widths)
    rng = random.Random(seed)
    hits = []
    for point in CHAINS[seed]:
        p = start(s5, cmd)
        while p.poll() is None and not running(p, POINTS[point]):
            time.sleep(0.05)
        assert p.poll() is None, f"run.sh ended (exit {p.returncode}) before {point}:\n" + \
            (s5.parent / "run.log").read_text()[-3000:]
        time.sleep(rng.uniform(0.1, 0.8) * ref["seconds"][point])
        if running(p, POINTS[point]):
            hits.append(point)
        kill_group(p)
        check_done_outputs_complete(s5, ref["s5"])
    finish(start(s5, cmd), s5)
    got, want = snapshot(s5), ref["snapshot"]
    differ = sorted(k for k in got.keys() | want.keys() if got.get(k) != want.get(k))
    assert not differ, f"after kill -9 and rerun these outputs differ from an uninterrupted run: {differ}"
    for m in MODELS:
        same_weights(s5 / m, ref["s5"] / m)
    left = [str(f) for f in s5.rglob("*") if TEMP.search(f.name)]
    assert not left, f"temporaries left: {left}"
    print(f"seed {seed}: killed inside {hits} (the others a little later)")
    assert len(hits) >= len(CHAINS[seed]) // 2, hits


def _kill_one_job(args, pattern: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a stage script and SIGKILL only the job process whose command line matches ``pattern``."""
    p = subprocess.Popen(["bash", *map(str, args)], cwd=REPO, env=env(), start_new_session=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline, killed = time.time() + timeout, False
    while not killed and p.poll() is None and time.time() < deadline:
        for pid, cmd in group_commands(p.pid).items():
            if re.search(pattern, cmd) and not cmd.startswith("bash"):
                os.kill(pid, signal.SIGKILL)
                killed = True
                break
        time.sleep(0.01)
    out, err = p.communicate(timeout=timeout)
    assert killed, "the job to kill never appeared"
    return subprocess.CompletedProcess(args, p.returncode, out, err)


def _same_matrices(scp: Path, ref_scp: Path) -> None:
    got, want = kaldiio.load_scp(str(scp)), kaldiio.load_scp(str(ref_scp))
    assert sorted(got) == sorted(want)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k])


def test_killed_job_of_make_fbank_is_never_merged(ref, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(ref["s5"] / "data/train_yesno", data, ignore=shutil.ignore_patterns("split*", ".prepared"))
    args = ["steps/make_fbank.sh", "--nj", 3, "--fbank-config", REPO / "egs/yesno/s5/conf/fbank.conf", data,
            tmp_path / "log", tmp_path / "fbank"]
    r = _kill_one_job(args, r"dgmm\.bin\.make_fbank .*\.2\.ark")
    assert r.returncode != 0, r.stdout[-2000:]
    assert not list(data.glob("feats.scp*")) and not (data / "utt2num_frames").exists()
    r = subprocess.run(["bash", *map(str, args)], cwd=REPO, env=env(), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    _same_matrices(data / "feats.scp", ref["s5"] / "data/fbank/train_yesno/feats.scp")
    assert not [f for f in tmp_path.rglob("*") if TEMP.search(f.name)]


def test_killed_job_of_make_loglikes_is_never_merged(ref, tmp_path):
    data, model = tmp_path / "data", tmp_path / "dgmm"
    shutil.copytree(ref["s5"] / "data/fbank/test_yesno", data, ignore=shutil.ignore_patterns("split*"))
    model.mkdir()
    for f in ("final.pt", "final.mdl"):
        shutil.copy(ref["s5"] / "exp/dgmm" / f, model / f)
    args = ["steps/make_loglikes.sh", "--nj", 2, data, model, model / "decode"]
    r = _kill_one_job(args, r"dgmm\.bin\.make_loglikes --job 2 ")
    assert r.returncode != 0, r.stdout[-2000:]
    assert not list((model / "decode").glob("loglikes.scp*"))
    r = subprocess.run(["bash", *map(str, args)], cwd=REPO, env=env(), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    _same_matrices(model / "decode/loglikes.scp", ref["s5"] / "exp/dgmm/decode_test_yesno/loglikes.scp")
