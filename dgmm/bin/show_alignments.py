"""Print alignments in human-readable form, as Kaldi's ``show-alignments``.

For each utterance: a line with the transition-ids grouped per phone (``[ 4 1 1 16 ]``), a line with the
phone symbols aligned under their groups, and an empty line.

    python -m dgmm.bin.show_alignments data/lang/phones.txt exp/mono/final.mdl \
        "ark:gunzip -c exp/mono/ali.1.gz|"
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

import numpy as np

from dgmm.cli import run_main
from dgmm.kaldi.alignments import read_int_vectors, split_to_phones
from dgmm.kaldi.symbols import SymbolTable, read_symbol_table
from dgmm.kaldi.transition_model import TransitionModel, read_transition_model


def format_alignment(key: str, ali: np.ndarray, tm: TransitionModel, phones: SymbolTable) -> str:
    """The three lines ``show-alignments`` prints for one utterance (the last one empty)."""
    if len(ali) and (ali.min() < 1 or ali.max() > tm.num_transition_ids):
        raise ValueError(f"utterance {key}: transition-id outside 1..{tm.num_transition_ids}")
    ids, syms = [], []
    for piece in split_to_phones(tm, ali):
        a = "[ " + "".join(f"{t} " for t in piece.tolist()) + "] "
        b = phones.symbol(int(tm.tid2phone[piece[0]])) + " "
        width = max(len(a), len(b))
        ids.append(a.ljust(width))
        syms.append(b.ljust(width))
    return f"{key}  {''.join(ids)}\n{key}  {''.join(syms)}\n\n"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="show_alignments", description="Display alignments in human-readable form (as Kaldi's "
        "show-alignments).", epilog='e.g.: python -m dgmm.bin.show_alignments phones.txt 1.mdl '
        '"ark:gunzip -c ali.1.gz|"')
    p.add_argument("phones", help="phone symbol table (phones.txt)")
    p.add_argument("model", help="Kaldi model whose transition model the alignments use (final.mdl)")
    p.add_argument("alignments", help="rspecifier of transition-id alignments")
    args = p.parse_args(argv)
    phones = read_symbol_table(args.phones)
    tm = read_transition_model(args.model)
    out = sys.stdout
    for key, ali, src in read_int_vectors(args.alignments):
        try:
            out.write(format_alignment(key, ali, tm, phones))
        except ValueError as e:
            raise ValueError(f"{src}: {e} (model {args.model})") from None
    return 0


if __name__ == "__main__":
    run_main(main)
