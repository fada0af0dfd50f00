"""Shared fixtures. Reference data lives in ../shared beside the repository (always present in CI)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DGMM_SHARED", REPO.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """Path under ../shared, or skip the test with the reason when it is absent."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"reference data {p} not found (set DGMM_SHARED to the shared/ folder)")
    return p


@pytest.fixture
def kaldi_ref() -> Path:
    return shared_path("kaldi_ref")


@pytest.fixture
def corpora() -> Path:
    return shared_path("corpora")


def recipe_copy(tmp_path: Path, corpus: str = "yesno") -> Path:
    """egs/<corpus>/s5 copied to tmp (without its outputs), steps/utils linked to this repository's."""
    s5 = tmp_path / "s5"
    shutil.copytree(REPO / "egs" / corpus / "s5", s5, symlinks=True,
                    ignore=shutil.ignore_patterns("data", "exp", "fbank", "downloads", "RESULTS.local.md"))
    for name in ("steps", "utils"):
        (s5 / name).unlink()
        (s5 / name).symlink_to(REPO / name)
    return s5


def run_recipe(s5: Path, *args, timeout: int = 600) -> subprocess.CompletedProcess:
    """``./run.sh args...`` in a recipe copy, with this repository as DGMM_ROOT."""
    env = dict(os.environ, DGMM_ROOT=str(REPO))
    return subprocess.run(["./run.sh", *args], cwd=s5, env=env, capture_output=True, text=True,
                          timeout=timeout)
