"""Decode acoustic log-likelihood archives with an HCLG graph (pip-port ``latgen-faster-mapped``).

    python -m dgmm.bin.decode [options] <model> <graph-fst> <loglikes-rspecifier> <out-dir>
e.g.: python -m dgmm.bin.decode --acwt 0.083333 --nj 2 --job 1 exp/mono/final.mdl \\
        exp/mono/graph/HCLG.fst scp:exp/mono/decode_test/loglikes.scp exp/mono/decode_test

Writes, for job J, ``<out-dir>/hyp.J.int`` (word-ids of the best path at --acwt, what
``lattice-best-path`` prints) and ``<out-dir>/ali.J.int`` (its transition-ids), and with --lmwt-range the
1-best per scoring setting, ``<out-dir>/onebest/<LMWT>_<WIP>.J.int``, found by re-decoding at
acwt = 1/LMWT with WIP added to every word arc (the pip port returns no lattice to rescore). A setting
that is the decode's own (LMWT = 1/--acwt, WIP 0) reuses the best path at --acwt instead of re-decoding.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import kaldiio

from dgmm.cli import DgmmError, run_main, setup_logging, kaldi_bool
from dgmm.decode.decoder import DecoderConfig, MappedDecoder
from dgmm.decode.features import job_utterances
from dgmm.decode.fst_io import read_fst
from dgmm.fileutil import atomic_open
from dgmm.kaldi.transition_model import read_transition_model

log = logging.getLogger("decode")

def parse_lmwt_range(spec: str) -> list[int]:
    """``7:17`` -> [7, ..., 17]; empty -> []."""
    if not spec:
        return []
    try:
        lo, hi = (int(x) for x in spec.split(":"))
    except ValueError:
        raise DgmmError(f"--lmwt-range: expected MIN:MAX, got {spec!r}") from None
    if not 0 < lo <= hi:
        raise DgmmError(f"--lmwt-range: need 0 < MIN <= MAX, got {spec!r}")
    return list(range(lo, hi + 1))


def is_decode_setting(acwt: float, lmwt: int, wip: float, rel_tol: float = 1e-6) -> bool:
    """True when scoring at (LMWT, WIP) is the decode itself: 1/LMWT equals --acwt up to ``rel_tol``
    (``0.0833333333`` is 1/12) and no insertion penalty, so its 1-best is the decode's best path."""
    return wip == 0.0 and abs(acwt * lmwt - 1.0) <= rel_tol


def job_items(rspec: str, nj: int, job: int):
    """(utt, matrix) of the ``job``-th (1-based) of ``nj`` contiguous chunks of an scp/ark (Kaldi
    ``split_scp.pl`` order). Accepts ``scp:file``, ``ark:file`` or a bare ``*.scp``/``*.ark`` path."""
    kind, _, path = rspec.partition(":") if rspec.split(":", 1)[0] in ("scp", "ark") else ("", "", rspec)
    kind = kind or ("scp" if path.endswith(".scp") else "ark")
    if not Path(path).is_file():
        raise FileNotFoundError(f"no such log-likelihood {kind}: {path}")
    if kind == "scp":
        table = kaldiio.load_scp(path)
        return ((k, table[k]) for k in job_utterances(list(table.keys()), nj, job))
    wanted = set(job_utterances([k for k, _ in kaldiio.load_ark(path)], nj, job))
    return ((k, m) for k, m in kaldiio.load_ark(path) if k in wanted)


