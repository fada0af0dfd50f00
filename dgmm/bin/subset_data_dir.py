"""Copy a Kaldi data dir restricted to some utterances.

    python -m dgmm.bin.subset_data_dir --utt-list <file> <src-data> <dest-data>
    python -m dgmm.bin.subset_data_dir [--first|--last|--shortest] <src-data> <num-utts> <dest-data>
"""

from __future__ import annotations

import argparse

from dgmm.cli import DgmmError, run_main
from dgmm.data.datadir import byte_key, subset_data_dir
from dgmm.kaldi.tables import read_table


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="subset_data_dir", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--utt-list", help="file whose first field per line is an utterance id")
    g.add_argument("--first", action="store_true", help="the first <num-utts> utterances")
    g.add_argument("--last", action="store_true", help="the last <num-utts> utterances")
    g.add_argument("--shortest", action="store_true", help="the <num-utts> shortest (needs utt2num_frames or utt2dur)")
    p.add_argument("args", nargs="+", metavar="<src-data> [<num-utts>] <dest-data>")
    a = p.parse_args(argv)
    if a.utt_list:
        if len(a.args) != 2:
            p.error("with --utt-list give <src-data> <dest-data>")
        src, dst = a.args
        utts = [line.split()[0] for line in open(a.utt_list, encoding="utf-8") if line.strip()]
    else:
        if len(a.args) != 3:
            p.error("give <src-data> <num-utts> <dest-data>")
        src, n, dst = a.args[0], int(a.args[1]), a.args[2]
        all_utts = sorted(read_table(f"{src}/utt2spk"), key=byte_key)
        if n > len(all_utts):
            raise DgmmError(f"{src} has only {len(all_utts)} utterances, cannot take {n}")
        if a.shortest:
            for name in ("utt2num_frames", "utt2dur"):
                try:
                    length = read_table(f"{src}/{name}", float)
                    break
                except FileNotFoundError:
                    continue
            else:
                raise DgmmError(f"{src}: --shortest needs utt2num_frames or utt2dur")
            utts = sorted(all_utts, key=lambda u: (length[u], byte_key(u)))[:n]
        elif a.last:
            utts = all_utts[len(all_utts) - n:]
        elif a.first:
            utts = all_utts[:n]
        else:   # evenly spread, as Kaldi's default
            utts = [all_utts[i * len(all_utts) // n] for i in range(n)] if n else []
    kept = subset_data_dir(src, dst, utts)
    print(f"subset_data_dir: {kept} utterances from {src} to {dst}")
    return 0


if __name__ == "__main__":
    run_main(main)
