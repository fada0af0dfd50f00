"""The build cache of the fused GMM kernels (dgmm/models/gmm_kernels.py): a cached library that does
not load is rebuilt, an unwritable cache falls back to a private temporary directory, a cache hit
starts no process (and a changed compiler still changes the key), a compiler that rejects
target_clones gets a baseline build, and a build removes the directories of killed builds (only).
Each test builds the small C library (about 1 s) under tmp_path."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import time

import pytest
import torch

from dgmm.models import gmm_kernels

_CC = shutil.which("cc") or shutil.which("gcc")


@pytest.fixture
def load(monkeypatch, tmp_path):
    """gmm_kernels.load() as in a fresh process, caching in tmp_path/cache (temporary directory:
    tmp_path/tmp)."""
    if not _CC:
        pytest.skip("no C compiler (cc, gcc)")
    monkeypatch.delenv("DGMM_GMM_KERNELS", raising=False)
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path / "cache"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.setattr(gmm_kernels, "_lib", None)

    def fresh_load():
        monkeypatch.setattr(gmm_kernels, "_tried", False)
        return gmm_kernels.load()
    return fresh_load


def _assert_works(lib):
    """The library computes (1/Sigma = exp(-Sigma') through gmm_fill)."""
    assert lib is not None, "the fused kernels did not load"
    lv = torch.tensor([0.5, -1.0, 2.0])
    iv, m_iv = torch.empty(1, 3), torch.empty(1, 3)
    gmm_kernels.fill(lib, torch.zeros(1, 1, 3), lv.view(1, 1, 3), None, torch.zeros(3), None, iv, m_iv, None, None)
    assert torch.allclose(iv[0], torch.exp(-lv))


def _wrapper(path, body: str) -> str:
    """An executable shell script around the real compiler; body runs first ($@: its arguments)."""
    path.write_text(f'#!/bin/sh\n{body}\nexec {_CC} "$@"\n')
    path.chmod(0o755)
    return str(path)


def test_corrupt_cached_library_is_rebuilt(load, monkeypatch, tmp_path, caplog):
    _assert_works(load())
    (built,) = (tmp_path / "cache" / "dgmm_gmm_kernels").glob("*.so")
    # the same file in two more caches (paths this process never loaded): garbage, and cut in half as
    # by a killed copy (dlopen would die of SIGBUS: the file must be recognised first)
    for cache, data in (("garbage", b"not a library"), ("cut", built.read_bytes()[:built.stat().st_size // 2])):
        bad = tmp_path / cache / "dgmm_gmm_kernels" / built.name
        bad.parent.mkdir(parents=True)
        bad.write_bytes(data)
        assert gmm_kernels._cut_short(str(bad)) == (cache == "cut")
        monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path / cache))
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            lib = load()
        assert f"{bad} do not load" in caplog.text and "rebuilding" in caplog.text
        _assert_works(lib)
        assert bad.stat().st_size > len(data) and not gmm_kernels._cut_short(str(bad))


def test_unwritable_cache_uses_a_private_temporary_dir(load, monkeypatch, tmp_path, caplog):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    if os.access(ro, os.W_OK):  # root: chmod does not stop writes, a file in the cache dir's place does
        (ro / "dgmm_gmm_kernels").write_text("")
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(ro))
    private = tmp_path / "tmp" / f"dgmm_gmm_kernels_{os.getuid()}"
    private.mkdir(mode=0o700)
    private.chmod(0o777)  # others could plant a library there: refused
    with caplog.at_level(logging.WARNING):
        assert load() is None
    assert "not private to this user" in caplog.text and str(ro) in caplog.text
    private.chmod(0o700)
    _assert_works(load())
    assert len(list(private.glob("gmm_kernels_*.so"))) == 1
    assert not list(ro.glob("*/*.so"))


def test_build_removes_killed_builds_directories_only(load, tmp_path):
    cache = tmp_path / "cache" / "dgmm_gmm_kernels"
    now = time.time()
    dirs = {}
    for name, age in (("tmpkilled", 2 * 3600), ("tmplive", 20 * 60)):  # a live build's is under 10 min old
        dirs[name] = cache / name
        (dirs[name] / "sub").mkdir(parents=True)
        (dirs[name] / "sub" / "gmm_kernels.c").write_text("")
        for p in (dirs[name] / "sub", dirs[name]):
            os.utime(p, (now - age, now - age))
    _assert_works(load())
    assert not dirs["tmpkilled"].exists()
    assert (dirs["tmplive"] / "sub" / "gmm_kernels.c").exists()
    assert {p.name for p in cache.iterdir() if p.suffix != ".so"} == {"tmplive"}  # no temporary left


def test_cache_hit_starts_no_process(load, monkeypatch, tmp_path):
    cc = _wrapper(tmp_path / "mycc", "")
    monkeypatch.setenv("CC", cc)
    _assert_works(load())

    def no_process(args, **kwargs):
        raise AssertionError(f"started {args}")
    monkeypatch.setattr(subprocess, "run", no_process)
    _assert_works(load())
    # an updated compiler is a new key: a build (here refused) instead of the cached library
    st = os.stat(cc)
    os.utime(cc, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert load() is None


@pytest.mark.skipif(gmm_kernels._source() == gmm_kernels._SOURCE, reason="target_clones only on x86-64 Linux")
def test_compiler_without_target_clones_gets_a_baseline_build(load, monkeypatch, tmp_path, caplog):
    seen = tmp_path / "seen"
    monkeypatch.setenv("CC", _wrapper(tmp_path / "oldcc", f"""for a; do
  case "$a" in *.c)
    if grep -q target_clones "$a"; then echo clones >> {seen}; echo "error: target_clones unsupported" >&2; exit 1; fi
    echo plain >> {seen};;
  esac
done"""))
    with caplog.at_level(logging.WARNING):
        lib = load()
    assert "target_clones unsupported" in caplog.text
    _assert_works(lib)
    assert seen.read_text().split() == ["clones", "plain"]
