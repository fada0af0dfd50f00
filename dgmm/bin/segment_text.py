"""Segment words into sentencepiece pieces (word-initial pieces marked with U+2581), or join pieces back.

    python -m dgmm.bin.segment_text --model <spm.model> [--no-utt-ids] <text-in> <text-out>
    python -m dgmm.bin.segment_text --join [--no-utt-ids] <text-in> <text-out>

e.g.: python -m dgmm.bin.segment_text --model data/local/subword/spm.model data/train/text data/local/subword/train_text

Kaldi ``text`` in and out (utterance-id kept; --no-utt-ids for plain sentences; ``-`` = stdin/stdout).
Pieces without a letter are glued to their neighbour (dgmm.lang.subword). --join is the inverse: pieces
with the mark start a word, others continue it (--whole-words lists tokens that stand alone, e.g.
``<UNK>``). Segmenting then joining is the identity on any text the model was trained on.
"""

from __future__ import annotations

import argparse
import sys

from dgmm.cli import DgmmError, run_main, setup_logging
from dgmm.fileutil import atomic_open
from dgmm.lang.subword import BOUNDARY, Segmenter, join_pieces


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="segment_text", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--model", help="sentencepiece model: segment words into pieces")
    mode.add_argument("--join", action="store_true", help="join pieces into words")
    p.add_argument("--boundary", default=BOUNDARY, help="word-boundary mark (default: U+2581)")
    p.add_argument("--whole-words", default="", help="with --join: space-separated tokens that are words")
    p.add_argument("--no-utt-ids", action="store_true", help="plain sentences without utterance ids")
    p.add_argument("input")
    p.add_argument("output")
    a = p.parse_args(argv)
    setup_logging("segment_text")
    seg = Segmenter(a.model) if a.model else None
    whole = a.whole_words.split()
    skip = 0 if a.no_utt_ids else 1
    fin = sys.stdin if a.input == "-" else open(a.input, encoding="utf-8")
    out = []
    with fin:
        for lineno, line in enumerate(fin, 1):
            f = line.split()
            if not f:
                continue
            try:
                toks = seg.words(f[skip:]) if seg else join_pieces(f[skip:], a.boundary, whole)
            except ValueError as e:
                raise DgmmError(f"{a.input}:{lineno}: {e}") from None
            out.append(" ".join(f[:skip] + toks) + "\n")
    if a.output == "-":
        sys.stdout.writelines(out)
    else:
        with atomic_open(a.output, encoding="utf-8") as fo:
            fo.writelines(out)
    return 0


if __name__ == "__main__":
    run_main(main)
