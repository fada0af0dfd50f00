"""Check a Kaldi data dir (sorting, unique keys, consistent utterance/speaker sets).

    python -m dgmm.bin.validate_data_dir [--no-feats] [--no-text] [--no-wav] <data-dir>
"""

from __future__ import annotations

import argparse

from dgmm.cli import DgmmError, run_main
from dgmm.data.datadir import validate_data_dir


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="validate_data_dir", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--no-feats", action="store_true", help="do not require feats.scp")
    p.add_argument("--no-text", action="store_true", help="do not require text")
    p.add_argument("--no-wav", action="store_true", help="do not require wav.scp")
    p.add_argument("data_dir")
    args = p.parse_args(argv)
    problems = validate_data_dir(args.data_dir, args.no_feats, args.no_text, args.no_wav)
    if problems:
        raise DgmmError(f"{args.data_dir} is not a valid data dir:\n  " + "\n  ".join(problems))
    print(f"validate_data_dir: successfully validated data-directory {args.data_dir}")
    return 0


if __name__ == "__main__":
    run_main(main)
