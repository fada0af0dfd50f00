"""Shared fixtures. Reference data lives in ../shared beside the repository (always present in CI)."""

from __future__ import annotations

import os
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
