"""The paper's tables from the trained systems of steps/paper_experiments.sh: <exp>/tableN.md (and
training_order.md) with the computed verdict under each, PNG plots of CE and state accuracy against
training steps (<exp>/tableN.png), and <exp>/RESULTS.md with all of them.

Usage: python -m dgmm.bin.paper_tables [--test-set NAME] [--tables '1 2 ...'] <exp-dir>
 e.g.: python -m dgmm.bin.paper_tables --test-set test exp/paper

Prints the verdicts, one line per table. Descriptions come from <exp>/systems.tsv.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dgmm.cli import run_main, setup_logging
from dgmm.fileutil import atomic_open
from dgmm.kaldi.tables import read_table
from dgmm.paper.systems import TABLES
from dgmm.paper.tables import ROWS, TITLES, plot_table, table_filename, table_markdown


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="paper_tables", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                usage="%(prog)s [options] <exp-dir>")
    p.add_argument("--test-set", default="test", help="test data set name (default: %(default)s)")
    p.add_argument("--tables", default=" ".join(TABLES), help="tables to write (default: all)")
    p.add_argument("exp_dir")
    args = p.parse_args(argv)
    setup_logging("paper_tables")
    exp = Path(args.exp_dir)
    systems = read_table(exp / "systems.tsv")  # name -> "kind feats init copy tables description"
    descriptions = {n: v.split("\t", 5)[-1] for n, v in systems.items()}
    scale = (exp / "scale.txt").read_text().split()[1] if (exp / "scale.txt").exists() else "?"
    parts = [f"# The paper's experiments (scale {scale}, test set {args.test_set})\n"]
    for t in args.tables.replace(",", " ").split():
        text, held = table_markdown(t, exp, args.test_set, descriptions)
        name = table_filename(t)
        with atomic_open(exp / f"{name}.md") as f:
            f.write(text)
        plot_table(exp / f"{name}.png", TITLES[t], exp, ROWS[t])
        parts.append(text)
        print(f"{name}: " + text.split("**Paper's finding ", 1)[1].split(".**", 1)[0])
    with atomic_open(exp / "RESULTS.md") as f:
        f.write("\n".join(parts))
    return 0


if __name__ == "__main__":
    run_main(main)
