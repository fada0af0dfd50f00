"""steps/import_ali.sh / dgmm.bin.import_ali against Kaldi's own ali-to-pdf and ali-to-phones output."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from pathlib import Path

import kaldiio
import numpy as np
import pytest

from dgmm.cli import DgmmError
from dgmm.bin.import_ali import import_alignments
from dgmm.kaldi.alignments import read_int_vectors
from dgmm.kaldi.archive import ArchiveWriter, read_vector

REPO = Path(__file__).resolve().parents[1]

# (exp dir with ali.*.gz, lang dir with phones.txt, the model dir when the ali dir's final.mdl is a stub)
EXPS = [
    ("yesno/exp/mono0a", "yesno/data/lang", None),
    ("yesno/exp/mono0a_ali", "yesno/data/lang", None),
    ("fsdd/exp/mono", "fsdd/data/lang", None),
    ("fsdd/exp/mono_ali", "fsdd/data/lang", None),
    ("fsdd/exp/tri1", "fsdd/data/lang", None),
    ("fsdd/exp/tri1_ali", "fsdd/data/lang", None),
    ("mini_librispeech/exp/tri2b_ali_train", "mini_librispeech/data/lang", "mini_librispeech/exp/tri2b"),
    ("mini_librispeech/exp/tri2b_ali_dev", "mini_librispeech/data/lang", "mini_librispeech/exp/tri2b"),
    ("mini_librispeech/exp/tri2b_ali_test", "mini_librispeech/data/lang", "mini_librispeech/exp/tri2b"),
]


def read_text_table(path: Path) -> dict[str, np.ndarray]:
    """A Kaldi text archive of integer vectors (``ark,t:``), plain or gzipped, parsed independently."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        return {k: np.array(v, dtype=np.int64) for k, *v in (line.split() for line in f if line.strip())}


def reference(exp: Path, name: str) -> dict[str, np.ndarray]:
    p = exp / f"{name}.txt"
    return read_text_table(p if p.exists() else exp / f"{name}.txt.gz")


def ali_dir_copy(kaldi_ref: Path, exp: str, model_dir: str | None, dest: Path) -> Path:
    """The ali dir as links; where the stored final.mdl is a link stub, link the real model."""
    dest.mkdir(parents=True)
    for f in (kaldi_ref / exp).iterdir():
        if f.name.startswith("ali.") or f.name in ("tree", "num_jobs", "final.mdl"):
            (dest / f.name).symlink_to(f)
    if model_dir:
        (dest / "final.mdl").unlink()
        (dest / "final.mdl").symlink_to(kaldi_ref / model_dir / "final.mdl")
    return dest


def data_dir(path: Path, lengths: dict[str, int]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "utt2num_frames").write_text("".join(f"{u} {n}\n" for u, n in sorted(lengths.items())))
    return path


def load_scp(path: Path) -> dict[str, np.ndarray]:
    """Read our output with kaldiio (an independent reader of Kaldi int-vector archives)."""
    return {k: np.asarray(v) for k, v in kaldiio.load_scp(str(path)).items()}


def leftovers(dest: Path) -> list[str]:
    """Archives or temporary files in dest (must be none after a failed import)."""
    return sorted(p.name for p in dest.iterdir() if "ali." in p.name or p.name.startswith(".")) \
        if dest.exists() else []


@pytest.mark.parametrize("exp,lang,model_dir", EXPS, ids=[e[0] for e in EXPS])
def test_import_equals_kaldi_ali_to_pdf_and_phones(kaldi_ref, tmp_path, exp, lang, model_dir):
    pdf_ref = reference(kaldi_ref / exp, "pdf_ali")
    phone_ref = reference(kaldi_ref / exp, "phone_ali_per_frame")
    ali = ali_dir_copy(kaldi_ref, exp, model_dir, tmp_path / "ali")
    data = data_dir(tmp_path / "data", {u: len(v) for u, v in pdf_ref.items()})
    dest = tmp_path / "out"
    s = import_alignments(ali, data, dest, lang=kaldi_ref / lang)

    pdf, phone = load_scp(dest / "pdf_ali.scp"), load_scp(dest / "phone_ali.scp")
    assert sorted(pdf) == sorted(pdf_ref) == sorted(phone_ref)
    for u in pdf_ref:
        np.testing.assert_array_equal(pdf[u], pdf_ref[u], err_msg=u)
        np.testing.assert_array_equal(phone[u], phone_ref[u], err_msg=u)
    assert s.imported == len(pdf_ref) and not s.missing_in_ali and not s.missing_in_data

    num_pdfs = int((dest / "num_pdfs").read_text())
    counts = np.bincount(np.concatenate(list(pdf_ref.values())), minlength=num_pdfs)
    np.testing.assert_array_equal(read_vector(dest / "pdf_counts"), counts)
    assert (dest / "pdf_counts").read_text().startswith("[ ")
    report = (dest / "import_report.txt").read_text()
    assert f"utterances_imported {len(pdf_ref)}\n" in report
    assert f"pdfs_never_seen {int((counts == 0).sum())}\n" in report
    for f, src in (("final.mdl", ali / "final.mdl"), ("tree", ali / "tree"),
                   ("phones.txt", kaldi_ref / lang / "phones.txt")):
        assert (dest / f).read_bytes() == src.read_bytes(), f


