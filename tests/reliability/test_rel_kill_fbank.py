"""Kill -9 of steps/make_fbank_cmvn.sh after its features are merged but before ``.done``: the rerun
must give the data dir of one uninterrupted run. The killed run's ``utt2num_frames`` / ``utt2dur``
are still in the data dir then (``copy_data_dir.sh`` does not overwrite them: the source has none);
make_fbank.sh used to split them into ``split<N>utt/`` before recomputing them, so the rerun's job
dirs held tables an uninterrupted run's never have (the flaky ``test_rel_kill[2]``, whose random kill
in "features" can land in compute_cmvn_stats under load). The whole recipe is test_rel_kill.py."""

from __future__ import annotations

import subprocess
import time

from test_rel_kill import TEMP, group_commands, kill_group, snapshot
from conftest import REPO
from yesno_stages import env, raw_data_dir, sh

UTTS = ["0_0_0_0_1_1_1_1", "0_0_1_0_0_0_1_0"]


def _make(root, **popen):
    args = ["steps/make_fbank_cmvn.sh", "--nj", "1", "--fbank-config", REPO / "egs/yesno/s5/conf/fbank.conf",
            root / "src", root / "data", root / "log", root / "fbank"]
    if not popen:
        return sh(*args)
    return subprocess.Popen(["bash", *map(str, args)], cwd=REPO, env=env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **popen)


def test_rerun_after_kill_between_features_and_done_equals_one_run(tmp_path):
    ref, work = tmp_path / "a", tmp_path / "b"    # same path length: feats.scp holds absolute paths
    for root in (ref, work):
        raw_data_dir(root / "src", UTTS)
    _make(ref)
    p = _make(work, text=True)
    while p.poll() is None and not any("dgmm.bin.compute_cmvn_stats" in c
                                       for c in group_commands(p.pid).values()):
        time.sleep(0.01)
    assert p.poll() is None, "make_fbank_cmvn.sh ended before compute_cmvn_stats could be killed"
    kill_group(p)
    assert (work / "data/utt2num_frames").exists() and not (work / "data/.done").exists()
    _make(work)
    got, want = snapshot(work), {k: v.replace(str(ref).encode(), str(work).encode())
                                      for k, v in snapshot(ref).items()}
    assert sorted(got) == sorted(want)
    assert [k for k in want if got[k] != want[k]] == []
    assert not [f for f in work.rglob("*") if TEMP.search(f.name)]
