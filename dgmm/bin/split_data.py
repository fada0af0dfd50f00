"""Split a Kaldi data dir into N parts: <data>/split<N>/<n> by speaker, or <data>/split<N>utt/<n>.

    python -m dgmm.bin.split_data [--per-utt] <data-dir> <num-to-split>
"""

from __future__ import annotations

import argparse

from dgmm.cli import run_main
from dgmm.data.datadir import split_data_dir


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="split_data", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-utt", action="store_true", help="split by utterance, not by speaker")
    p.add_argument("data_dir")
    p.add_argument("num_to_split", type=int)
    args = p.parse_args(argv)
    split_data_dir(args.data_dir, args.num_to_split, args.per_utt)
    return 0


if __name__ == "__main__":
    run_main(main)
