"""egs/kaldi_import/s5 end to end on compiled Kaldi's FSDD run (../shared/kaldi_ref/fsdd), scaled down.

A small "Kaldi recipe dir" is assembled in tmp the way a user's looks: data/{train,test} (a subset of
Kaldi's data dirs, wav.scp paths relative to the recipe dir, no spk2utt), data/lang, exp/tri1_ali and
exp/tri1/graph (links to Kaldi's), recordings/ (a link to the corpus). The recipe runs on it with tiny
networks; the tests check that Kaldi's own graph and alignments were used (byte-identical HCLG, no
graph built here, every utterance's alignment imported, hypotheses in Kaldi's words.txt), that WER
is computed against the reference text, that a rerun does nothing, and that inconsistent or missing
inputs stop stage 0 with an error naming the problem.
"""

from __future__ import annotations

import filecmp
import re
import subprocess
import sys
from pathlib import Path

import kaldiio
import numpy as np
import pytest

from conftest import REPO, recipe_copy, run_recipe, shared_path
from dgmm.data.audio import read_wav_entry

pytestmark = pytest.mark.slow

TRAIN_UTT = re.compile(r"^(george|lucas)_\d_[0-5]$")   # 2 speakers x 10 digits x 6 = 120 utterances
TEST_UTT = re.compile(r"^theo_\d_[0-2]$")              # 30 utterances, 3 per digit
DNN = "model: {type: dnn, hidden_layers: 2, hidden_dim: 128}\n" \
      "data: {cmvn_mode: speaker, cv_percent: 10, cv_by_speaker: false}\n" \
      "train: {lr: 0.02, max_epochs: 2, grad_clip: 5.0, left_context: 10, right_context: 5}\n"
DGMM = "model: {type: dgmm, bottleneck_dim: 24, num_components: 2, prior: online, var_floor: 0.5}\n" \
       "data: {cmvn_mode: speaker, cv_percent: 10, cv_by_speaker: false}\n" \
       "train: {lr: 0.004, max_epochs: 2, grad_clip: 5.0, freeze_variances_epochs: 1, left_context: 10, " \
       "right_context: 5}\n"


def subset_table(src: Path, dest: Path, keep) -> list[str]:
    lines = [ln for ln in src.read_text().splitlines() if keep(ln.split()[0])]
    dest.write_text("".join(ln + "\n" for ln in lines))
    return lines


def kaldi_recipe_dir(tmp: Path) -> Path:
    """A user's Kaldi recipe dir K made of Kaldi's FSDD outputs (links) and subsets of its data dirs."""
    ref = shared_path("kaldi_ref", "fsdd")
    recordings = shared_path("corpora", "fsdd", "recordings")
    k = tmp / "kaldi_s5"
    (k / "exp" / "tri1").mkdir(parents=True)
    (k / "data").mkdir()
    (k / "recordings").symlink_to(recordings)
    (k / "data" / "lang").symlink_to(ref / "data" / "lang")
    (k / "exp" / "tri1_ali").symlink_to(ref / "exp" / "tri1_ali")
    (k / "exp" / "tri1" / "graph").symlink_to(ref / "exp" / "tri1" / "graph")
    (k / "exp" / "mono").symlink_to(ref / "exp" / "mono")
    (k / "exp" / "mono_ali").symlink_to(ref / "exp" / "mono_ali")
    for name, pat in (("train", TRAIN_UTT), ("test", TEST_UTT)):
        (k / "data" / name).mkdir()
        for f in ("wav.scp", "text", "utt2spk"):
            subset_table(ref / "data" / name / f, k / "data" / name / f, pat.match)
    return k


def inputs(k: Path, graph: str = "exp/tri1/graph", ali: str = "exp/tri1_ali") -> list[str]:
    return ["--train-dir", str(k / "data/train"), "--test-dirs", str(k / "data/test"),
            "--lang-dir", str(k / "data/lang"), "--ali-dir", str(k / ali), "--graph-dir", str(k / graph)]


