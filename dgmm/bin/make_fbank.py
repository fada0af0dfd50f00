"""Compute log-mel filterbank features for one data dir (one job of steps/make_fbank.sh).

    python -m dgmm.bin.make_fbank [--config conf/fbank.conf] [--compress true|false] \\
        [--write-utt2num-frames F] [--write-utt2dur F] [--write-truncated F] <data-dir> <feats-ark> <feats-scp>

Reads ``wav.scp`` (files or ``cmd |`` pipes) and, when present, ``segments``; writes the features
of every utterance (sorted, C order) to ``<feats-ark>`` with its ``<feats-scp>``, both only once all
utterances succeeded. Bad audio stops the job with the utterance and file named. A truncated WAVE
file (data chunk shorter than its header says) is used with a warning, as by Kaldi, and counted: the
log's last line says how many, ``--write-truncated`` lists them (steps/make_fbank.sh fails the stage
when too many are).
"""

from __future__ import annotations

import argparse
import logging

from dgmm.cli import DgmmError, run_main, setup_logging, kaldi_bool
from dgmm.data.audio import data_dir_audio
from dgmm.features.fbank import FbankConfig, compute_fbank
from dgmm.kaldi.archive import ArchiveWriter
from dgmm.kaldi.tables import write_table

log = logging.getLogger("make_fbank")

def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="make_fbank", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="Kaldi-style fbank options file (--name=value lines)")
    p.add_argument("--compress", type=kaldi_bool, default=True, help="Kaldi CompressedMatrix (default true)")
    p.add_argument("--write-utt2num-frames", help="write '<utt> <frames>' lines here")
    p.add_argument("--write-utt2dur", help="write '<utt> <seconds>' lines here")
    p.add_argument("--write-truncated", help="write '<utt> <wav.scp value>' lines of utterances whose "
                   "audio file is truncated here (empty when none)")
    p.add_argument("data_dir")
    p.add_argument("ark")
    p.add_argument("scp")
    args, overrides = p.parse_known_args(argv)
    if any(not o.startswith("--") or "=" not in o for o in overrides):
        p.error(f"unrecognised arguments: {' '.join(overrides)}")
    setup_logging("make_fbank")
    cfg = FbankConfig.from_file(args.config, overrides)
    opts = cfg.knf_options()
    num_frames, durations, truncated, specs = {}, {}, set(), {}
    with ArchiveWriter(args.ark, args.scp, compress=args.compress) as w:
        audio = data_dir_audio(args.data_dir, int(cfg.sample_frequency), cfg.allow_downsample,
                               cfg.allow_upsample, cfg.channel, truncated=truncated)
        for utt, spec, x, dur in audio:
            specs[utt] = spec
            if dur < cfg.min_duration:
                raise DgmmError(f"utterance {utt}: audio '{spec}' is {dur:.3f} s, shorter than --min-duration")
            feats = compute_fbank(x, cfg, opts)
            if feats.shape[0] == 0:
                raise DgmmError(f"utterance {utt}: audio '{spec}' ({len(x)} samples) is shorter than one frame")
            w[utt] = feats
            num_frames[utt], durations[utt] = feats.shape[0], round(dur, 4)
    if args.write_utt2num_frames:
        write_table(args.write_utt2num_frames, num_frames)
    if args.write_utt2dur:
        write_table(args.write_utt2dur, durations)
    if args.write_truncated:
        write_table(args.write_truncated, {u: specs[u] for u in sorted(truncated)})
    log.info("Processed %d utterances, %d with truncated audio; %d frames, %d-dim fbank, %s", len(num_frames),
             len(truncated), sum(num_frames.values()), cfg.dim, "compressed" if args.compress else "uncompressed")
    return 0


if __name__ == "__main__":
    run_main(main)
