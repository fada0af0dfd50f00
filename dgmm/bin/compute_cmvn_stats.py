"""Per-speaker (default) or global CMVN statistics of a data dir's features, as Kaldi's.

    python -m dgmm.bin.compute_cmvn_stats [--global] [--fake] <data-dir> <cmvn-ark> <cmvn-scp>

Writes one [2, D+1] float64 matrix per speaker of ``<data-dir>/spk2utt`` (Kaldi's ``compute-cmvn-stats
--spk2utt``); ``--global`` writes the statistics of all utterances under every speaker (so ``apply-cmvn
--utt2spk`` applies them unchanged); ``--fake`` writes statistics that leave features unchanged.
"""

from __future__ import annotations

import argparse
import logging

import kaldiio

from dgmm.cli import DgmmError, run_main, setup_logging
from dgmm.features.cmvn import compute_cmvn_stats, fake_cmvn_stats
from dgmm.kaldi.archive import ArchiveWriter
from dgmm.kaldi.tables import read_table

log = logging.getLogger("compute_cmvn_stats")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="compute_cmvn_stats", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--global", dest="global_", action="store_true", help="one set of stats for all speakers")
    p.add_argument("--fake", action="store_true", help="identity stats (mean 0, variance 1)")
    p.add_argument("data_dir")
    p.add_argument("ark")
    p.add_argument("scp")
    args = p.parse_args(argv)
    setup_logging("compute_cmvn_stats")
    d = args.data_dir
    spk2utt = {s: v.split() for s, v in read_table(f"{d}/spk2utt").items()}
    feats = kaldiio.load_scp(f"{d}/feats.scp")

    def utt_feats(utts):
        for u in utts:
            if u not in feats:
                raise DgmmError(f"{d}/feats.scp: no features for utterance {u}")
            try:
                yield feats[u]
            except Exception as e:   # kaldiio raises assorted errors for a broken archive
                raise DgmmError(f"{d}/feats.scp: cannot read features of utterance {u}: {e}") from None

    if args.fake:
        dim = next(utt_feats([next(iter(feats))])).shape[1]
        per_spk = {s: fake_cmvn_stats(dim) for s in spk2utt}
    elif args.global_:
        stats = compute_cmvn_stats(utt_feats([u for us in spk2utt.values() for u in us]))
        per_spk = {s: stats for s in spk2utt}
    else:
        per_spk = {s: compute_cmvn_stats(utt_feats(us)) for s, us in spk2utt.items()}
    with ArchiveWriter(args.ark, args.scp) as w:
        for s in sorted(per_spk, key=lambda k: k.encode()):
            w[s] = per_spk[s]
    frames = sum(int(m[0, -1]) for m in per_spk.values())
    log.info("Wrote %s CMVN stats for %d speakers (%d frames)",
             "fake" if args.fake else "global" if args.global_ else "per-speaker", len(per_spk), frames)
    return 0


if __name__ == "__main__":
    run_main(main)
