"""Frame pipeline: CMVN, labels as imported, on-the-fly splicing, shuffling, CV split, sharding."""

import shutil

import kaldiio
import numpy as np
import pytest
import torch

from dgmm.cli import DgmmError
from dgmm.data.frames import (Cmvn, StreamingFrames, cv_split, iter_batches, load_train_cv, read_frames,
                              read_utt2spk, shuffle_order)
from dgmm.data.splice import splice_frames
from dgmm.features.cmvn import apply_cmvn
from conftest import shared_path
from fsdd_frames import make_fsdd


@pytest.fixture(scope="module")
def fsdd(tmp_path_factory):
    shared_path("kaldi_ref", "fsdd")
    return make_fsdd(tmp_path_factory.mktemp("fsdd"), shared_path(), per_digit=2)


def _ref_pdf_ali(kaldi_ref, utts):
    out = {}
    with open(kaldi_ref / "fsdd/exp/mono_ali/pdf_ali.txt") as f:
        for line in f:
            key, *ids = line.split()
            if key in utts:
                out[key] = np.array(ids, dtype=np.int64)
    return out


def test_labels_are_the_imported_pdf_ids(fsdd, kaldi_ref):
    data, ali = fsdd
    fs = read_frames(data, ali, None, Cmvn("none"))
    ref = _ref_pdf_ali(kaldi_ref, set(fs.index.utts))
    np.testing.assert_array_equal(fs.labels.numpy(), np.concatenate([ref[u] for u in fs.index.utts]))
    assert fs.num_pdfs == 67
    # any batch's labels are the reference labels of its frames (no renumbering)
    frames = shuffle_order(fs.index, 0, 1)[:300]
    _, y = fs.gather(frames, 20, 5)
    np.testing.assert_array_equal(y.numpy(), fs.labels.numpy()[frames.numpy()])


def test_speaker_cmvn_and_splicing(fsdd):
    data, ali = fsdd
    fs = read_frames(data, ali, None, Cmvn("speaker", data_dir=data))
    feats = kaldiio.load_scp(str(data / "feats.scp"))
    cmvn = kaldiio.load_scp(str(data / "cmvn.scp"))
    utt2spk = read_utt2spk(data)
    # each speaker's normalised frames have mean 0 (the stats were accumulated over exactly them)
    spk_of_frame = np.repeat([utt2spk[u] for u in fs.index.utts], fs.index.lengths.numpy())
    for spk in set(utt2spk.values()):
        assert np.abs(fs.feats.numpy()[spk_of_frame == spk].mean(0)).max() < 1e-4
    # gathered batches equal whole-utterance splicing of apply-cmvn'd features
    frames = shuffle_order(fs.index, 3, 7)[:500]
    x, _ = fs.gather(frames, 20, 5)
    u = fs.index.utt_of_frame(frames)
    for k in range(0, 500, 37):
        utt = fs.index.utts[int(u[k])]
        t = int(frames[k] - fs.index.offsets[u[k]])
        ref = splice_frames(apply_cmvn(feats[utt], cmvn[utt2spk[utt]]), 20, 5)[t]
        np.testing.assert_array_equal(x[k].numpy(), ref)


