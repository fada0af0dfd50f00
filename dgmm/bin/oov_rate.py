"""Word-level out-of-vocabulary (OOV) rate of Kaldi ``text`` files against a vocabulary.

    python -m dgmm.bin.oov_rate --vocab <words.txt> [--hyp <hyp-text>] <text>...

e.g.: python -m dgmm.bin.oov_rate --vocab data/lang/words.txt data/dev/text data/test/text
      python -m dgmm.bin.oov_rate --vocab data/lang_grapheme/words.txt \
        --hyp exp_subword/gmm_decode_dev/scoring_kaldi/penalty_0.0/12.txt data/dev/text

Prints one line per text: ``<text>: OOV rate 2.87 % (81 / 2818 tokens; 60 / 1067 types) vocabulary 4063``.
The vocabulary is the first column of <words.txt> (a word list works) without Kaldi's special symbols
(``<eps> #0 <s> </s>``); a token counts as OOV when it is not in it (so the OOV word ``<UNK>`` of a
lang dir never makes a word in-vocabulary).
--hyp (one <text> only): a decode's word hypotheses (e.g. scoring_kaldi/penalty_<WIP>/<LMWT>.txt);
also counts the OOV reference tokens that the minimum-edit alignment of each utterance pairs with an
identical hypothesis word (recognised although out of the vocabulary: an open-vocabulary system), and
the hypothesis tokens outside the vocabulary (words the system formed from pieces).
"""

from __future__ import annotations

import argparse

from dgmm.cli import run_main, setup_logging
from dgmm.kaldi.tables import read_table, read_vocab
from dgmm.scoring.wer import correct_ref_positions


def oov_counts(text: dict[str, str], vocab: set[str]) -> tuple[int, int, int, int]:
    """(OOV tokens, tokens, OOV types, types) of the transcripts ``text`` (utt -> words)."""
    tokens = [w for words in text.values() for w in words.split()]
    types = set(tokens)
    return (sum(w not in vocab for w in tokens), len(tokens), len(types - vocab), len(types))


def oov_recognised(text: dict[str, str], hyp: dict[str, str], vocab: set[str]) -> int:
    """OOV tokens of ``text`` aligned to an identical word of ``hyp`` (utterances missing in hyp: none)."""
    n = 0
    for utt, words in text.items():
        ref = words.split()
        n += sum(ref[k] not in vocab for k in correct_ref_positions(ref, hyp.get(utt, "").split()))
    return n


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="oov_rate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vocab", required=True, help="words.txt or word list (first column)")
    p.add_argument("--hyp", help="hypotheses (Kaldi text) of the one <text>: count OOV tokens recognised")
    p.add_argument("texts", nargs="+", metavar="<text>")
    a = p.parse_args(argv)
    setup_logging("oov_rate")
    if a.hyp and len(a.texts) != 1:
        p.error("--hyp needs exactly one <text>")
    vocab = set(read_vocab(a.vocab))
    for t in a.texts:
        text = read_table(t, allow_empty_value=True)
        oov, n, oov_types, n_types = oov_counts(text, vocab)
        print(f"{t}: OOV rate {100.0 * oov / max(n, 1):.2f} % ({oov} / {n} tokens; {oov_types} / {n_types} "
              f"types) vocabulary {len(vocab)} ({a.vocab})")
        if a.hyp:
            hyp = read_table(a.hyp, allow_empty_value=True)
            hit = oov_recognised(text, hyp, vocab)
            hyp_oov = sum(w not in vocab for words in hyp.values() for w in words.split())
            print(f"{a.hyp}: {hit} / {oov} OOV tokens recognised ({100.0 * hit / max(oov, 1):.2f} %); "
                  f"{hyp_oov} hypothesis tokens out of the vocabulary")
    return 0


if __name__ == "__main__":
    run_main(main)