def test_written_archive_is_byte_identical_to_kaldis(kaldi_ref, tmp_path):
    """fsdd tri1's ali.*.gz are binary Kaldi archives: writing the same vectors gives the same bytes."""
    src = kaldi_ref / "fsdd/exp/tri1/ali.1.gz"
    with ArchiveWriter(tmp_path / "a.ark", tmp_path / "a.scp") as w:
        for k, v, _ in read_int_vectors(f"ark:{src}"):
            w[k] = v
    assert (tmp_path / "a.ark").read_bytes() == gzip.decompress(src.read_bytes())
    # ... and the scp form reads back the same
    a = {k: v for k, v, _ in read_int_vectors(f"scp:{tmp_path / 'a.scp'}")}
    b = {k: v for k, v, _ in read_int_vectors(f"ark:gunzip -c {src}|")}
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.fixture
def yesno(kaldi_ref, tmp_path):
    """(ali dir as links, data dir matching it, reference pdf alignments) for yesno mono0a."""
    ali = ali_dir_copy(kaldi_ref, "yesno/exp/mono0a", None, tmp_path / "ali")
    shutil.copy(kaldi_ref / "yesno/data/lang/phones.txt", ali / "phones.txt")
    pdf_ref = reference(kaldi_ref / "yesno/exp/mono0a", "pdf_ali")
    data = data_dir(tmp_path / "data", {u: len(v) for u, v in pdf_ref.items()})
    return ali, data, pdf_ref


def test_rspecifier_and_pdf_ali_inputs(kaldi_ref, yesno, tmp_path):
    ali, data, pdf_ref = yesno
    exp = kaldi_ref / "yesno/exp/mono0a"
    # a piped specifier, and Kaldi's text dump of the same alignments
    for spec in (f"ark:gunzip -c {exp}/ali.1.gz|", f"ark,t:{exp}/ali.txt"):
        dest = tmp_path / f"out{len(spec)}"
        import_alignments(ali, data, dest, ali_rspecifier=spec)
        got = load_scp(dest / "pdf_ali.scp")
        assert all(np.array_equal(got[u], pdf_ref[u]) for u in pdf_ref)
    # already converted pdf alignments (ali-to-pdf output): no phone alignments
    dest = tmp_path / "pdf"
    import_alignments(ali, data, dest, pdf_ali=True, ali_rspecifier=f"ark:{exp}/pdf_ali.txt")
    got = load_scp(dest / "pdf_ali.scp")
    assert all(np.array_equal(got[u], pdf_ref[u]) for u in pdf_ref)
    assert not (dest / "phone_ali.scp").exists()
    with pytest.raises(DgmmError, match="--pdf-ali needs --ali"):
        import_alignments(ali, data, tmp_path / "pdf1", pdf_ali=True)
    # pdf-ids beyond the model are caught in this mode too
    bad = tmp_path / "bad_pdf.txt"
    bad.write_text("0_0_0_0_1_1_1_1 0 11\n")
    with pytest.raises(DgmmError, match=r"bad_pdf.txt: utterance 0_0_0_0_1_1_1_1 has pdf-id 11"):
        import_alignments(ali, data, tmp_path / "pdf2", pdf_ali=True, ali_rspecifier=f"ark:{bad}")


def _write_gz_text_ark(path: Path, table: dict[str, np.ndarray]) -> None:
    text = "".join(f"{k} {' '.join(map(str, v))}\n" for k, v in table.items())
    path.write_bytes(gzip.compress(text.encode()))


