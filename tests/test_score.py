"""Scoring against Kaldi's compute-wer / score_kaldi_wer.sh outputs and NIST sclite."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dgmm.kaldi.symbols import read_symbol_table
from dgmm.scoring.sclite import find_sclite, run_sclite, write_trn
from dgmm.scoring.score import score_dir
from dgmm.scoring.wer import edit_counts, read_transcripts, score
from tests.conftest import shared_path

ML_DEV = "mini_librispeech/exp/tri2b/decode_tg_dev"


def wer_lines(path: Path) -> list[str]:
    return [line.rstrip() for line in open(path) if line.startswith(("%WER", "%SER", "Scored"))]


@pytest.mark.parametrize("name", ["yesno/golden_decode", "fsdd/golden_decode_mono", "fsdd/golden_decode_tri1"])
def test_report_equals_compute_wer(name):
    g = shared_path("kaldi_ref", name)
    ours = score(read_transcripts(g / "text"), read_transcripts(g / "hyp.txt")).report().splitlines()
    assert ours == wer_lines(g / "compute-wer.txt")


def test_ins_del_sub_split_equals_compute_wer_on_long_utterances():
    """Mini LibriSpeech dev (79 long utterances, 1313 errors of all kinds): Kaldi's exact split."""
    d = shared_path("kaldi_ref", ML_DEV)
    (hyp,) = (d / "scoring_kaldi").glob("best_hyp_lmwt8_wip1.0.txt")
    c = score(read_transcripts(d / "scoring_kaldi/test_filt.txt"), read_transcripts(hyp))
    assert c.report().splitlines() == wer_lines(d / "wer_8_1.0")


def test_edit_counts_small_cases():
    assert edit_counts([], []) == (0, 0, 0)
    assert edit_counts(["a"], []) == (0, 1, 0)
    assert edit_counts([], ["a", "b"]) == (2, 0, 0)
    assert edit_counts(list("abc"), list("axc")) == (0, 0, 1)
    assert sum(edit_counts(list("kitten"), list("sitting"))) == 3


def test_builtin_equals_sclite(tmp_path):
    """Same hyp/ref: sclite and the built-in scorer agree on errors, words and sentence errors."""
    sclite = find_sclite()
    if sclite is None:
        pytest.skip("sclite not installed")
    d = shared_path("kaldi_ref", ML_DEV)
    refs = read_transcripts(d / "scoring_kaldi/test_filt.txt")
    hyps = read_transcripts(next((d / "scoring_kaldi").glob("best_hyp_*.txt")))
    write_trn(tmp_path / "ref.trn", refs)
    write_trn(tmp_path / "hyp.trn", hyps)
    tot = run_sclite(tmp_path / "ref.trn", tmp_path / "hyp.trn", tmp_path, "hyp", sclite)
    c = score(refs, hyps)
    assert (tot["errors"], tot["words"], tot["sents"], tot["sent_errors"]) == (c.errors, c.words, c.sents, c.sent_err)
    for ext in ("sys", "pra", "dtl"):
        assert (tmp_path / f"hyp.{ext}").is_file()


def _onebest_from_kaldi(recipe: Path, words_txt: Path, out: Path) -> None:
    """Kaldi's scoring_kaldi/penalty_W/L.txt (words) -> our onebest/L_W.1.int (word ids)."""
    ids = read_symbol_table(words_txt).sym2id
    (out / "onebest").mkdir(parents=True)
    for f in (recipe / "scoring_kaldi").glob("penalty_*/*.txt"):
        wip, lmwt = f.parent.name[len("penalty_"):], f.stem
        with open(f) as src, open(out / "onebest" / f"{lmwt}_{wip}.1.int", "w") as dst:
            for line in src:
                u, *ws = line.split()
                dst.write(" ".join([u, *(str(ids[w]) for w in ws)]) + "\n")


def test_score_dir_reproduces_kaldi_scoring_and_dev_choice(tmp_path):
    """wer_L_W and best_wer from Kaldi's own 1-best texts equal score_kaldi_wer.sh's files; with a dev
    decode dir the setting comes from the dev set's best_wer."""
    mono = shared_path("kaldi_ref", "fsdd/exp/mono/decode_test")
    tri1 = shared_path("kaldi_ref", "fsdd/exp/tri1/decode_test")
    words_txt = shared_path("kaldi_ref", "fsdd/exp/mono/graph/words.txt")
    text = mono / "scoring_kaldi/test_filt.txt"
    words = read_symbol_table(words_txt)
    lmwts, wips = list(range(7, 18)), ["0.0", "0.5", "1.0"]
    for recipe in (mono, tri1):
        out = tmp_path / recipe.parent.name
        _onebest_from_kaldi(recipe, words_txt, out)
        score_dir(out, text, words, lmwts, wips)
        for f in recipe.glob("wer_*_*"):
            assert wer_lines(out / f.name) == wer_lines(f), f
        ours, theirs = (out / "scoring_kaldi/best_wer").read_text().split(), (recipe / "scoring_kaldi/best_wer").read_text().split()
        assert ours[:-1] == theirs[:-1] and Path(ours[-1]).name == Path(theirs[-1]).name
    # choose on "dev" = tri1 (best wer_14_0.0), apply to mono
    chosen, res = score_dir(tmp_path / "mono", text, words, lmwts, wips, dev_decode_dir=tmp_path / "tri1")
    assert chosen.name == "14_0.0"
    line = (tmp_path / "mono/scoring_kaldi/best_wer").read_text()
    assert line.startswith(res["14_0.0"].wer_line()) and line.rstrip().endswith("wer_14_0.0")
    assert (tmp_path / "mono/scoring_kaldi/best_wer_tuned_on_self").read_text().rstrip().endswith("wer_17_0.0")


def test_best_wer_sh_picks_kaldis_line():
    import subprocess

    from tests.conftest import REPO
    for sysdir in ("fsdd/exp/mono/decode_test", "fsdd/exp/tri1/decode_test", ML_DEV):
        d = shared_path("kaldi_ref", sysdir)
        lines = "".join(f"{f}:{line}" for f in sorted(d.glob("wer_*_*")) for line in open(f) if "WER" in line)
        out = subprocess.run(["bash", str(REPO / "utils/best_wer.sh")], input=lines, capture_output=True,
                             text=True, check=True).stdout.split()
        kaldi = (d / "scoring_kaldi/best_wer").read_text().split()
        assert out[:-1] == kaldi[:-1] and Path(out[-1]).name == Path(kaldi[-1]).name
