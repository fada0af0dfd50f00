"""Graph-building benchmark on Mini LibriSpeech: CMUdict lexicon of the train words, prepare_lang,
Witten-Bell trigram of the train transcripts, format_lm, mkgraph with Kaldi's tri2b (1200 pdfs) and
mono-size check. Reports wall time per stage and graph size; compares the phone-set files of our lang
dir with Kaldi's (those that do not depend on the vocabulary).

    .venv/bin/python benchmarks/bench_mkgraph.py <work-dir>
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

from dgmm.bin import format_lm
from dgmm.graph.mkgraph import mkgraph
from dgmm.lang.lexicon import LexiconEntry, cmudict_lexicon, write_dict_dir
from dgmm.lang.ngram import WittenBellLM
from dgmm.lang.prepare_lang import prepare_lang

REF = Path(__file__).resolve().parents[2] / "shared" / "kaldi_ref" / "mini_librispeech"


def main(work: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    times = {}
    t = time.time()
    sents = [line.split()[1:] for line in open(REF / "data" / "train" / "text")]
    entries, missing = cmudict_lexicon({w for s in sents for w in s})
    entries += [LexiconEntry("!SIL", 1.0, ("SIL",)), LexiconEntry("<UNK>", 1.0, ("SPN",))]
    nonsil = (REF / "data" / "local" / "dict" / "nonsilence_phones.txt").read_text().split()
    write_dict_dir(work / "dict", entries, ["SIL", "SPN"], "SIL", nonsil)
    times["CMUdict lexicon"] = time.time() - t
    t = time.time()
    prepare_lang(work / "dict", "<UNK>", work / "tmp", work / "lang")
    times["prepare_lang"] = time.time() - t
    same = [f for f in ("topo", "phones/silence.txt", "phones/nonsilence.txt", "phones/sets.int", "phones/roots.int",
                        "phones/extra_questions.int", "phones/word_boundary.int", "phones/context_indep.csl",
                        "phones/optional_silence.int", "oov.txt")
            if (work / "lang" / f).read_bytes() == (REF / "data" / "lang" / f).read_bytes()]
    t = time.time()
    vocab = {e.word for e in entries}
    WittenBellLM(sents, order=3, vocab=vocab - {"!SIL"}, unk="<UNK>").write_arpa(work / "lm.arpa.gz")
    times["trigram LM"] = time.time() - t
    t = time.time()
    format_lm.main([str(work / "lang"), str(work / "lm.arpa.gz"), str(work / "lang_test_tg")])
    times["format_lm (arpa2fst)"] = time.time() - t
    for system in ("tri2b",):
        t = time.time()
        mkgraph(work / "lang_test_tg", REF / "exp" / system, work / f"graph_{system}")
        times[f"mkgraph {system}"] = time.time() - t
    size = (work / "graph_tri2b" / "HCLG.fst").stat().st_size
    print(f"lexicon: {len(entries)} prons, {len(missing)} train words not in CMUdict -> <UNK>")
    print(f"phone-set files identical to Kaldi's: {len(same)}/10 {same}")
    for k, v in times.items():
        print(f"| {k} | {v:.1f} s |")
    print(f"HCLG.fst (tri2b, word trigram): {size / 1e6:.1f} MB; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