def _split_two_jobs(ali: Path) -> list[str]:
    """Rewrite the yesno ali dir as two jobs (ali.1.gz, ali.2.gz); returns the utts of job 2."""
    table = {k: v for k, v, _ in read_int_vectors(f"ark:{ali / 'ali.1.gz'}")}
    keys = list(table)
    (ali / "ali.1.gz").unlink()
    _write_gz_text_ark(ali / "ali.1.gz", {k: table[k] for k in keys[:15]})
    _write_gz_text_ark(ali / "ali.2.gz", {k: table[k] for k in keys[15:]})
    (ali / "num_jobs").unlink()
    (ali / "num_jobs").write_text("2\n")
    return keys[15:]


def test_transition_id_beyond_model_in_second_job(yesno, tmp_path):
    ali, data, _ = yesno
    job2 = _split_two_jobs(ali)
    table = {k: v for k, v, _ in read_int_vectors(f"ark:{ali / 'ali.2.gz'}")}
    table[job2[3]] = table[job2[3]].copy()
    table[job2[3]][5] = 31   # the model has 30 transition-ids
    (ali / "ali.2.gz").unlink()
    _write_gz_text_ark(ali / "ali.2.gz", table)
    dest = tmp_path / "out"
    want = rf"ali.2.gz: utterance {job2[3]} has transition-id 31, outside 1..30"
    with pytest.raises(DgmmError, match=want):
        import_alignments(ali, data, dest)
    assert leftovers(dest) == []   # job 1 was converted, but nothing of it may stay


