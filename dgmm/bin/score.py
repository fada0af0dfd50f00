"""Score a decode directory as Kaldi's ``score_kaldi_wer.sh`` does, plus NIST sclite reports.

    python -m dgmm.bin.score [options] <data-dir> <lang-or-graph-dir> <decode-dir>
e.g.: python -m dgmm.bin.score --min-lmwt 7 --max-lmwt 17 data/test exp/mono/graph exp/mono/decode_test

Reads ``<decode-dir>/onebest/<LMWT>_<WIP>.*.int``, writes ``wer_<LMWT>_<WIP>``, ``scoring_kaldi/``
(``test_filt.txt``, ``penalty_<WIP>/<LMWT>.txt``, ``best_wer``) and, when sclite is installed,
``scoring_kaldi/sclite/`` (``ref.trn``, ``hyp_<LMWT>_<WIP>.trn`` and sclite's ``.sys``/``.pra``/``.dtl``
for the chosen setting). ``--dev-decode-dir`` takes the setting from the dev set's best_wer. When
<lang-or-graph-dir> has ``subword_boundary.txt`` (utils/prepare_lang_subword.sh), the hypotheses are
subword pieces and are joined to words before scoring (the reference stays words).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from dgmm.cli import DgmmError, run_main, setup_logging
from dgmm.kaldi.symbols import read_symbol_table
from dgmm.kaldi.tables import read_table
from dgmm.lang.subword import MARKER_FILE, read_marker
from dgmm.scoring.sclite import find_sclite, run_sclite, write_trn
from dgmm.scoring.score import score_dir, write_best_wer
from dgmm.scoring.wer import read_transcripts

log = logging.getLogger("score")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="score", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--min-lmwt", type=int, default=7)
    p.add_argument("--max-lmwt", type=int, default=17)
    p.add_argument("--word-ins-penalty", default="0.0,0.5,1.0")
    p.add_argument("--ref-filter", default="cat", help="shell command filtering the reference text")
    p.add_argument("--hyp-filter", default="cat", help="shell command filtering the hypotheses")
    p.add_argument("--dev-decode-dir", default=None, help="choose LMWT/WIP from this dir's best_wer")
    p.add_argument("--sclite", choices=["auto", "true", "false"], default="auto",
                   help="run sclite on the chosen setting (auto: when installed)")
    p.add_argument("data")
    p.add_argument("lang_or_graph")
    p.add_argument("decode_dir")
    a = p.parse_args(argv)
    setup_logging("score")
    data, decode_dir = Path(a.data), Path(a.decode_dir)
    for f in (data / "text", Path(a.lang_or_graph) / "words.txt"):
        if not f.is_file():
            raise DgmmError(f"expected file {f} to exist")
    if a.min_lmwt > a.max_lmwt or a.min_lmwt < 1:
        raise DgmmError(f"bad LM weight range {a.min_lmwt}..{a.max_lmwt}")
    wips = [w for w in a.word_ins_penalty.split(",") if w]
    words = read_symbol_table(Path(a.lang_or_graph) / "words.txt")
    marker = Path(a.lang_or_graph) / MARKER_FILE
    subword = read_marker(marker) if marker.is_file() else None
    if subword:
        log.info("%s: joining subword pieces at %r to words before scoring", marker, subword[0])
    chosen, results = score_dir(decode_dir, data / "text", words, list(range(a.min_lmwt, a.max_lmwt + 1)),
                                wips, a.ref_filter, a.hyp_filter, a.dev_decode_dir, subword, best_wer=False)
    best = results[chosen.name]

    sclite = find_sclite() if a.sclite != "false" else None
    if a.sclite == "true" and sclite is None:
        raise DgmmError("--sclite true but sclite was not found (install sctk or set $SCLITE)")
    if sclite:
        sdir = decode_dir / "scoring_kaldi"
        utt2spk = read_table(data / "utt2spk") if (data / "utt2spk").is_file() else None
        out = sdir / "sclite"
        out.mkdir(exist_ok=True)
        write_trn(out / "ref.trn", read_transcripts(sdir / "test_filt.txt"), utt2spk)
        hyp_trn = out / f"hyp_{chosen.name}.trn"
        write_trn(hyp_trn, read_transcripts(sdir / f"penalty_{chosen.wip}" / f"{chosen.lmwt}.txt"), utt2spk)
        tot = run_sclite(out / "ref.trn", hyp_trn, out, f"hyp_{chosen.name}", sclite)
        log.info(f"sclite ({out}/hyp_{chosen.name}.sys): {tot['errors']} errors / {tot['words']} words, "
                 f"{tot['ins']} ins, {tot['dels']} del, {tot['sub']} sub")
        if tot["errors"] != best.errors or tot["words"] != best.words:
            log.warning(f"sclite counts {tot['errors']}/{tot['words']} errors/words, the built-in scorer "
                        f"{best.errors}/{best.words}")
    write_best_wer(decode_dir, chosen, results)   # last: the recipes take it as "scoring is done"
    log.info((decode_dir / "scoring_kaldi" / "best_wer").read_text().strip())
    return 0


if __name__ == "__main__":
    run_main(main)
