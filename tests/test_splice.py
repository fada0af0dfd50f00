"""Splicing: Kaldi splice-feats semantics (edges repeated), never across utterance boundaries."""

import numpy as np
import pytest
import torch

from dgmm.data.splice import context_index, splice_frames


def _reference_splice(feats, left, right):
    """Loop version of splice-feats: frame t -> feats[min(max(t+o,0),T-1)] for o in -left..right."""
    T = feats.shape[0]
    rows = []
    for t in range(T):
        rows.append(np.concatenate([feats[min(max(t + o, 0), T - 1)] for o in range(-left, right + 1)]))
    return np.stack(rows)


@pytest.mark.parametrize("T,left,right", [(1, 20, 5), (3, 20, 5), (40, 20, 5), (7, 0, 0), (9, 2, 3)])
def test_splice_matches_loop_reference(T, left, right):
    rng = np.random.default_rng(T)
    feats = rng.standard_normal((T, 4)).astype(np.float32)
    out = splice_frames(feats, left, right)
    assert out.shape == (T, (left + 1 + right) * 4) and out.dtype == np.float32
    np.testing.assert_array_equal(out, _reference_splice(feats, left, right))
    out_t = splice_frames(torch.from_numpy(feats), left, right)
    assert isinstance(out_t, torch.Tensor)
    np.testing.assert_array_equal(out_t.numpy(), out)


def test_edges_repeat():
    feats = np.arange(5, dtype=np.float32)[:, None]  # frame t has value t
    out = splice_frames(feats, left=20, right=5)
    assert out[0].tolist() == [0.0] * 21 + [1, 2, 3, 4, 4]
    assert out[4].tolist() == [0.0] * 17 + [1, 2, 3, 4] + [4.0] * 5


def test_context_never_crosses_utterances():
    """Frames of several utterances stored back to back: every window stays inside its utterance."""
    lengths = np.array([1, 2, 30, 5, 26, 3])
    utt_of_frame = np.repeat(np.arange(len(lengths)), lengths)
    starts_u = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    ends_u = np.cumsum(lengths)
    frames = np.arange(lengths.sum())
    starts, ends = starts_u[utt_of_frame], ends_u[utt_of_frame]
    for impl in (np.asarray, torch.as_tensor):
        idx = np.asarray(context_index(impl(frames), impl(starts), impl(ends), 20, 5))
        assert idx.shape == (len(frames), 26)
        assert (utt_of_frame[idx] == utt_of_frame[:, None]).all()
        # and equals the per-utterance splice of the global frame numbers
        per_utt = np.concatenate([
            splice_frames(np.arange(s, e)[:, None], 20, 5) for s, e in zip(starts_u, ends_u)])
        np.testing.assert_array_equal(idx, per_utt)


def test_rejects_bad_context():
    with pytest.raises(ValueError):
        splice_frames(np.zeros((3, 2)), left=-1, right=0)
    with pytest.raises(ValueError):
        splice_frames(np.zeros((0, 2)))
