#!/usr/bin/env python3
"""Prepare Kaldi data dirs for the Free Spoken Digit Dataset (FSDD), speaker-disjoint.

Usage: local/prepare_data.py [--test-speakers theo] <fsdd-dir> <data-dir>

<fsdd-dir> holds ``recordings/{digit}_{speaker}_{index}.wav`` (the FSDD repository layout).
Writes <data-dir>/{train,test}/{wav.scp,text,utt2spk,spk2utt}. Utterance ids are
``<speaker>_<digit>_<index>`` and words are lower-case digit names, the conventions of the compiled-Kaldi
reference run (../shared/kaldi_ref/fsdd), so its alignments import unchanged (``--kaldi-ali``).
"""

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))  # the dgmm package when run without path.sh
from dgmm.data.datadir import write_data_dir  # noqa: E402

WORDS = "zero one two three four five six seven eight nine".split()
NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--test-speakers", default="theo", help="comma-separated test speakers (default: %(default)s)")
    ap.add_argument("fsdd_dir", type=Path)
    ap.add_argument("data_dir", type=Path)
    args = ap.parse_args()

    rec = args.fsdd_dir / "recordings"
    wavs = sorted(rec.glob("*.wav"))
    if not wavs:
        sys.exit(f"{sys.argv[0]}: no recordings/*.wav under {args.fsdd_dir}")
    test_spk = set(args.test_speakers.split(","))
    sets = {"train": {}, "test": {}}
    for wav in wavs:
        m = NAME.match(wav.name)
        if not m:
            sys.exit(f"{sys.argv[0]}: unexpected file name {wav} (want <digit>_<speaker>_<index>.wav)")
        digit, spk, idx = m.groups()
        utt = f"{spk}_{digit}_{int(idx)}"
        sets["test" if spk in test_spk else "train"][utt] = (spk, WORDS[int(digit)], wav.resolve())
    for name, utts in sets.items():
        if not utts:
            sys.exit(f"{sys.argv[0]}: the {name} set is empty (test speakers: {sorted(test_spk)})")
        write_data_dir(args.data_dir / name, {u: str(p) for u, (_, _, p) in utts.items()},
                       {u: w for u, (_, w, _) in utts.items()}, {u: s for u, (s, _, _) in utts.items()})
        print(f"{sys.argv[0]}: {name}: {len(utts)} utterances, {len({s for s, _, _ in utts.values()})} speakers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
