"""Estimate an interpolated Witten-Bell n-gram LM from training text and write it as ARPA.

    python -m dgmm.bin.make_ngram_lm [--order 3] [--vocab <file>] [--unk <word>] [--no-utt-ids] <text> <lm.arpa[.gz]>

e.g.: python -m dgmm.bin.make_ngram_lm --order 3 --unk "<UNK>" --vocab data/lang/words.txt
        data/train/text lm/word_3g.arpa.gz

<text> is a Kaldi ``text`` file (utterance-id, then words; --no-utt-ids for plain sentences). --vocab
(a word list or words.txt, first column, each word once) adds words without counts; its special
symbols (<eps>, #0, <s>, </s>, #n) are ignored. Words outside the vocabulary become --unk (an error without it).
"""

from __future__ import annotations

import argparse
import logging

from dgmm.cli import run_main, setup_logging
from dgmm.kaldi.tables import read_sentences, read_vocab
from dgmm.lang.ngram import WittenBellLM

log = logging.getLogger("make_ngram_lm")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="make_ngram_lm", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--order", type=int, default=3, help="n-gram order (default: %(default)s)")
    p.add_argument("--vocab", help="vocabulary file (first column; words.txt works)")
    p.add_argument("--unk", help="word that out-of-vocabulary words are mapped to, e.g. <UNK>")
    p.add_argument("--no-utt-ids", action="store_true", help="the text has no utterance-id column")
    p.add_argument("text")
    p.add_argument("arpa")
    a = p.parse_args(argv)
    setup_logging("make_ngram_lm")
    sentences = read_sentences(a.text, utt_ids=not a.no_utt_ids)
    vocab = None
    if a.vocab:
        vocab = read_vocab(a.vocab)
        if a.unk and a.unk not in vocab:
            vocab.append(a.unk)
    lm = WittenBellLM(sentences, order=a.order, vocab=vocab, unk=a.unk)
    lm.write_arpa(a.arpa)
    log.info("Wrote %s: order %d, %d sentences, vocabulary %d, n-grams %s", a.arpa, a.order, len(sentences),
             len(lm.vocab), " ".join(str(len(c)) for c in lm.counts[1:]))
    return 0


if __name__ == "__main__":
    run_main(main)
