"""Make a Kaldi lang dir from a dict dir, file for file as Kaldi's ``utils/prepare_lang.sh``.

    python -m dgmm.bin.prepare_lang [options] <dict-src-dir> <oov-dict-entry> <tmp-dir> <lang-dir>

e.g.: python -m dgmm.bin.prepare_lang data/local/dict "<UNK>" data/local/lang data/lang

<dict-src-dir> holds lexicon.txt (or lexiconp.txt), silence_phones.txt, nonsilence_phones.txt,
optional_silence.txt and extra_questions.txt (see Kaldi's data-preparation docs).
"""

from __future__ import annotations

import argparse

from dgmm.cli import run_main, setup_logging, kaldi_bool
from dgmm.lang.prepare_lang import LangOptions, prepare_lang

def main(argv=None) -> int:
    d = LangOptions()
    p = argparse.ArgumentParser(prog="prepare_lang", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--position-dependent-phones", type=kaldi_bool, default=d.position_dependent_phones,
                   metavar="true|false", help="word-position markers _B _E _I _S on phones (default: true)")
    p.add_argument("--sil-prob", type=float, default=d.sil_prob,
                   help="probability of optional silence between words in L (default: %(default)s)")
    p.add_argument("--num-sil-states", type=int, default=d.num_sil_states, help="(default: %(default)s)")
    p.add_argument("--num-nonsil-states", type=int, default=d.num_nonsil_states, help="(default: %(default)s)")
    p.add_argument("--share-silence-phones", type=kaldi_bool, default=d.share_silence_phones, metavar="true|false",
                   help="one tree root for all silence phones (default: false)")
    p.add_argument("--share-state-roots", type=kaldi_bool, default=d.share_state_roots, metavar="true|false",
                   help="one tree root per phone for all its states (default: true)")
    p.add_argument("dict_dir")
    p.add_argument("oov_word")
    p.add_argument("tmp_dir")
    p.add_argument("lang_dir")
    a = p.parse_args(argv)
    setup_logging("prepare_lang")
    prepare_lang(a.dict_dir, a.oov_word, a.tmp_dir, a.lang_dir, LangOptions(
        a.position_dependent_phones, a.sil_prob, a.num_sil_states, a.num_nonsil_states,
        a.share_silence_phones, a.share_state_roots))
    return 0


if __name__ == "__main__":
    run_main(main)
