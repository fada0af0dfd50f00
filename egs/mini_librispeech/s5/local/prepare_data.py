#!/usr/bin/env python3
"""Prepare Kaldi data dirs for the Mini LibriSpeech speaker subset, split by its ``split.txt``.

Usage: local/prepare_data.py <corpus-dir> <data-dir>

<corpus-dir> holds ``audio.list``, ``transcripts.txt``, ``utt2spk`` and ``split.txt`` (lines
``<set> <speaker> <speaker>...``). Writes <data-dir>/{train,dev,test}/{wav.scp,text,utt2spk,spk2utt}
with ``flac -c -d -s <file> |`` pipes in wav.scp, as the compiled-Kaldi reference run
(../shared/kaldi_ref/mini_librispeech) did, so its alignments import unchanged.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))  # the dgmm package when run without path.sh
from dgmm.data.datadir import write_data_dir  # noqa: E402
from dgmm.kaldi.tables import read_table  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus_dir", type=Path)
    ap.add_argument("data_dir", type=Path)
    args = ap.parse_args()
    c = args.corpus_dir.resolve()
    audio = read_table(c / "audio.list")
    text = read_table(c / "transcripts.txt")
    utt2spk = read_table(c / "utt2spk")
    spk2set = {}
    with open(c / "split.txt") as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            for spk in fields[1:]:
                if spk in spk2set:
                    sys.exit(f"{c / 'split.txt'}:{lineno}: speaker {spk} is in two sets")
                spk2set[spk] = fields[0]
    sets: dict[str, list[str]] = {}
    for utt, spk in utt2spk.items():
        if spk not in spk2set:
            sys.exit(f"{c / 'utt2spk'}: speaker {spk} of {utt} is in no set of split.txt")
        if utt not in audio or utt not in text:
            sys.exit(f"{c}: utterance {utt} lacks {'audio.list' if utt not in audio else 'transcripts.txt'} entry")
        sets.setdefault(spk2set[spk], []).append(utt)
    for name, utts in sorted(sets.items()):
        write_data_dir(args.data_dir / name, {u: f"flac -c -d -s {c / audio[u]} |" for u in utts},
                       {u: text[u] for u in utts}, {u: utt2spk[u] for u in utts})
        print(f"{sys.argv[0]}: {name}: {len(utts)} utterances, {len({utt2spk[u] for u in utts})} speakers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