def wer_line(path: Path) -> re.Match:
    m = re.search(r"%WER ([\d.]+) \[ (\d+) / (\d+),", path.read_text())
    assert m, path.read_text()
    return m


def test_kaldi_import_end_to_end(tmp_path):
    k = kaldi_recipe_dir(tmp_path)
    ref = k / "exp" / "tri1" / "graph"
    s5 = recipe_copy(tmp_path, "kaldi_import")
    (tmp_path / "dnn.yaml").write_text(DNN)
    (tmp_path / "dgmm.yaml").write_text(DGMM)
    args = inputs(k) + [
        "--fbank-config", "conf/fbank_8k.conf",
        "--dnn-config", str(tmp_path / "dnn.yaml"), "--dgmm-config", str(tmp_path / "dgmm.yaml"),
        "--decode-opts", "--min-lmwt 10 --max-lmwt 12 --word-ins-penalty 0.0", "--nj", "2",
        "--kaldi-decode-dirs", f"test={shared_path('kaldi_ref', 'fsdd', 'exp', 'tri1', 'decode_test')}"]
    r = run_recipe(s5, *args, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    exp = s5 / "exp"

    # the user's dirs were copied, not linked or written into; audio paths resolved in K (the default)
    assert filecmp.cmp(exp / "graph" / "HCLG.fst", ref / "HCLG.fst", shallow=False)
    assert not (exp / "graph").is_symlink() and not (exp / "kaldi_ali_train" / "final.mdl").is_symlink()
    assert not (exp / "mkgraph").exists() and not list(exp.glob("*/log/mkgraph*"))
    first_wav = (s5 / "data" / "train" / "wav.scp").read_text().split()[1]
    assert first_wav == str(k.resolve() / "recordings" / "0_george_0.wav")

    # every training utterance's Kaldi alignment imported (the rest of Kaldi's 2500 are not in the subset)
    report = dict(ln.split(maxsplit=1) for ln in (exp / "ali_train" / "import_report.txt").read_text().splitlines()
                  if not ln.startswith(("missing-", "pdfs-")))
    assert report["utterances_imported"] == "120" and report["missing_in_alignments"] == "0"
    assert report["num_pdfs"] == (ref / "num_pdfs").read_text().strip() == "112"
    test_report = (exp / "ali_test" / "import_report.txt").read_text()
    assert "utterances_imported 30" in test_report and "missing_in_alignments 0" in test_report

    kaldi_words = {ln.split()[0] for ln in (ref / "words.txt").read_text().splitlines()}
    refs = dict(ln.split(maxsplit=1) for ln in (k / "data" / "test" / "text").read_text().splitlines())
    for system in ("dnn", "dgmm"):
        d = exp / system / "decode_test"
        # decoded with the copy of Kaldi's graph: the decode log names it
        assert "exp/graph/HCLG.fst" in "".join(p.read_text() for p in (d / "log").glob("decode.*.log"))
        # WER against the 30 reference words; recomputed from the best hypotheses
        m = wer_line(d / "scoring_kaldi" / "best_wer")
        assert m.group(3) == "30"
        best = re.search(r"wer_(\d+)_([\d.]+)", (d / "scoring_kaldi" / "best_wer").read_text())
        hyp_file = d / "scoring_kaldi" / f"penalty_{best.group(2)}" / f"{best.group(1)}.txt"
        hyps = dict((ln.split(maxsplit=1) + [""])[:2] for ln in hyp_file.read_text().splitlines())
        assert set(hyps) == set(refs)
        assert {w for h in hyps.values() for w in h.split()} <= kaldi_words
        errors = sum(hyps[u].split() != refs[u].split() for u in refs)   # one word per utterance
        assert int(m.group(2)) == errors
    assert float(wer_line(exp / "dgmm" / "decode_test" / "scoring_kaldi" / "best_wer").group(1)) < 80.0
    table = (exp / "RESULTS.test.md").read_text()
    assert "| dnn |" in table and "| dgmm |" in table and "GMM-HMM" not in table
    assert "Kaldi" in (exp / "wer_vs_kaldi.test.txt").read_text() and "2.20" in r.stdout

    # rerun: nothing is redone
    stamps = {p: p.stat().st_mtime_ns for p in [exp / "dgmm" / "final.pt", exp / "graph" / "HCLG.fst",
                                                 s5 / "data" / "fbank" / "test" / "feats.scp",
                                                 exp / "dnn" / "decode_test" / "scoring_kaldi" / "best_wer",
                                                 exp / "RESULTS.test.md"]}
    r2 = run_recipe(s5, *args)
    assert r2.returncode == 0, r2.stdout[-3000:] + r2.stderr[-3000:]
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    for tool in ("import_data_dir", "copy_ali_dir.sh", "align_si.sh", "import_ali.sh", "train_dnn.sh", "decode.sh"):
        assert tool + " " not in r2.stdout, tool

    # test-set alignments given (--kaldi-test-ali): copied and imported instead of aligned here
    user_test_ali = k / "exp" / "tri1_ali_test"
    user_test_ali.mkdir()
    for f in (exp / "gmm_ali_test").iterdir():   # made with Kaldi's tri1 model: same tree
        if f.is_file():
            (user_test_ali / f.name).write_bytes(f.read_bytes())
    r3 = run_recipe(s5, *args, "--kaldi-test-ali", f"test={user_test_ali}", "--stop-stage", "4")
    assert r3.returncode == 0, r3.stdout[-3000:] + r3.stderr[-3000:]
    assert filecmp.cmp(exp / "kaldi_ali_test" / "ali.1.gz", user_test_ali / "ali.1.gz", shallow=False)
    assert "align_si.sh" not in r3.stdout
    test_report = (exp / "ali_test" / "import_report.txt").read_text()
    assert "source exp/kaldi_ali_test" in test_report and "utterances_imported 30" in test_report

    # --kaldi-test-ali test=none (e.g. an LDA/SAT system): no test alignment, no test-set state accuracy
    for f in [exp / "RESULTS.test.md", *exp.glob("*/frame_accuracy.test")]:
        f.unlink()
    r4 = run_recipe(s5, *args, "--kaldi-test-ali", "test=none", "--stage", "9", "--stop-stage", "9")
    assert r4.returncode == 0, r4.stdout[-3000:] + r4.stderr[-3000:]
    assert not list(exp.glob("*/frame_accuracy.test"))
    rows = [line.split("|") for line in (exp / "RESULTS.test.md").read_text().splitlines() if "| dnn |" in line
            or "| dgmm |" in line]
    assert len(rows) == 2 and all(row[4].strip() == "-" and row[5].strip() != "-" for row in rows), rows


@pytest.mark.parametrize("case, expect", [
    ("mono_graph", r"num_pdfs is 67 but .*tri1_ali/final.mdl has 112 pdfs"),
    ("no_ali", r"--ali-dir .*exp/tri9_ali: no such file or directory"),
    ("no_recording", r"wav.scp: george_0_0: audio file .*0_george_0.wav not found .*--kaldi-dir"),
    ("no_options", r"--train-dir is required"),
    ("test_ali_other_tree", r"mono_ali/tree differs from .*tri1_ali/tree"),
    ("lda_system", r"tri2b_ali has final.mat \(LDA/MLLT or fMLLR features\).*--kaldi-test-ali"),
])
def test_kaldi_import_input_errors(tmp_path, case, expect):
    k = kaldi_recipe_dir(tmp_path)
    s5 = recipe_copy(tmp_path, "kaldi_import")
    lda = k / "exp" / "tri2b_ali"   # an LDA+MLLT system's alignment dir: the test set cannot be aligned here
    lda.mkdir()
    for f in (k / "exp" / "tri1_ali").iterdir():
        (lda / f.name).symlink_to(f)
    (lda / "final.mat").write_bytes(b"")
    args = {"mono_graph": inputs(k, graph="exp/mono/graph"), "no_ali": inputs(k, ali="exp/tri9_ali"),
            "no_recording": inputs(k) + ["--kaldi-dir", str(tmp_path)], "no_options": [],
            "test_ali_other_tree": inputs(k) + ["--kaldi-test-ali", f"test={k}/exp/mono_ali"],
            "lda_system": inputs(k, ali="exp/tri2b_ali")}[case]
    r = run_recipe(s5, *args, "--stop-stage", "2")
    assert r.returncode != 0
    assert re.search(expect, r.stdout + r.stderr), r.stdout[-2000:] + r.stderr[-2000:]
    if case == "no_options":   # the usage names every option of the configuration section
        opts = re.findall(r"^(\w+)=", (s5 / "run.sh").read_text().split("# End configuration")[0], re.M)
        for o in opts:
            assert "--" + o.replace("_", "-") in r.stderr, o
    assert not (s5 / "data" / "fbank").exists()   # stopped before any features were made


def test_import_data_dir_resolves_paths_in_kaldi_dir(tmp_path):
    """wav.scp files and pipes, feats.scp archives: usable from anywhere after the copy."""
    wav = shared_path("corpora", "fsdd", "recordings", "0_theo_0.wav")
    k = tmp_path / "kaldi_s5"
    src = k / "data" / "test"
    src.mkdir(parents=True)
    (k / "audio").mkdir()
    (k / "audio" / "a.wav").symlink_to(wav)
    (k / "mfcc").mkdir()
    feats = {u: np.full((3, 13), i, np.float32) for i, u in enumerate(("u1", "u2", "u3"))}
    kaldiio.save_ark(str(k / "mfcc" / "raw.ark"), feats, scp=str(src / "feats.scp"))
    # as Kaldi's make_mfcc.sh would have written it from K with a relative --mfcc-dir
    scp = (src / "feats.scp").read_text().replace(str(k) + "/", "")
    (src / "feats.scp").write_text(scp)
    (src / "wav.scp").write_text(f"u1 audio/a.wav\nu2 cat audio/a.wav |\nu3 {wav}\n")
    (src / "text").write_text("u1 zero\nu2 zero\nu3 zero\n")
    (src / "utt2spk").write_text("u1 s\nu2 s\nu3 s\n")
    recipe = REPO / "egs" / "kaldi_import" / "s5" / "local" / "import_data_dir.py"
    dest = tmp_path / "s5" / "data" / "test"
    r = subprocess.run([sys.executable, str(recipe), "--kaldi-dir", str(k), str(src), str(dest)],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    table = dict(ln.split(maxsplit=1) for ln in (dest / "wav.scp").read_text().splitlines())
    assert table == {"u1": f"{k}/audio/a.wav", "u2": f"cd {k} && cat audio/a.wav |", "u3": str(wav)}
    ref, rate = read_wav_entry(str(wav), "u3")
    for u, spec in table.items():   # read from another dir than K
        x, r8k = read_wav_entry(spec, u, cwd=tmp_path)
        assert r8k == rate == 8000 and np.array_equal(x, ref)
    assert (dest / "spk2utt").read_text() == "s u1 u2 u3\n"
    got = kaldiio.load_scp(str(dest / "feats.scp"))
    assert all(np.array_equal(got[u], feats[u]) for u in feats)
    # an archive that is gone: feats.scp left out, not copied broken
    (k / "mfcc" / "raw.ark").unlink()
    r = subprocess.run([sys.executable, str(recipe), "--kaldi-dir", str(k), str(src), str(dest)],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert not (dest / "feats.scp").exists() and "does not exist" in r.stderr
