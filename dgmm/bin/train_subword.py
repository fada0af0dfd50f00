"""Train a sentencepiece subword model (unigram or BPE) on transcripts.

    python -m dgmm.bin.train_subword [--vocab-size 500] [--model-type unigram] [--extra-text <file>] <text>... <model-prefix>

e.g.: python -m dgmm.bin.train_subword --vocab-size 500 data/train/text data/local/subword/spm

<text> is a Kaldi ``text`` table (utterance-id, words); --extra-text (repeatable) adds plain sentences
(e.g. extra LM text). Writes <model-prefix>.model and <model-prefix>.vocab. Identity
normalisation and full character coverage (dgmm.lang.subword.train_model), so that segmenting the
training transcripts and joining the pieces gives them back unchanged.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from dgmm.cli import run_main, setup_logging
from dgmm.kaldi.tables import read_sentences
from dgmm.lang.subword import Segmenter, train_model

log = logging.getLogger("train_subword")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="train_subword", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vocab-size", type=int, default=500, help="number of pieces (default: %(default)s)")
    p.add_argument("--model-type", choices=["unigram", "bpe"], default="unigram", help="(default: %(default)s)")
    p.add_argument("--extra-text", action="append", default=[], help="plain sentences, one per line")
    p.add_argument("files", nargs="+", metavar="<text>... <model-prefix>")
    a = p.parse_args(argv)
    setup_logging("train_subword")
    if len(a.files) < 2:
        p.error("expected at least one <text> and the <model-prefix>")
    *texts, prefix = a.files
    sentences = [" ".join(s) for t in texts for s in read_sentences(t)]
    sentences += [" ".join(s) for t in a.extra_text for s in read_sentences(t, utt_ids=False)]
    Path(prefix).parent.mkdir(parents=True, exist_ok=True)
    model = train_model(sentences, prefix, a.vocab_size, a.model_type)
    log.info("Wrote %s: %s model, %d pieces, from %d sentences", model, a.model_type,
             len(Segmenter(model).vocabulary()), len(sentences))
    return 0


if __name__ == "__main__":
    run_main(main)
