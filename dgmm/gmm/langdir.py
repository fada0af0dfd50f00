"""What GMM training needs from a Kaldi ``data/lang`` directory (``utils/prepare_lang.sh`` output)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dgmm.cli import DgmmError
from dgmm.kaldi.ports import kaldifst
from dgmm.kaldi.tables import read_table


@dataclass
class Lang:
    """What training needs from a Kaldi ``data/lang`` directory."""

    path: Path
    topo_text: str
    words: dict[str, int]
    phones: dict[str, int]
    oov: int | None
    disambig: list[int]
    phone_sets: list[list[int]]
    silence_phones: list[int]
    optional_silence: list[int]
    L: object = field(repr=False, default=None)

    @classmethod
    def read(cls, lang: str | Path) -> "Lang":
        d = Path(lang)
        for f in ("topo", "words.txt", "phones.txt", "L.fst", "phones/sets.int", "phones/disambig.int"):
            if not (d / f).exists():
                raise DgmmError(f"{d}/{f}: missing (not a Kaldi lang directory?)")
        ints = lambda p: [int(t) for t in (d / p).read_text().split()]  # noqa: E731
        oov = int((d / "oov.int").read_text().split()[0]) if (d / "oov.int").exists() else None
        L = kaldifst.StdVectorFst.read(str(d / "L.fst"))
        kaldifst.arcsort(L, sort_type="olabel")
        return cls(d, (d / "topo").read_text(), read_table(d / "words.txt", int),
                   read_table(d / "phones.txt", int), oov, ints("phones/disambig.int"),
                   [[int(t) for t in line.split()] for line in (d / "phones/sets.int").read_text().splitlines()
                    if line.strip()],
                   ints("phones/silence.int") if (d / "phones/silence.int").exists() else [],
                   ints("phones/optional_silence.int") if (d / "phones/optional_silence.int").exists() else [],
                   L)

    def word_ids(self, utt: str, words: list[str]) -> list[int]:
        """``sym2int.pl --map-oov``: word ids of a transcript, unknown words mapped to the OOV word."""
        out = []
        for w in words:
            if w in self.words:
                out.append(self.words[w])
            elif self.oov is not None:
                out.append(self.oov)
            else:
                raise DgmmError(f"utterance {utt}: word {w!r} is not in {self.path}/words.txt and the lang "
                                "has no oov.int")
        return out
