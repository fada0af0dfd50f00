"""utils/parse_options.sh: Kaldi's option semantics, exercised through a small script."""

from __future__ import annotations

import subprocess

import pytest

from conftest import REPO

SCRIPT = """#!/usr/bin/env bash
nj=4                 # jobs
use_gpu=false        # boolean
fbank_config=conf/fbank.conf
help_message="Usage: $0 [options] <data> <dir>
e.g.: $0 --nj 2 data/train exp/x"
. {repo}/utils/parse_options.sh || exit 1
echo "nj=$nj use_gpu=$use_gpu fbank_config=$fbank_config args=$#:$*"
"""


@pytest.fixture
def script(tmp_path):
    p = tmp_path / "s.sh"
    p.write_text(SCRIPT.format(repo=REPO))
    p.chmod(0o755)
    return p


def run(script, *args):
    return subprocess.run([str(script), *args], capture_output=True, text=True, cwd=script.parent)


def test_space_and_equals_forms(script):
    r = run(script, "--nj", "8", "--use-gpu=true", "--fbank-config", "a b.conf", "data", "exp")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "nj=8 use_gpu=true fbank_config=a b.conf args=2:data exp\n"


def test_parsing_stops_at_first_positional_and_after_double_dash(script):
    assert run(script, "x", "--nj", "3").stdout == "nj=4 use_gpu=false fbank_config=conf/fbank.conf args=3:x --nj 3\n"
    assert run(script, "--", "--nj").stdout.endswith("args=1:--nj\n")


@pytest.mark.parametrize("args, message", [
    (["--no-such", "1", "a"], "invalid option --no-such"),
    (["--use-gpu", "yes", "a"], 'expected "true" or "false" for --use-gpu'),
    (["--nj"], "option --nj needs a value"),
    (["--config", "missing.conf", "a"], "config file 'missing.conf' not found"),
])
def test_errors_print_usage(script, args, message):
    r = run(script, *args)
    assert r.returncode == 1 and message in r.stderr
    if "--config" not in args:
        assert "Usage:" in r.stderr and "e.g.:" in r.stderr


def test_config_file_has_lower_priority_than_command_line(script):
    (script.parent / "my.conf").write_text("nj=9\nuse_gpu=true\n")
    r = run(script, "--nj", "2", "--config", "my.conf", "a")
    assert r.stdout == "nj=2 use_gpu=true fbank_config=conf/fbank.conf args=1:a\n"


def test_help(script):
    r = run(script, "--help")
    assert r.returncode == 0 and r.stdout.startswith("Usage:")
