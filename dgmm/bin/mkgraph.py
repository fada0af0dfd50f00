"""Build the decoding graph HCLG.fst, as Kaldi's ``utils/mkgraph.sh``.

    python -m dgmm.bin.mkgraph [--transition-scale 1.0] [--self-loop-scale 0.1] <lang-dir> <model-dir> <graph-dir>

e.g.: python -m dgmm.bin.mkgraph data/lang_test exp/tri1 exp/tri1/graph

<lang-dir> needs L_disambig.fst, G.fst, words.txt, phones.txt, phones/disambig.int; <model-dir> needs
final.mdl and tree (Kaldi format). The context width comes from the tree. Writes HCLG.fst (const FST),
words.txt, phones.txt, phones/, num_pdfs and disambig_tid.int into <graph-dir>.
"""

from __future__ import annotations

import argparse

from dgmm.cli import run_main, setup_logging
from dgmm.graph.mkgraph import mkgraph


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="mkgraph", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--transition-scale", type=float, default=1.0, help="(default: %(default)s)")
    p.add_argument("--self-loop-scale", type=float, default=0.1, help="(default: %(default)s)")
    p.add_argument("lang_dir")
    p.add_argument("model_dir")
    p.add_argument("graph_dir")
    a = p.parse_args(argv)
    setup_logging("mkgraph")
    mkgraph(a.lang_dir, a.model_dir, a.graph_dir, a.transition_scale, a.self_loop_scale)
    return 0


if __name__ == "__main__":
    run_main(main)