def test_global_and_utterance_cmvn(fsdd):
    data, ali = fsdd
    g = Cmvn("global", data_dir=data)
    total = sum(np.asarray(m) for m in kaldiio.load_scp(str(data / "cmvn.scp")).values())
    np.testing.assert_allclose(g.global_stats, total)
    fs = read_frames(data, ali, None, Cmvn("utterance", norm_vars=True))
    first = fs.feats[: int(fs.index.offsets[1])].numpy()
    np.testing.assert_allclose(first.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(first.std(0), 1, atol=1e-3)
    with pytest.raises(DgmmError, match="cmvn mode"):
        Cmvn("per-speaker")
    # what a model file records (dgmm.bin.train) gives the same normalisation at decoding time
    ck = {"cmvn_mode": "global", "norm_vars": True, "global_cmvn_stats": torch.from_numpy(g.global_stats)}
    d = Cmvn.from_checkpoint(ck, data)
    feats = kaldiio.load_scp(str(data / "feats.scp"))
    u = sorted(feats)[0]
    np.testing.assert_array_equal(d(u, feats[u]), apply_cmvn(feats[u], total, norm_vars=True))


def test_shuffle_order_global_and_block(fsdd):
    data, ali = fsdd
    fs = read_frames(data, ali, None, Cmvn("none"))
    idx, N = fs.index, len(fs)
    o = shuffle_order(idx, 2, 5)
    assert torch.equal(torch.sort(o).values, torch.arange(N))
    assert torch.equal(o, shuffle_order(idx, 2, 5))
    assert not torch.equal(o, shuffle_order(idx, 3, 5))
    block = 300
    ob = shuffle_order(idx, 2, 5, block_frames=block)
    assert torch.equal(torch.sort(ob).values, torch.arange(N))
    # walk the order: each block is a run of whole utterances of at most `block` frames
    u = idx.utt_of_frame(ob).numpy()
    lengths = idx.lengths.numpy()
    pos = 0
    while pos < N:
        seen, frames = set(), 0
        while pos + frames < N and (not seen or frames < sum(lengths[list(seen)])):
            seen.add(u[pos + frames])
            frames += 1
        span = sum(lengths[list(seen)])
        assert span <= block or len(seen) == 1
        assert set(u[pos:pos + span]) == seen
        pos += span


def test_streaming_frames_match_in_memory(fsdd):
    data, ali = fsdd
    cmvn = Cmvn("speaker", data_dir=data)
    fs = read_frames(data, ali, None, cmvn)
    st = StreamingFrames(data, ali, None, cmvn)
    st.set_epoch(1, 9, 400)
    order = shuffle_order(fs.index, 1, 9, block_frames=400)
    most = 0
    for frames, _ in iter_batches(order, 128):
        xs, ys = st.gather(frames, 20, 5)
        xm, ym = fs.gather(frames, 20, 5)
        assert torch.equal(xs, xm) and torch.equal(ys, ym)
        most = max(most, len(st._buf))
        assert len(st._loaded) <= 2 and all(t.data_ptr() >= st._buf.data_ptr() for t in st._loaded.values())
    assert most <= 2 * 400 + 2 * int(fs.index.lengths.max())


def test_iter_batches_shards_equal_global_batch():
    order = torch.randperm(1003)
    single = list(iter_batches(order, 100, 0, 1))
    r0 = list(iter_batches(order, 50, 0, 2))
    r1 = list(iter_batches(order, 50, 1, 2))
    assert len(single) == len(r0) == len(r1) == 11
    for (a, n), (b, n0), (c, n1) in zip(single, r0, r1):
        assert torch.equal(a, torch.cat([b, c])) and n == n0 == n1 == len(a)
    assert [len(b) for b, _ in list(iter_batches(order, 50, 0, 2, start=10))] == [1]


def test_cv_split_like_kaldi():
    # speakers a(5) b(3) c(2): last 10% = 1 utt, boundary moved to the speaker change -> cv = c
    u2s = {f"a{i}": "a" for i in range(5)} | {f"b{i}": "b" for i in range(3)} | {f"c{i}": "c" for i in range(2)}
    tr, cv = cv_split(u2s, 10)
    assert cv == ["c0", "c1"] and len(tr) == 8
    # one speaker: no speaker change to move to, last 10% of utterances
    one = {f"u{i:02d}": "s" for i in range(20)}
    assert cv_split(one, 10)[1] == ["u18", "u19"]
    # by speaker: whole speakers, 10 of 30 speakers at 34%
    many = {f"s{s:02d}-{i}": f"s{s:02d}" for s in range(30) for i in range(3)}
    tr, cv = cv_split(many, 34, by_speaker=True, seed=1)
    cv_spk = {many[u] for u in cv}
    assert len(cv_spk) == 10 and not cv_spk & {many[u] for u in tr} and len(tr) + len(cv) == 90
    # 10% of 5 speakers rounds down to none: one whole speaker is held out instead
    five = {f"s{s}-{i}": f"s{s}" for s in range(5) for i in range(4)}
    tr, cv = cv_split(five, 10, by_speaker=True)
    assert len({five[u] for u in cv}) == 1 and len(cv) == 4 and len(tr) == 16
    with pytest.raises(DgmmError):
        cv_split({"a": "a"}, 10)


def _speed_3way(n_per_spk, spk_prefix):
    """utt2spk, utt2uniq of a 3-way speed-perturbed dir as utils/data/perturb_data_dir_speed_3way.sh."""
    utt2spk, utt2uniq = {}, {}
    for spk in ("ann", "bob", "tom"):
        for i in range(n_per_spk):
            orig = f"{spk}_{i}"
            for p in ("sp0.9-", "", "sp1.1-"):
                utt2spk[p + orig] = (p + spk) if spk_prefix else spk
                utt2uniq[p + orig] = orig
    return utt2spk, utt2uniq


def _sides(utt2uniq, tr, cv):
    return {utt2uniq[u] for u in tr}, {utt2uniq[u] for u in cv}


def test_cv_split_keeps_perturbed_copies_together():
    # sorted ids: ann_*, bob_*, sp0.9-*, sp1.1-*, tom_*: without utt2uniq the last 10% (moved to the
    # speaker change) is sp1.1-tom_* + tom_*, and sp0.9-tom_* trains: the CV holds copies of training data
    utt2spk, utt2uniq = _speed_3way(4, spk_prefix=False)
    tr, cv = cv_split(utt2spk, 10)
    tr_q, cv_q = _sides(utt2uniq, tr, cv)
    assert tr_q & cv_q   # the contamination the utt2uniq grouping removes
    tr, cv = cv_split(utt2spk, 10, utt2uniq=utt2uniq)
    tr_q, cv_q = _sides(utt2uniq, tr, cv)
    # 12 originals, last 10% moved back to the speaker change: tom's 4 originals with all their copies
    assert not tr_q & cv_q and cv_q == {f"tom_{i}" for i in range(4)} and len(cv) == 12
    assert sorted(tr + cv) == sorted(utt2spk) and tr == sorted(tr) and cv == sorted(cv)
    # by speaker, copies with their own speaker ids (--include-spk-prefix true): the CV speakers are
    # picked among the originals' speakers and take every copy along
    utt2spk, utt2uniq = _speed_3way(4, spk_prefix=True)
    for seed in range(6):
        tr, cv = cv_split(utt2spk, 34, by_speaker=True, seed=seed, utt2uniq=utt2uniq)
        tr_q, cv_q = _sides(utt2uniq, tr, cv)
        assert not tr_q & cv_q and len(cv) == 12 and len({q.split("_")[0] for q in cv_q}) == 1
        assert sorted(tr + cv) == sorted(utt2spk)


def test_cv_split_random_utterances():
    # nnet3-style: P% of the originals at random (seeded), every copy along; all speakers keep training data
    utt2spk, utt2uniq = _speed_3way(10, spk_prefix=False)
    splits = []
    for seed in (1, 2):
        tr, cv = cv_split(utt2spk, 10, seed=seed, utt2uniq=utt2uniq, random=True)
        tr_q, cv_q = _sides(utt2uniq, tr, cv)
        assert not tr_q & cv_q and len(cv_q) == 3 and len(cv) == 9 and sorted(tr + cv) == sorted(utt2spk)
        assert {utt2spk[u] for u in tr} == {"ann", "bob", "tom"}
        assert cv_split(utt2spk, 10, seed=seed, utt2uniq=utt2uniq, random=True) == (tr, cv)
        splits.append(cv)
    assert splits[0] != splits[1]
    one = {f"u{i:02d}": "s" for i in range(20)}
    assert len(cv_split(one, 1, random=True)[1]) == 1   # 1% of 20 rounds down: one utterance, not none
    with pytest.raises(DgmmError, match="not both"):
        cv_split(one, 10, by_speaker=True, random=True)


def test_load_train_cv_reads_utt2uniq(fsdd, tmp_path, caplog):
    data, ali = fsdd
    d = tmp_path / "data"
    shutil.copytree(data, d)
    # pretend nicolas' utterances are perturbed copies of lucas' (same digit and take): without
    # utt2uniq the CV is nicolas (the last speaker); with it, lucas' originals and all their copies
    utt2uniq = {u: u.replace("nicolas", "lucas") for u in read_utt2spk(d)}
    (d / "utt2uniq").write_text("".join(f"{u} {q}\n" for u, q in sorted(utt2uniq.items())))
    tr, cv, _ = load_train_cv(d, ali, "none", cv_percent=10)
    assert {u.split("_")[0] for u in cv.index.utts} == {"lucas", "nicolas"}
    assert {u.split("_")[0] for u in tr.index.utts} == {"george", "jackson"}
    # an utterance without an entry is its own original, with a warning naming the file
    first = sorted(utt2uniq)[0]
    (d / "utt2uniq").write_text("".join(f"{u} {q}\n" for u, q in sorted(utt2uniq.items())[1:]))
    tr2, cv2, _ = load_train_cv(d, ali, "none", cv_percent=10)
    assert cv2.index.utts == cv.index.utts and first in tr2.index.utts
    assert any("utt2uniq: no entry for 1 utterances" in r.message for r in caplog.records)


def test_bad_alignments(fsdd, tmp_path, caplog):
    data, ali = fsdd
    bad = tmp_path / "ali"
    bad.mkdir()
    src = kaldiio.load_scp(str(ali / "pdf_ali.scp"))
    keys = sorted(src)
    with kaldiio.WriteHelper(f"ark,scp:{bad}/pdf_ali.ark,{bad}/pdf_ali.scp") as w:
        w(keys[0], src[keys[0]][:-1])  # one frame short: skipped with a warning
        w(keys[1], src[keys[1]])
        # keys[2:] missing: skipped
    (bad / "num_pdfs").write_text("67\n")
    fs = read_frames(data, bad, None, Cmvn("none"))
    assert fs.index.utts == [keys[1]]
    assert any("alignment frames" in r.message for r in caplog.records)
    (bad / "num_pdfs").write_text("10\n")
    with pytest.raises(DgmmError, match=f"{keys[1]} has pdf-id"):
        read_frames(data, bad, None, Cmvn("none"))
    with pytest.raises(FileNotFoundError, match="feats.scp"):
        read_frames(tmp_path, bad, None, Cmvn("none"))
