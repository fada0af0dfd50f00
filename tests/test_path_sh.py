"""path.sh, sourced directly and through a recipe's path.sh."""

from __future__ import annotations

import os
import subprocess

from conftest import REPO

SHOW = 'echo "LC_ALL=$LC_ALL"; echo "PYTHONUNBUFFERED=$PYTHONUNBUFFERED"; echo "PATH=$PATH"; command -v run.pl; command -v make_fbank.sh'


def source(path_sh, cwd, **env):
    e = {k: v for k, v in os.environ.items() if k not in ("DGMM_ROOT", "KALDI_ROOT", "LC_ALL")}
    e.update(env)
    r = subprocess.run(["bash", "-c", f"set -u; . {path_sh} && {SHOW}"], cwd=cwd, env=e,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def test_recipe_path_sh(tmp_path):
    kaldi = tmp_path / "kaldi"
    for d in ("src/featbin", "src/gmmbin", "tools/openfst/bin"):
        (kaldi / d).mkdir(parents=True)
    out = source("./path.sh", REPO / "egs" / "yesno" / "s5", KALDI_ROOT=str(kaldi))
    assert out[0] == "LC_ALL=C" and out[1] == "PYTHONUNBUFFERED=1"
    path = out[2][len("PATH="):].split(":")
    assert path[0] == str(REPO / "utils") and path[1] == str(REPO / "steps")
    for d in ("src/featbin", "src/gmmbin", "tools/openfst/bin"):
        assert str(kaldi / d) in path
    assert out[3] == str(REPO / "utils" / "run.pl") and out[4] == str(REPO / "steps" / "make_fbank.sh")
    if (REPO / ".venv").is_dir():
        assert str(REPO / ".venv" / "bin") in path


def test_root_path_sh_without_kaldi(tmp_path):
    out = source(str(REPO / "path.sh"), tmp_path)
    assert out[0] == "LC_ALL=C"
    assert not any("openfst" in p for p in out[2].split(":"))


def test_recipe_path_sh_with_wrong_root_fails(tmp_path):
    r = subprocess.run(["bash", "-c", f". {REPO}/egs/yesno/s5/path.sh"], cwd=tmp_path,
                       env=dict(os.environ, DGMM_ROOT=str(tmp_path)), capture_output=True, text=True)
    assert r.returncode != 0 and "set DGMM_ROOT" in r.stderr