def write_int_lines(path: Path, rows: list[tuple[str, list[int]]]) -> None:
    with atomic_open(path) as f:
        for utt, ids in rows:
            f.write(f"{utt} {' '.join(map(str, ids))}\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="decode", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--acwt", type=float, default=0.1, help="acoustic scale of the decode (default %(default)s)")
    p.add_argument("--beam", type=float, default=13.0)
    p.add_argument("--max-active", type=int, default=7000)
    p.add_argument("--min-active", type=int, default=200)
    p.add_argument("--lattice-beam", type=float, default=6.0)
    p.add_argument("--allow-partial", type=kaldi_bool, default=True)
    p.add_argument("--word-symbol-table", default="", help="words.txt: log hypotheses as words")
    p.add_argument("--nj", type=int, default=1)
    p.add_argument("--job", type=int, default=1)
    p.add_argument("--lmwt-range", default="", help="e.g. 7:17: also write the 1-best per LM weight")
    p.add_argument("--word-ins-penalty", default="0.0,0.5,1.0", help="penalties for --lmwt-range")
    p.add_argument("model")
    p.add_argument("graph")
    p.add_argument("loglikes")
    p.add_argument("out_dir")
    a = p.parse_args(argv)
    setup_logging("decode")
    if not 1 <= a.job <= a.nj:
        raise DgmmError(f"--job {a.job} not in 1..--nj {a.nj}")
    tm = read_transition_model(a.model)
    words = None
    if a.word_symbol_table:
        from dgmm.kaldi.symbols import read_symbol_table
        words = read_symbol_table(a.word_symbol_table)
    cfg = DecoderConfig(beam=a.beam, max_active=a.max_active, min_active=a.min_active,
                        lattice_beam=a.lattice_beam, allow_partial=a.allow_partial)
    lmwts = parse_lmwt_range(a.lmwt_range)
    wips = [w for w in a.word_ins_penalty.split(",") if w] if lmwts else []
    try:
        wip_values = [float(w) for w in wips]
    except ValueError:
        raise DgmmError(f"--word-ins-penalty: expected comma-separated numbers, got {a.word_ins_penalty!r}") from None

    fit = {"num_tids": len(tm.tid2pdf) - 1, "model": a.model}   # graph input labels must be the model's
    main_dec = MappedDecoder(read_fst(a.graph, **fit), tm.tid2pdf, cfg)
    sweep = {w: MappedDecoder(read_fst(a.graph, word_penalty=v, **fit), tm.tid2pdf, cfg) if v else main_dec
             for w, v in zip(wips, wip_values)}
    reuse = {(l, w) for l in lmwts for w, v in zip(wips, wip_values) if is_decode_setting(a.acwt, l, v)}
    n_redecode = len(lmwts) * len(wips) - len(reuse)
    out = Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)

    items = job_items(a.loglikes, a.nj, a.job)
    hyps, alis = [], []
    onebest: dict[tuple[int, str], list] = {(l, w): [] for l in lmwts for w in wips}
    n_done = n_fail = frames = 0
    tot_like = 0.0
    t0 = time.time()
    for utt, mat in items:
        r = main_dec.decode(utt, mat, a.acwt)
        if not r.words and not r.alignment:
            log.warning(f"Did not successfully decode utterance {utt}, len = {len(mat)}")
            n_fail += 1
            continue
        if not r.ok:
            log.warning(f"Outputting partial output for utterance {utt} since no final-state reached")
        text = " ".join(words.symbol(w) for w in r.words) if words else " ".join(map(str, r.words))
        log.info(f"{utt} {text}")
        log.info(f"Log-like per frame for utterance {utt} is {r.loglike / len(mat):.6g} over {len(mat)} frames.")
        hyps.append((utt, r.words))
        alis.append((utt, r.alignment))
        n_done += 1
        frames += len(mat)
        tot_like += r.loglike
        for wip in wips:
            for lmwt in lmwts:
                best = r if (lmwt, wip) in reuse else sweep[wip].decode(utt, mat, 1.0 / lmwt)
                onebest[(lmwt, wip)].append((utt, best.words))
    elapsed = time.time() - t0
    write_int_lines(out / f"hyp.{a.job}.int", hyps)
    write_int_lines(out / f"ali.{a.job}.int", alis)
    if onebest:
        (out / "onebest").mkdir(exist_ok=True)
        for (lmwt, wip), rows in onebest.items():
            write_int_lines(out / "onebest" / f"{lmwt}_{wip}.{a.job}.int", rows)
    log.info(f"Time taken {elapsed:.3f}s: real-time factor assuming 100 frames/sec is "
             f"{elapsed / max(frames, 1) * 100:.5f} (incl. {n_redecode} re-decodes per utterance; "
             f"{len(reuse)} scoring setting(s) reuse the best path at --acwt)")
    log.info(f"Done {n_done} utterances, failed for {n_fail}")
    if frames:
        log.info(f"Overall log-likelihood per frame is {tot_like / frames:.6g} over {frames} frames.")
    return 0 if n_done else 1


if __name__ == "__main__":
    run_main(main)