def test_failed_import_keeps_a_previous_complete_import(yesno, tmp_path):
    ali, data, _ = yesno
    dest = tmp_path / "out"
    import_alignments(ali, data, dest)
    before = {p.name: p.read_bytes() for p in dest.iterdir()}
    gz = ali / "ali.1.gz"
    data_bytes = gz.read_bytes()
    gz.unlink()
    gz.write_bytes(data_bytes[:len(data_bytes) // 2])
    with pytest.raises(ValueError, match=rf"{gz}: truncated gzip"):
        import_alignments(ali, data, dest)
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == before


def test_truncated_gzip_names_the_file(yesno, tmp_path):
    ali, data, _ = yesno
    gz = ali / "ali.1.gz"
    raw = gz.read_bytes()
    gz.unlink()
    gz.write_bytes(raw[:-100])
    dest = tmp_path / "out"
    with pytest.raises(ValueError, match=rf"{gz}: truncated gzip file"):
        import_alignments(ali, data, dest)
    assert leftovers(dest) == []
    # the same through a pipe: gunzip's failure names the command
    with pytest.raises(ValueError, match=r"command 'gunzip -c .*ali.1.gz' failed"):
        import_alignments(ali, data, dest, ali_rspecifier=f"ark:gunzip -c {gz}|")
    assert leftovers(dest) == []


def test_model_tree_disagreement(kaldi_ref, yesno, tmp_path):
    ali, data, _ = yesno
    (ali / "tree").unlink()
    (ali / "tree").symlink_to(kaldi_ref / "fsdd/exp/mono/tree")
    dest = tmp_path / "out"
    with pytest.raises(DgmmError, match=r"final.mdl has 11 pdfs but .*/tree has 67"):
        import_alignments(ali, data, dest)
    assert leftovers(dest) == []


def test_length_mismatch_error_and_tolerance(yesno, tmp_path):
    ali, data, pdf_ref = yesno
    utts = sorted(pdf_ref)
    lengths = {u: len(pdf_ref[u]) for u in utts}
    lengths[utts[0]] += 2     # features 2 frames longer: pad
    lengths[utts[1]] -= 1     # 1 frame shorter: trim
    data_dir(data, lengths)
    dest = tmp_path / "out"
    with pytest.raises(DgmmError, match=rf"utterance {utts[0]}: alignment in .*ali.1.gz has "
                                        rf"{len(pdf_ref[utts[0]])} frames but .*utt2num_frames says "
                                        rf"{lengths[utts[0]]}"):
        import_alignments(ali, data, dest, length_tolerance=1)
    assert leftovers(dest) == []
    s = import_alignments(ali, data, dest, length_tolerance=2)
    got = load_scp(dest / "pdf_ali.scp")
    ref0 = pdf_ref[utts[0]]
    np.testing.assert_array_equal(got[utts[0]], np.concatenate([ref0, ref0[-1:].repeat(2)]))
    np.testing.assert_array_equal(got[utts[1]], pdf_ref[utts[1]][:-1])
    assert len(load_scp(dest / "phone_ali.scp")[utts[0]]) == lengths[utts[0]]
    assert sorted(u for u, *_ in s.length_fixes) == utts[:2]
    report = (dest / "import_report.txt").read_text()
    assert f"length-mismatch {utts[0]} alignment {len(ref0)} data {lengths[utts[0]]} padded" in report
    assert f"length-mismatch {utts[1]} alignment {len(pdf_ref[utts[1]])} data {lengths[utts[1]]} trimmed" \
        in report
    counts = np.bincount(np.concatenate([got[u] for u in got]), minlength=11)
    np.testing.assert_array_equal(read_vector(dest / "pdf_counts"), counts)


def test_missing_utterances_and_duplicates_are_reported(yesno, tmp_path):
    ali, data, pdf_ref = yesno
    utts = sorted(pdf_ref)
    lengths = {u: len(pdf_ref[u]) for u in utts[1:]}
    lengths["extra_utt"] = 100
    data_dir(data, lengths)
    dest = tmp_path / "out"
    s = import_alignments(ali, data, dest)
    assert s.missing_in_data == [utts[0]] and s.missing_in_ali == ["extra_utt"]
    report = (dest / "import_report.txt").read_text()
    assert f"missing-in-data-dir {utts[0]}\n" in report and "missing-in-alignments extra_utt\n" in report
    assert sorted(load_scp(dest / "pdf_ali.scp")) == utts[1:]
    # the same utterance in two jobs
    shutil.copy(ali / "ali.1.gz", ali / "ali.2.gz")
    (ali / "num_jobs").unlink()
    (ali / "num_jobs").write_text("2\n")
    want = rf"utterance {utts[0]} appears twice: in .*ali.1.gz and in .*ali.2.gz"
    with pytest.raises(DgmmError, match=want):
        import_alignments(ali, data, tmp_path / "out2")
    assert leftovers(tmp_path / "out2") == []


def test_phones_txt_must_match_lang(kaldi_ref, yesno, tmp_path):
    ali, data, _ = yesno
    with pytest.raises(DgmmError, match=r"phones.txt and .*fsdd/data/lang/phones.txt differ"):
        import_alignments(ali, data, tmp_path / "out", lang=kaldi_ref / "fsdd/data/lang")


def test_import_ali_sh(kaldi_ref, yesno, tmp_path):
    ali, data, pdf_ref = yesno
    env = dict(os.environ, PATH=f"{REPO / '.venv/bin'}:{os.environ['PATH']}")
    run = lambda *a: subprocess.run(["steps/import_ali.sh", *map(str, a)], cwd=REPO, env=env,
                                    capture_output=True, text=True)
    p = run(ali, data, tmp_path / "out")
    assert p.returncode == 0, p.stderr
    assert sorted(load_scp(tmp_path / "out/pdf_ali.scp")) == sorted(pdf_ref)
    assert "import_ali" in (tmp_path / "out/log/import_ali.log").read_text()
    p = run(ali, tmp_path / "nodata", tmp_path / "out2")
    assert p.returncode == 1 and "nodata/utt2num_frames to exist" in p.stderr
    p = run(ali, data)
    assert p.returncode == 1 and "e.g.:" in p.stderr


def test_scp_input_and_phone_set_check(kaldi_ref, yesno, tmp_path):
    ali, data, pdf_ref = yesno
    with ArchiveWriter(tmp_path / "tid.ark", tmp_path / "tid.scp") as w:
        for k, v, _ in read_int_vectors(f"ark:{ali / 'ali.1.gz'}"):
            w[k] = v
    dest = tmp_path / "out"
    import_alignments(ali, data, dest, ali_rspecifier=f"scp:{tmp_path / 'tid.scp'}")
    got = load_scp(dest / "pdf_ali.scp")
    assert all(np.array_equal(got[u], pdf_ref[u]) for u in pdf_ref)
    # a phones.txt without the model's phone 3 (N) is the wrong phone set
    (ali / "phones.txt").unlink()
    (ali / "phones.txt").write_text("<eps> 0\nSIL 1\nY 2\n")
    with pytest.raises(DgmmError, match=r"phones.txt has no symbol for phone id\(s\) \[3\]"):
        import_alignments(ali, data, tmp_path / "out2")
    assert leftovers(tmp_path / "out2") == []


def test_show_alignments_sh_equals_kaldi(kaldi_ref):
    exp = kaldi_ref / "yesno/exp/mono0a"
    env = dict(os.environ, PATH=f"{REPO / '.venv/bin'}:{os.environ['PATH']}")
    p = subprocess.run(["utils/show_alignments.sh", str(kaldi_ref / "yesno/data/lang/phones.txt"),
                        str(exp / "final.mdl"), f"ark:gunzip -c {exp}/ali.1.gz|"],
                       cwd=REPO, env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout == (exp / "show_alignments.txt").read_text()
