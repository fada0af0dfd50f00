"""Test data for the training tests: a small FSDD data dir + imported-alignment dir.

Features: 13-dim MFCC as the reference recipe's conf/mfcc.conf (--use-energy=false, 8 kHz), dither 0,
computed here with kaldi-native-fbank (the reference run's own features were dithered and are not
stored); frame counts equal the Kaldi alignments' (snip-edges; checked against the reference run's
``ali-to-pdf`` dump ``exp/mono_ali/pdf_ali.txt``). CMVN stats per speaker (compute-cmvn-stats
--spk2utt format [2, D+1]). Alignments: the reference run's ``exp/mono_ali`` (67 pdfs) imported with
dgmm.bin.import_ali (pdf_ali.scp, num_pdfs, pdf_counts), as steps/import_ali.sh does.
"""

from __future__ import annotations

from pathlib import Path

import kaldi_native_fbank as knf
import kaldiio
import numpy as np
import soundfile as sf

from dgmm.bin import import_ali


TRAIN_SPEAKERS = ("george", "jackson", "lucas", "nicolas", "yweweler")


def _writer(d: Path, name: str):
    return kaldiio.WriteHelper(f"ark,scp:{d / name}.ark,{d / name}.scp")


def _mfcc(wav: Path) -> np.ndarray:
    samples, sr = sf.read(str(wav), dtype="int16")
    opts = knf.MfccOptions()
    opts.frame_opts.samp_freq = sr
    opts.frame_opts.dither = 0.0
    opts.use_energy = False
    m = knf.OnlineMfcc(opts)
    m.accept_waveform(sr, samples.astype(np.float32).tolist())
    m.input_finished()
    return np.stack([m.get_frame(i) for i in range(m.num_frames_ready)]).astype(np.float32)


def make_fsdd(root: Path, shared: Path, speakers=TRAIN_SPEAKERS[:4], per_digit: int = 6,
              ali: str = "mono_ali") -> tuple[Path, Path]:
    """Write ``root/data`` (feats.scp, cmvn.scp, utt2spk, spk2utt, utt2num_frames) and ``root/ali``."""
    rec = shared / "corpora" / "fsdd" / "recordings"
    ref = shared / "kaldi_ref" / "fsdd" / "exp" / ali
    data, ali_dir = root / "data", root / "ali"
    data.mkdir(parents=True)
    utts = sorted(f"{s}_{d}_{i}" for s in speakers for d in range(10) for i in range(per_digit))
    ali_len = {}
    with open(ref / "pdf_ali.txt") as f:
        wanted = set(utts)
        for line in f:
            key, *ids = line.split()
            if key in wanted:
                ali_len[key] = len(ids)
    stats: dict[str, np.ndarray] = {}
    with _writer(data, "feats") as w:
        n2f = []
        for u in utts:
            spk, digit, idx = u.split("_")
            m = _mfcc(rec / f"{digit}_{spk}_{idx}.wav")
            assert len(m) == ali_len[u], (u, len(m), ali_len[u])
            w(u, m)
            n2f.append(f"{u} {len(m)}\n")
            x = m.astype(np.float64)
            s = stats.setdefault(spk, np.zeros((2, m.shape[1] + 1)))
            s[0, :-1] += x.sum(0)
            s[0, -1] += len(x)
            s[1, :-1] += (x * x).sum(0)
    with _writer(data, "cmvn") as w:
        for spk in sorted(stats):
            w(spk, stats[spk])
    (data / "utt2spk").write_text("".join(f"{u} {u.split('_')[0]}\n" for u in utts))
    (data / "spk2utt").write_text("".join(
        f"{s} {' '.join(u for u in utts if u.startswith(s + '_'))}\n" for s in sorted(stats)))
    (data / "utt2num_frames").write_text("".join(n2f))
    # the alignments as steps/import_ali.sh imports them (transition-ids of ali.*.gz -> pdf-ids)
    kref = shared / "kaldi_ref" / "fsdd"
    assert import_ali.main(["--lang", str(kref / "data" / "lang"), str(kref / "exp" / ali), str(data),
                            str(ali_dir)]) == 0
    return data, ali_dir
