"""Temporaries of a SIGKILLed writer: a forked process starts writing (a text file, a Kaldi ark+scp,
a training checkpoint, a directory built beside its destination as mkgraph/prepare_lang do) and
SIGKILLs itself mid-write. Its ``.name.tmp<pid>@host`` files stay behind; the rerun of the same
writer removes them and writes the complete output. Temporaries of live processes or of other
hosts (a shared filesystem) are left alone. The file a recipe takes as "stage done" is renamed into
place last. Kills of whole recipes are tests/reliability/test_rel_kill.py."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import torch

from conftest import shared_path
from dgmm.fileutil import atomic_open, remove_stale_temps, temp_dir_for, tmp_name
from dgmm.kaldi.archive import ArchiveWriter
from dgmm.train.checkpoint import load_checkpoint, save_checkpoint

FEATS = {"u1": np.arange(6, dtype=np.float32).reshape(3, 2), "u2": np.ones((2, 2), np.float32)}


def _die():
    os.kill(os.getpid(), signal.SIGKILL)


class _DieWhenPickled:
    """Pickling this (inside torch.save, the zip file half-written) kills the process."""

    def __reduce__(self):
        _die()


def killed_mid_write(write) -> int:
    """Run ``write()`` in a forked process that SIGKILLs itself inside it; returns the dead pid."""
    pid = os.fork()
    if pid == 0:
        try:
            write()
        finally:
            os._exit(3)    # not reached when the kill came; never return into pytest in the child
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
    return pid


def debris(d):
    return sorted(p.name for p in d.iterdir() if p.name.startswith("."))


def _write_text(path):
    with atomic_open(path) as f:
        f.write("first half\n")
        f.flush()
        _die()


def _write_archive(d):
    with ArchiveWriter(d / "feats.ark", d / "feats.scp") as w:
        w["u1"] = FEATS["u1"]
        w._writer.fark.flush()
        _die()


def test_killed_writers_leave_temporaries_that_the_rerun_removes(tmp_path):
    (tmp_path / "text").write_text("old\n")
    killed = [killed_mid_write(lambda: _write_text(tmp_path / "text")),
              killed_mid_write(lambda: _write_archive(tmp_path)),
              killed_mid_write(lambda: save_checkpoint(tmp_path / "checkpoint.pt",
                                                       {"w": torch.ones(1000), "x": _DieWhenPickled()}))]
    left = debris(tmp_path)
    assert len(left) == 4 and all(any(f"{pid}@" in n for n in left) for pid in killed), left
    assert (tmp_path / "text").read_text() == "old\n"         # the old output untouched

    with atomic_open(tmp_path / "text") as f:                   # the reruns
        f.write("complete\n")
    with ArchiveWriter(tmp_path / "feats.ark", tmp_path / "feats.scp") as w:
        for k, v in FEATS.items():
            w[k] = v
    save_checkpoint(tmp_path / "checkpoint.pt", {"w": torch.ones(1000)})

    assert debris(tmp_path) == []
    assert (tmp_path / "text").read_text() == "complete\n"
    got = kaldiio.load_scp(str(tmp_path / "feats.scp"))
    assert list(got) == list(FEATS) and all(np.array_equal(got[k], v) for k, v in FEATS.items())
    assert torch.equal(load_checkpoint(tmp_path / "checkpoint.pt")["w"], torch.ones(1000))


def test_killed_directory_build_is_removed_by_the_next_one(tmp_path):
    def build():
        (temp_dir_for(tmp_path / "graph") / "HCLG.fst").write_bytes(b"half")
        _die()
    pid = killed_mid_write(build)
    assert debris(tmp_path) == [f".graph.tmp{pid}@{socket.gethostname()}"]
    d = temp_dir_for(tmp_path / "graph")
    assert debris(tmp_path) == [d.name] and not any(d.iterdir())


def test_temporaries_of_live_writers_and_other_hosts_are_kept(tmp_path):
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        live = tmp_path / f".text.tmp{sleeper.pid}@{socket.gethostname()}"
        other_host = tmp_path / ".text.tmp1@some-other-host"
        other_file = tmp_path / f".text2.tmp{2 ** 22 + 1}@{socket.gethostname()}"   # another output's
        for p in (live, other_host, other_file):
            p.write_text("in progress\n")
        assert remove_stale_temps(tmp_path / "text") == []
        with atomic_open(tmp_path / "text") as f:
            f.write("x\n")
        assert {p.name for p in tmp_path.iterdir()} == {"text", live.name, other_host.name, other_file.name}
    finally:
        sleeper.kill()
        sleeper.wait()
    assert remove_stale_temps(tmp_path / "text") == [live]      # now its writer is dead
    assert tmp_name(tmp_path / "text").name == f".text.tmp{os.getpid()}@{socket.gethostname()}"


def _gmm_exp_dir(tmp_path):
    from dgmm.gmm.expdir import read_ali_dir, write_exp_dir
    from dgmm.kaldi.gmm_model import read_gmm_model

    mono = shared_path("kaldi_ref", "yesno", "exp", "mono0a")
    alis = read_ali_dir(mono)
    write_exp_dir(tmp_path, read_gmm_model(mono / "final.mdl"), (mono / "tree").read_bytes(), alis,
                  [sorted(alis)], None, "", shared_path("kaldi_ref", "yesno", "data", "lang"))


def _import_ali(tmp_path):
    from dgmm.bin import import_ali
    from dgmm.gmm.expdir import read_ali_dir

    ali = shared_path("kaldi_ref", "yesno", "exp", "mono0a_ali")
    (tmp_path / "data").mkdir()
    (tmp_path / "data/utt2num_frames").write_text(
        "".join(f"{u} {len(a)}\n" for u, a in sorted(read_ali_dir(ali).items())))
    lang = shared_path("kaldi_ref", "yesno", "data", "lang")
    assert import_ali.main(["--lang", str(lang), str(ali), str(tmp_path / "data"), str(tmp_path / "out")]) == 0


def _mkgraph(tmp_path):
    from dgmm.graph.mkgraph import mkgraph

    ref = shared_path("kaldi_ref", "yesno")
    mkgraph(ref / "data/lang", ref / "exp/mono0a", tmp_path / "graph")


def _train(tmp_path):
    from test_rel_nan_backoff import _trainer

    _trainer(tmp_path, max_epochs=1)[0].run()


def _score(tmp_path):
    from dgmm.bin import score
    from dgmm.scoring.sclite import find_sclite
    from test_score import _onebest_from_kaldi

    if find_sclite() is None:
        pytest.skip("sclite not installed")
    mono = shared_path("kaldi_ref", "fsdd/exp/mono")
    _onebest_from_kaldi(mono / "decode_test", mono / "graph/words.txt", tmp_path / "decode")
    (tmp_path / "data").mkdir()
    shutil.copy(mono / "decode_test/scoring_kaldi/test_filt.txt", tmp_path / "data/text")
    assert score.main(["--sclite", "true", str(tmp_path / "data"), str(mono / "graph"), str(tmp_path / "decode")]) == 0


@pytest.mark.parametrize("write, done, others", [
    (_gmm_exp_dir, "final.mdl", {"tree", "ali.1.gz", "num_jobs"}),                     # train_mono/deltas
    (_import_ali, "pdf_ali.scp", {"num_pdfs", "pdf_counts", "final.mdl", "import_report.txt", "pdf_ali.ark"}),
    (_mkgraph, "HCLG.fst", {"words.txt", "phones.txt", "num_pdfs", "disambig_tid.int"}),
    (_train, "final.pt", {"best.pt", "checkpoint.pt"}),
    (_score, "best_wer", {"wer_10_0.0", "ref.trn"})],
    ids=["gmm-dir", "import", "graph", "training", "scoring"])
def test_the_stage_done_file_is_renamed_into_place_last(tmp_path, monkeypatch, write, done, others):
    """The recipes take one file as "this stage is done" (utils/uptodate.sh in the pipeline): it must
    be the last one renamed into place, so that a kill before it makes the rerun redo the stage
    instead of a later stage reading a missing or stale file beside it."""
    renamed, replace = [], os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (renamed.append(Path(b).name), replace(a, b)))
    write(tmp_path)
    assert renamed[-1] == done and others <= set(renamed), renamed
