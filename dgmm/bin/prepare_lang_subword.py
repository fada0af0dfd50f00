"""Make a lang dir over subword pieces, with the phones of a graphemic lang dir (see utils/prepare_lang_subword.sh).

    python -m dgmm.bin.prepare_lang_subword [--model <spm.model>] [--no-utt-ids] <piece-text> <grapheme-lang> <lang-dir>

e.g.: python -m dgmm.bin.prepare_lang_subword --model data/local/subword/spm.model \\
        data/local/subword/train_text data/lang_grapheme data/lang_subword

<piece-text>: segmented text (Kaldi ``text``; --no-utt-ids: plain sentences);
its pieces, the model's pieces and every single letter (word-initial and not) form the vocabulary.
L.fst lets any piece sequence form words with Kaldi's word-position markers (dgmm.lang.subword).
"""

from __future__ import annotations

import argparse

from dgmm.cli import run_main, setup_logging
from dgmm.kaldi.tables import read_sentences
from dgmm.lang.subword import BOUNDARY, Segmenter, prepare_lang_subword


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="prepare_lang_subword", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="sentencepiece model: its pieces join the vocabulary; copied as subword.model")
    p.add_argument("--boundary", default=BOUNDARY, help="word-boundary mark (default: U+2581)")
    p.add_argument("--sil-prob", type=float, default=0.5, help="optional silence between words (default: %(default)s)")
    p.add_argument("--no-utt-ids", action="store_true", help="<piece-text> has no utterance-id column")
    p.add_argument("piece_text")
    p.add_argument("grapheme_lang")
    p.add_argument("lang_dir")
    a = p.parse_args(argv)
    setup_logging("prepare_lang_subword")
    pieces = {t for s in read_sentences(a.piece_text, utt_ids=not a.no_utt_ids) for t in s}
    if a.model:
        pieces |= set(Segmenter(a.model).vocabulary())
    prepare_lang_subword(pieces, a.grapheme_lang, a.lang_dir, a.boundary, a.model, a.sil_prob)
    return 0


if __name__ == "__main__":
    run_main(main)
