"""egs/digits/s5 (the `make demo` recipe) end to end on a scaled-down synthetic corpus (issue 8).

The recipe synthesises its own corpus with espeak-ng, so this runs without ../shared. A small corpus
(12 training speakers, 4 test speakers) and networks trained for a few epochs must still recognise
the digit strings far better than chance: the digit-loop grammar leaves every word equally likely, so
a system that has learnt nothing makes ~90% substitutions plus insertions/deletions. Then a rerun
of the finished recipe must change nothing.
"""

from __future__ import annotations

import importlib.util
import re
import shutil

import pytest
import yaml

from conftest import REPO, recipe_copy, run_recipe

pytestmark = pytest.mark.slow

SMALL = ["--num-train-speakers", "12", "--num-test-speakers", "4", "--utts-per-speaker", "12",
         "--mono-opts", "--totgauss 300", "--tri", "100 800"]


def wer(path) -> float:
    return float(re.search(r"%WER ([\d.]+)", path.read_text()).group(1))


def snapshot(root):
    return {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file() and "log" not in p.parts}


def small_configs(s5):
    """The recipe's own network configs with fewer epochs: conf/{dnn,dgmm}_test.yaml."""
    for name, epochs in (("dnn", 4), ("dgmm", 3)):
        cfg = yaml.safe_load((s5 / "conf" / f"{name}.yaml").read_text())
        cfg["train"]["max_epochs"] = epochs
        (s5 / "conf" / f"{name}_test.yaml").write_text(yaml.safe_dump(cfg))
    return ["--dnn-config", "conf/dnn_test.yaml", "--dgmm-config", "conf/dgmm_test.yaml"]


def test_digits_end_to_end_and_rerun(tmp_path):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed (utils/setup_env.sh installs it)")
    s5 = recipe_copy(tmp_path, "digits")
    args = SMALL + small_configs(s5)
    r = run_recipe(s5, *args)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for n in range(10):
        assert f"Stage {n}:" in r.stdout, n

    train_spk, test_spk = ({line.split()[0] for line in (s5 / "data" / x / "spk2utt").read_text().splitlines()}
                           for x in ("train", "test"))
    assert len(train_spk) == 12 and len(test_spk) == 4 and not train_spk & test_spk   # speaker-disjoint
    assert len((s5 / "data" / "test" / "text").read_text().splitlines()) == 4 * 12

    exp = s5 / "exp"
    wers = {name: wer(d / "scoring_kaldi" / "best_wer") for name, d in
            (("gmm", exp / "gmm_decode_test"), ("dnn", exp / "dnn" / "decode_test"),
             ("dgmm", exp / "dgmm" / "decode_test"))}
    assert max(wers.values()) < 25.0, wers     # chance is ~90%: every system has learnt the digits
    table = r.stdout[r.stdout.index("| system |"):]
    assert "| dnn |" in table and "| dgmm |" in table and "GMM-HMM" in table

    before = snapshot(s5 / "exp") | snapshot(s5 / "data")
    again = run_recipe(s5, *args)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "synth_digits.py" not in again.stdout
    assert snapshot(s5 / "exp") | snapshot(s5 / "data") == before    # a finished recipe redoes nothing


@pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")), reason="needs espeak-ng and sox")
def test_synthesis_is_repeatable():
    """The same utterance twice gives the same samples (sox dithers its 16-bit output with a clock seed
    unless in repeatable mode: every demo run made another corpus, tree and WER)."""
    spec = importlib.util.spec_from_file_location("synth_digits", REPO / "egs/digits/s5/local/synth_digits.py")
    synth = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(synth)
    a, b = (synth.synthesise("one two three", "en+m1", 160, 50, 2, 16000) for _ in range(2))
    assert len(a) > 8000 and (a == b).all()
