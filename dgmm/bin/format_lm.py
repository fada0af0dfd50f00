"""Copy a lang dir and add G.fst: from an ARPA LM, or a grammar for isolated-word / word-loop tasks.

    python -m dgmm.bin.format_lm <lang-dir> <arpa-lm[.gz]> <out-lang-dir>
    python -m dgmm.bin.format_lm --grammar isolated|loop [--words <file>] <lang-dir> <out-lang-dir>

e.g.: python -m dgmm.bin.format_lm data/lang data/local/lm/3g.arpa.gz data/lang_test_tg
      python -m dgmm.bin.format_lm --grammar isolated data/lang data/lang_test

ARPA: ``arpa2fst --disambig-symbol=#0 --read-symbol-table=words.txt`` (kaldilm). Grammars: exactly one
word per utterance (``isolated``: each word 1/N) or any sequence (``loop``). Their words default to
every word of words.txt except the OOV word (oov.txt), words pronounced only with silence phones, and
the special symbols; --words gives the list instead (a word list or words.txt: first column, each word
once, special symbols skipped).
"""

from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

from dgmm.cli import DgmmError, run_main, setup_logging
from dgmm.fileutil import atomic_path
from dgmm.kaldi.tables import read_vocab
from dgmm.lang.ngram import arpa_to_g_fst, word_grammar_fst_text
from dgmm.lang.prepare_lang import compile_fst

log = logging.getLogger("format_lm")


def grammar_words(lang: Path) -> list[str]:
    """Words of the lang dir that a word grammar should allow (see the module doc)."""
    oov = (lang / "oov.txt").read_text().split() if (lang / "oov.txt").exists() else []
    silence = set((lang / "phones" / "silence.txt").read_text().split())
    prons: dict[str, list[list[str]]] = {}
    for line in open(lang / "phones" / "align_lexicon.txt", encoding="utf-8"):
        f = line.split()
        prons.setdefault(f[0], []).append(f[2:])
    return [w for w in read_vocab(lang / "words.txt") if w not in oov
            and not (w in prons and all(all(p in silence for p in pron) for pron in prons[w]))]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="format_lm", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--grammar", choices=("isolated", "loop"), help="write a word grammar instead of an ARPA LM")
    p.add_argument("--words", help="the grammar's words, one per line (default: see above)")
    p.add_argument("args", nargs="+", metavar="<lang-dir> [<arpa-lm>] <out-lang-dir>")
    a = p.parse_args(argv)
    setup_logging("format_lm")
    if len(a.args) != (2 if a.grammar else 3):
        p.error("expected <lang-dir> <out-lang-dir> with --grammar, else <lang-dir> <arpa-lm> <out-lang-dir>")
    lang, out = Path(a.args[0]), Path(a.args[-1])
    for f in ("words.txt", "L_disambig.fst", "phones.txt"):
        if not (lang / f).is_file():
            raise DgmmError(f"expected file {lang / f} to exist")
    words_txt = lang / "words.txt"
    if a.grammar:
        ids = {w: int(i) for w, i in (line.split() for line in open(words_txt, encoding="utf-8") if line.strip())}
        words = read_vocab(a.words) if a.words else grammar_words(lang)
        g = compile_fst(word_grammar_fst_text(words, ids, loop=a.grammar == "loop"), "ilabel")
        what = f"{a.grammar} grammar over {len(words)} words"
    else:
        if not Path(a.args[1]).is_file():
            raise DgmmError(f"no such ARPA file: {a.args[1]}")
        g = arpa_to_g_fst(a.args[1], words_txt)
        what = f"ARPA LM {a.args[1]}"
    if out.resolve() != lang.resolve():
        shutil.copytree(lang, out, dirs_exist_ok=True)
    with atomic_path(out / "G.fst") as tmp:
        g.write(str(tmp))
    log.info("Wrote %s/G.fst (%d states) from the %s", out, g.num_states, what)
    return 0


if __name__ == "__main__":
    run_main(main)
