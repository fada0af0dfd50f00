"""Sort a Kaldi data dir and keep only utterances present in every table (originals in .backup/).

    python -m dgmm.bin.fix_data_dir <data-dir>
"""

from __future__ import annotations

import argparse

from dgmm.cli import run_main
from dgmm.data.datadir import fix_data_dir


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="fix_data_dir", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data_dir")
    args = p.parse_args(argv)
    kept, before = fix_data_dir(args.data_dir)
    print(f"fix_data_dir: kept {kept} utterances out of {before}")
    return 0


if __name__ == "__main__":
    run_main(main)
