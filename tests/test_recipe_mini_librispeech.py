"""egs/mini_librispeech/s5, quick checks (the full run's numbers are in its RESULTS.md).

Stages 0-2 on a one-utterance-per-speaker subset of the real corpus: split by split.txt, 16 kHz fbank,
a lang dir whose phone ids are those of Kaldi's reference data/lang (so Kaldi's tri2b alignments import
unchanged), the word trigram and G.fst; a rerun does nothing. The Kaldi alignment dirs of kaldi_ref,
whose final.mdl is a text file naming ../tri2b/final.mdl, become usable dirs. The PER scorer's
references are Kaldi's PER references exactly.
"""

from __future__ import annotations

import filecmp
import gzip
import subprocess

import kaldiio
import pytest

from conftest import REPO, recipe_copy, run_recipe, shared_path

S5 = REPO / "egs" / "mini_librispeech" / "s5"
COPY_ALI = REPO / "utils" / "copy_ali_dir.sh"


def small_corpus(tmp_path, per_speaker=1):
    """The corpus' metadata restricted to ``per_speaker`` utterances of each speaker (audio linked)."""
    src = shared_path("corpora", "mini_librispeech")
    dst = tmp_path / "corpus"
    dst.mkdir()
    (dst / "train-clean-5").symlink_to(src / "train-clean-5")
    (dst / "split.txt").write_text((src / "split.txt").read_text())
    keep, seen = set(), {}
    for line in (src / "utt2spk").read_text().splitlines():
        utt, spk = line.split()
        if seen.get(spk, 0) < per_speaker:
            seen[spk] = seen.get(spk, 0) + 1
            keep.add(utt)
    for name in ("utt2spk", "audio.list", "transcripts.txt"):
        lines = [x for x in (src / name).read_text().splitlines() if x.split(maxsplit=1)[0] in keep]
        (dst / name).write_text("\n".join(lines) + "\n")
    return dst, seen


def snapshot(root):
    return {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file() and "log" not in p.parts}


def test_stages_0_to_2_on_a_subset(tmp_path, kaldi_ref):
    corpus, per_spk = small_corpus(tmp_path)
    s5 = recipe_copy(tmp_path, "mini_librispeech")
    r = run_recipe(s5, "--corpus-dir", str(corpus), "--stop-stage", "2", timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for n in range(3):
        assert f"Stage {n}:" in r.stdout
    split = {f[0]: set(f[1:]) for f in (x.split() for x in (corpus / "split.txt").read_text().splitlines())
             if f and not f[0].startswith("#")}
    for x in ("train", "dev", "test"):
        spks = {line.split()[0] for line in (s5 / "data" / x / "spk2utt").read_text().splitlines()}
        assert spks == split[x], x
        feats = dict(kaldiio.load_scp(str(s5 / "data" / "fbank" / x / "feats.scp")))
        assert len(feats) == len(spks) and all(m.shape[1] == 40 for m in feats.values())
        # 16 kHz: 10 ms shift, 25 ms window -> frames = 1 + (samples - 400) // 160 (snip-edges)
        utt, m = next(iter(feats.items()))
        wav = (s5 / "data" / x / "wav.scp").read_text().split("\n")[0].split(maxsplit=1)[1]
        samples = len(subprocess.run(wav.rstrip(" |"), shell=True, capture_output=True, check=True).stdout) - 44
        assert m.shape[0] == 1 + (samples // 2 - 400) // 160, utt
    ours = (s5 / "data" / "lang" / "phones.txt").read_text().splitlines()
    kaldi = (kaldi_ref / "mini_librispeech" / "data" / "lang" / "phones.txt").read_text().splitlines()
    assert ours[:166] == kaldi[:166]                     # same phone ids as the Kaldi system's tree/model
    assert (s5 / "data" / "lang_test" / "G.fst").stat().st_size > 0
    with gzip.open(s5 / "data" / "local" / "lm" / "word_3g_wb.arpa.gz", "rt") as f:
        head = f.read(200)
    assert "ngram 3=" in head
    before = snapshot(s5 / "data")
    r = run_recipe(s5, "--corpus-dir", str(corpus), "--stop-stage", "2", timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert snapshot(s5 / "data") == before               # finished stages are skipped


@pytest.mark.parametrize("link", ["true", "false"])
def test_copy_ali_dir_resolves_a_text_final_mdl(tmp_path, kaldi_ref, link):
    src = kaldi_ref / "mini_librispeech" / "exp" / "tri2b_ali_dev"
    if (src / "final.mdl").stat().st_size > 1024:
        pytest.skip("final.mdl of kaldi_ref is a real model here: nothing to resolve")
    out = tmp_path / "ali"
    subprocess.run([str(COPY_ALI), "--link", link, str(src), str(out)], check=True, capture_output=True)
    assert filecmp.cmp(out / "final.mdl", kaldi_ref / "mini_librispeech" / "exp" / "tri2b" / "final.mdl",
                       shallow=False)
    for f in ("ali.1.gz", "ali.2.gz", "tree", "num_jobs"):
        assert filecmp.cmp(out / f, src / f, shallow=False), f
        assert (out / f).is_symlink() == (link == "true"), f
    r = subprocess.run([str(COPY_ALI), str(tmp_path), str(tmp_path / "x")], capture_output=True, text=True)
    assert r.returncode != 0 and "final.mdl" in r.stderr


def test_score_per_references_are_kaldis(tmp_path, kaldi_ref):
    """Reference phones of our scorer == Kaldi's scoring_per/ref_filt.txt; a perfect hypothesis scores 0
    and a hypothesis with one utterance's alignment swapped for another's scores that edit distance."""
    k = kaldi_ref / "mini_librispeech"
    from dgmm.kaldi.alignments import read_int_vectors
    ali = tmp_path / "kali"
    subprocess.run([str(COPY_ALI), "--link", "true", str(k / "exp" / "tri2b_ali_dev"), str(ali)],
                   check=True, capture_output=True)
    decode = tmp_path / "sys" / "decode_dev"
    decode.mkdir(parents=True)
    (tmp_path / "sys" / "final.mdl").symlink_to(ali / "final.mdl")
    rows = [(u, a) for j in (1, 2) for u, a, _ in read_int_vectors(f"ark:{ali}/ali.{j}.gz")]
    (decode / "ali.1.int").write_text("".join(f"{u} {' '.join(map(str, a))}\n" for u, a in rows))
    cmd = [str(REPO / ".venv" / "bin" / "python"), str(S5 / "local" / "score_per.py"),
           str(k / "data" / "lang"), str(ali), str(decode)]
    subprocess.run(cmd, check=True, capture_output=True)
    ref = {x.split(maxsplit=1)[0]: x.split()[1:]
           for x in (k / "exp" / "tri2b" / "decode_tg_dev" / "scoring_per" / "ref_filt.txt").read_text().splitlines()}
    ours = {x.split(maxsplit=1)[0]: x.split()[1:]
            for x in (decode / "scoring_per" / "ref_filt.txt").read_text().splitlines()}
    assert ours == ref
    assert "%PER 0.00 [ 0 / 9615," in (decode / "scoring_per" / "per").read_text()

    (u0, _), (_, a1) = rows[0], rows[1]
    rows[0] = (u0, a1)
    (decode / "ali.1.int").write_text("".join(f"{u} {' '.join(map(str, a))}\n" for u, a in rows))
    subprocess.run(cmd, check=True, capture_output=True)
    from dgmm.scoring.wer import edit_counts
    errors = sum(edit_counts(ref[u0], ref[rows[1][0]]))
    assert f"[ {errors} / 9615," in (decode / "scoring_per" / "per").read_text()
