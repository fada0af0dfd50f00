"""Kaldi final.mdl read/write against real Kaldi models in ../shared/kaldi_ref."""

from __future__ import annotations

import gzip

import kaldiio
import numpy as np
import pytest

from dgmm.kaldi.gmm_model import (KaldiFormatError, gmm_model_bytes, read_gmm_model,
                                  read_transition_model, transition_model_bytes, write_gmm_model,
                                  write_occs)
from tests.conftest import shared_path

MODELS = ["yesno/exp/mono0a", "fsdd/exp/mono", "fsdd/exp/tri1", "mini_librispeech/exp/tri1",
          "mini_librispeech/exp/tri2b"]


@pytest.mark.parametrize("exp", MODELS)
def test_binary_round_trip_is_byte_identical(exp, tmp_path):
    src = shared_path("kaldi_ref", exp, "final.mdl")
    model = read_gmm_model(src)
    write_gmm_model(tmp_path / "final.mdl", model)
    assert (tmp_path / "final.mdl").read_bytes() == src.read_bytes()


@pytest.mark.parametrize("exp", MODELS[:3])
def test_text_form_matches_gmm_copy(exp):
    ref = shared_path("kaldi_ref", exp)
    model = read_gmm_model(ref / "final.mdl")
    text = (ref / "final.mdl.txt").read_bytes()
    assert gmm_model_bytes(model, binary=False) == text
    # reading Kaldi's text form and writing it again reproduces it too
    assert gmm_model_bytes(read_gmm_model(ref / "final.mdl.txt"), binary=False) == text
    assert transition_model_bytes(model.trans_model, binary=False) == (ref / "final.trans.txt").read_bytes()


@pytest.mark.parametrize("exp", ["yesno/exp/mono0a", "fsdd/exp/tri1"])
def test_transition_ids_map_to_kaldi_pdfs_and_phones(exp):
    ref = shared_path("kaldi_ref", exp)
    tm = read_transition_model(ref / "final.mdl")
    info = tm.tid_info()
    ali = {k: v for k, v in kaldiio.load_ark(gzip.open(ref / "ali.1.gz"))}

    def text_ark(name):
        out = {}
        for line in (ref / name).read_text().splitlines():
            k, *v = line.split()
            out[k] = np.array(v, int)
        return out

    pdf_ali, phone_ali = text_ark("pdf_ali.txt"), text_ark("phone_ali_per_frame.txt")
    for utt, tids in ali.items():
        np.testing.assert_array_equal(info["pdf"][tids], pdf_ali[utt])
        np.testing.assert_array_equal(info["phone"][tids], phone_ali[utt])


@pytest.mark.parametrize("sys", ["yesno/golden_decode", "fsdd/golden_decode_tri1"])
def test_log_likelihoods_match_gmm_compute_likes(sys):
    ref = shared_path("kaldi_ref", sys)
    model = read_gmm_model(ref / "final.mdl")
    feats = dict(kaldiio.load_ark(str(ref / "feats_cmvn_deltas.ark")))
    for n, (utt, want) in enumerate(kaldiio.load_ark(str(ref / "loglikes.ark"))):
        got = model.am.log_likelihoods(feats[utt])
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-3)
        if n == 3:
            break


def test_occs_written_as_gmm_est(tmp_path):
    ref = shared_path("kaldi_ref", "fsdd/exp/tri1/final.occs")
    vals = [float(t) for t in ref.read_text().split()[1:-1]]
    write_occs(tmp_path / "occs", vals)
    assert (tmp_path / "occs").read_bytes() == ref.read_bytes()


def test_truncated_model_names_file(tmp_path):
    src = shared_path("kaldi_ref", "yesno/exp/mono0a/final.mdl").read_bytes()
    bad = tmp_path / "bad.mdl"
    bad.write_bytes(src[:300])
    with pytest.raises(KaldiFormatError, match="bad.mdl"):
        read_gmm_model(bad)
    bad.write_bytes(src.replace(b"<Triples>", b"<Triplex>"))
    with pytest.raises(KaldiFormatError, match="expected <Triples>"):
        read_gmm_model(bad)
