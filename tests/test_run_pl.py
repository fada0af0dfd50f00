"""utils/run.pl: parallel jobs, per-job logs, exit status naming failed logs."""

from __future__ import annotations

import re
import subprocess

from conftest import REPO

RUN_PL = str(REPO / "utils" / "run.pl")


def run(tmp_path, *args):
    return subprocess.run([RUN_PL, *args], capture_output=True, text=True, cwd=tmp_path)


def test_job_array_logs(tmp_path):
    r = run(tmp_path, "JOB=1:3", "log/x.JOB.log", "echo", "job", "JOB", "of", "JOBS")
    assert r.returncode == 0, r.stderr
    for n in (1, 2, 3):
        lines = (tmp_path / "log" / f"x.{n}.log").read_text().splitlines()
        assert lines[0] == f"# echo job {n} of JOBS "           # the command line, JOB replaced
        assert lines[1].startswith("# Started at ")
        assert f"job {n} of JOBS" in lines
        assert re.fullmatch(r"# Ended \(code 0\) at .*, elapsed time \d+ seconds", lines[-1])


def test_failures_give_nonzero_exit_and_name_logs(tmp_path):
    r = run(tmp_path, "JOB=1:4", "log/y.JOB.log", "[", "JOB", "-ne", "2", "]", "&&", "[", "JOB", "-ne", "4", "]")
    assert r.returncode == 1
    assert "2 / 4 failed" in r.stderr and "log/y.2.log" in r.stderr and "log/y.4.log" in r.stderr
    assert "log/y.1.log" not in r.stderr.split("failed:")[1]
    assert (tmp_path / "log" / "y.2.log").read_text().splitlines()[-1].startswith("# Ended (code 1)")


def test_single_job_and_escaped_pipe(tmp_path):
    # a shell user writes \| ; run.pl receives "|" as a single word and passes it through as a pipe
    r = run(tmp_path, "log/z.log", "echo", "a b", "|", "tr", "a-z", "A-Z")
    assert r.returncode == 0, r.stderr
    assert "A B" in (tmp_path / "log" / "z.log").read_text().splitlines()
    bad = run(tmp_path, "log/f.log", "exit", "3")
    assert bad.returncode == 1 and "log/f.log" in bad.stderr
    assert "# Ended (code 3)" in (tmp_path / "log" / "f.log").read_text()


def test_max_jobs_run_serialises(tmp_path):
    # Each job appends "start n" then "end n"; with one slot the records cannot interleave.
    cmd = "echo start JOB >> trace; sleep 0.1; echo end JOB >> trace"
    r = run(tmp_path, "--max-jobs-run", "1", "JOB=1:3", "log/s.JOB.log", "bash", "-c", cmd)
    assert r.returncode == 0, r.stderr
    trace = (tmp_path / "trace").read_text().split("\n")[:-1]
    assert trace == ["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]


def test_usage_errors(tmp_path):
    assert run(tmp_path, "JOB=3:1", "log/a.JOB.log", "true").returncode == 1
    shared = run(tmp_path, "JOB=1:2", "log/one.log", "true")
    assert shared.returncode == 1 and "put JOB in its name" in shared.stderr
    r = run(tmp_path, "log/only.log")
    assert r.returncode == 1 and "Usage" in r.stderr
