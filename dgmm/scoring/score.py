"""Kaldi ``steps/scoring/score_kaldi_wer.sh`` over 1-best hypotheses: WER per (LMWT, WIP), best_wer.

Input: ``<decode-dir>/onebest/<LMWT>_<WIP>.<JOB>.int`` (word-ids per utterance, one file per job), as
written by ``dgmm.bin.decode --lmwt-range`` or by Kaldi's ``lattice-best-path`` in ``steps/score.sh``.
Output, in Kaldi's layout:
  ``scoring_kaldi/test_filt.txt``            filtered reference,
  ``scoring_kaldi/penalty_<WIP>/<LMWT>.txt`` filtered hypotheses (words),
  ``wer_<LMWT>_<WIP>``                       compute-wer report,
  ``scoring_kaldi/best_wer``                 ``%WER x.xx [ e / n, i ins, d del, s sub ] <dir>/wer_L_W``.
The best setting is the lowest WER, first in Kaldi's order (WIP outer, LMWT inner) on ties, as
``utils/best_wer.sh`` picks it. Subword decodes (a lang/graph dir with ``subword_boundary.txt``, see
dgmm.lang.subword) are joined from pieces to words before the hypothesis filter, so WER is on words.
With a dev decode directory the setting is the one in the dev set's
``best_wer`` instead (so test is not tuned on test); the test's own best goes to
``scoring_kaldi/best_wer_tuned_on_self``.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from dgmm.fileutil import atomic_open
from dgmm.scoring.wer import ErrorCounts, read_transcripts, score


@dataclass
class Setting:
    lmwt: int
    wip: str  # kept as the text Kaldi uses in file names ("0.0", "0.5", "1.0")

    @property
    def name(self) -> str:
        return f"{self.lmwt}_{self.wip}"


def filter_lines(lines: list[str], cmd: str) -> list[str]:
    """Pass ``utt words...`` lines through a Kaldi filter command (``cat`` = unchanged)."""
    if cmd in ("", "cat"):
        return lines
    res = subprocess.run(cmd, shell=True, input="".join(lines), capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"filter command failed: {cmd}: {res.stderr.strip()}")
    return res.stdout.splitlines(keepends=True)


def read_onebest(decode_dir: Path, s: Setting, words) -> list[str]:
    """``utt w1 w2`` lines (words, not ids) of all jobs of one setting, in job order."""
    files = sorted((decode_dir / "onebest").glob(f"{s.name}.*.int"),
                   key=lambda p: int(p.name.rsplit(".", 2)[1]))
    if not files:
        raise FileNotFoundError(f"no 1-best files {decode_dir}/onebest/{s.name}.*.int "
                                "(decode with --lmwt-range covering this LM weight)")
    lines = []
    for f in files:
        with open(f, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                parts = line.split()
                if not parts:
                    continue
                try:
                    syms = [words.symbol(int(i)) for i in parts[1:]]
                except ValueError as e:
                    raise ValueError(f"{f}:{lineno}: {e}") from None
                lines.append(" ".join([parts[0], *syms]) + "\n")
    return lines


def join_subword_lines(lines: list[str], boundary: str, whole_words: list[str]) -> list[str]:
    """``utt piece...`` lines -> ``utt word...``: pieces joined at the word-boundary mark."""
    from dgmm.lang.subword import join_pieces

    out = []
    for line in lines:
        f = line.split()
        out.append(" ".join([f[0], *join_pieces(f[1:], boundary, whole_words)]) + "\n")
    return out


def parse_best_wer(path: Path) -> Setting:
    """The (LMWT, WIP) of a ``best_wer`` line ending in ``.../wer_<LMWT>_<WIP>``."""
    text = path.read_text().strip()
    m = re.search(r"wer_(\d+)_(\S+)\s*$", text)
    if not m:
        raise ValueError(f"{path}: cannot find the wer_<LMWT>_<WIP> setting in {text!r}")
    return Setting(int(m.group(1)), m.group(2))


def score_dir(decode_dir, data_text, words, lmwts: list[int], wips: list[str],
              ref_filter: str = "cat", hyp_filter: str = "cat", dev_decode_dir=None,
              subword: tuple[str, list[str]] | None = None, best_wer: bool = True):
    """Score every setting; write Kaldi's files; return (chosen Setting, {name: ErrorCounts}).

    ``subword`` = (boundary mark, whole words): the hypotheses are pieces, joined to words first.
    ``best_wer`` False: the caller writes ``scoring_kaldi/best_wer`` (``write_best_wer``) after its
    own reports: the recipes take that file as "scoring is done"."""
    d = Path(decode_dir)
    sdir = d / "scoring_kaldi"
    sdir.mkdir(parents=True, exist_ok=True)
    with open(data_text, encoding="utf-8") as f:
        ref_lines = filter_lines(f.readlines(), ref_filter)
    with atomic_open(sdir / "test_filt.txt", encoding="utf-8") as f:
        f.writelines(ref_lines)
    refs = read_transcripts(sdir / "test_filt.txt")

    results: dict[str, ErrorCounts] = {}
    order = [Setting(l, w) for w in wips for l in lmwts]  # Kaldi's loop order: WIP outer, LMWT inner
    for s in order:
        pdir = sdir / f"penalty_{s.wip}"
        pdir.mkdir(exist_ok=True)
        with atomic_open(pdir / f"{s.lmwt}.txt", encoding="utf-8") as f:
            hyp = read_onebest(d, s, words)
            if subword is not None:
                hyp = join_subword_lines(hyp, *subword)
            f.writelines(filter_lines(hyp, hyp_filter))
        c = score(refs, read_transcripts(pdir / f"{s.lmwt}.txt"))
        with atomic_open(d / f"wer_{s.name}", encoding="utf-8") as f:
            f.write(f"# dgmm.scoring.wer (= compute-wer --text --mode=present) "
                    f"ark:{sdir}/test_filt.txt ark,p:{pdir}/{s.lmwt}.txt\n{c.report()}")
        results[s.name] = c

    best_self = order[0]
    for s in order:  # strict '<': the first of equal WERs wins, as utils/best_wer.sh
        if round(results[s.name].wer, 2) < round(results[best_self.name].wer, 2):
            best_self = s
    chosen = best_self
    if dev_decode_dir is not None:
        chosen = parse_best_wer(Path(dev_decode_dir) / "scoring_kaldi" / "best_wer")
        if chosen.name not in results:
            raise ValueError(f"setting {chosen.name} chosen on {dev_decode_dir} was not scored here "
                             f"(LMWT {lmwts[0]}..{lmwts[-1]}, WIP {','.join(wips)})")
        with atomic_open(sdir / "best_wer_tuned_on_self") as f:
            f.write(f"{results[best_self.name].wer_line()} {d}/wer_{best_self.name}\n")
    if best_wer:
        write_best_wer(d, chosen, results)
    return chosen, results


def write_best_wer(decode_dir, chosen: Setting, results: dict) -> None:
    """``<decode-dir>/scoring_kaldi/best_wer``: the chosen setting's WER line (utils/best_wer.sh's)."""
    d = Path(decode_dir)
    with atomic_open(d / "scoring_kaldi" / "best_wer") as f:
        f.write(f"{results[chosen.name].wer_line()} {d}/wer_{chosen.name}\n")
