"""Speed-perturbed copy of a Kaldi data dir (Kaldi's utils/data/perturb_data_dir_speed_3way.sh).

    python -m dgmm.bin.perturb_data_dir_speed [--factors 0.9,1.0,1.1] [--always-include-prefix true]
        [--include-spk-prefix false] <src-data> <dest-data>

<dest-data> gets the audio of <src-data> at each speed factor (sox ``speed`` pipes in wav.scp), ids
prefixed ``sp<factor>-`` (the 1.0 copy keeps its ids unless --always-include-prefix), utt2dur, and
utt2uniq mapping each copy to its original utterance. Make features for it afterwards.
"""

from __future__ import annotations

import argparse
import shutil

from dgmm.cli import DgmmError, kaldi_bool, run_main
from dgmm.data.perturb import SPEEDS_3WAY, perturb_data_dir_speed


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="perturb_data_dir_speed", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--factors", default=",".join(map(str, SPEEDS_3WAY)),
                   help="comma-separated speed factors (default: %(default)s)")
    p.add_argument("--always-include-prefix", type=kaldi_bool, default=False,
                   help="prefix the 1.0 copy's ids with sp1.0- too (default: false)")
    p.add_argument("--include-spk-prefix", type=kaldi_bool, default=True,
                   help="prefix speaker ids as well; false keeps each copy with its original speaker "
                        "(default: true)")
    p.add_argument("src")
    p.add_argument("dest")
    a = p.parse_args(argv)
    try:
        factors = [float(f) for f in a.factors.split(",")]
    except ValueError:
        raise DgmmError(f"--factors: expected comma-separated numbers, got {a.factors!r}") from None
    if not factors or min(factors) <= 0 or len(set(factors)) != len(factors):
        raise DgmmError(f"--factors: expected distinct positive numbers, got {a.factors!r}")
    if shutil.which("sox") is None and any(f != 1.0 for f in factors):
        raise DgmmError("sox: command not found (speed perturbation pipes audio through sox)")
    n = perturb_data_dir_speed(a.src, a.dest, factors, a.always_include_prefix, a.include_spk_prefix)
    print(f"perturb_data_dir_speed: {n} utterances at speeds {','.join(map(str, factors))} from {a.src} in {a.dest}")
    return 0


if __name__ == "__main__":
    run_main(main)
