"""Kaldi data directories: read (``DataDir``), validate, fix, split and subset.

A data dir holds text tables keyed by utterance (``utt2spk``, ``text``, ``wav.scp`` or ``segments``,
``utt2dur``, ``utt2num_frames``, ``feats.scp``), by speaker (``spk2utt``, ``cmvn.scp``) or by recording
(``wav.scp`` when ``segments`` exists, ``reco2file_and_channel``). Every table is sorted by key in
C-locale (byte) order, as ``LC_ALL=C sort`` leaves it. ``wav.scp`` values are paths or ``cmd |`` pipes;
``segments`` lines are ``<utt> <recording> <start-s> <end-s>`` (end -1 = end of recording).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from functools import cached_property
from pathlib import Path

import kaldiio

from dgmm.cli import DgmmError
from dgmm.fileutil import atomic_open
from dgmm.kaldi.tables import read_table

log = logging.getLogger(__name__)

UTT_TABLES = ("utt2spk", "text", "utt2dur", "utt2num_frames", "utt2lang", "utt2uniq", "utt2warp",
              "feats.scp", "segments", "vad.scp", "utt2gender")
SPK_TABLES = ("spk2utt", "cmvn.scp", "spk2gender", "spk2warp")
RECO_TABLES = ("reco2file_and_channel", "reco2dur")
ALL_TABLES = UTT_TABLES + SPK_TABLES + RECO_TABLES + ("wav.scp",)
COPIED_FILES = ("frame_shift", "conf", "feats_type")   # copied whole into subsets and split parts


def byte_key(key: str) -> bytes:
    """Sort key of ``LC_ALL=C sort``: raw UTF-8 bytes."""
    return key.encode("utf-8")


def read_lines(path: Path) -> list[tuple[str, str]]:
    """``(key, rest)`` per non-empty line, in file order; errors name file and line."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.rstrip("\n").split(maxsplit=1)
            if not parts:
                raise DgmmError(f"{path}:{lineno}: empty line")
            rows.append((parts[0], parts[1].strip() if len(parts) > 1 else ""))
    return rows


def check_sorted_unique(path: Path, rows: list[tuple[str, str]]) -> None:
    """Raise naming the first line whose key is not strictly greater (C order) than the previous."""
    for i in range(1, len(rows)):
        a, b = byte_key(rows[i - 1][0]), byte_key(rows[i][0])
        if a == b:
            raise DgmmError(f"{path}:{i + 1}: duplicate key {rows[i][0]!r}")
        if a > b:
            raise DgmmError(f"{path}:{i + 1}: not sorted (LC_ALL=C): {rows[i][0]!r} after {rows[i - 1][0]!r}"
                            f" (run utils/fix_data_dir.sh)")


def parse_segment(value: str) -> tuple[str, float, float]:
    """``<recording> <start> <end>`` -> (recording, start seconds, end seconds; -1 = to the end)."""
    f = value.split()
    if len(f) != 3:
        raise ValueError(f"expected '<recording> <start> <end>', got {value!r}")
    start, end = float(f[1]), float(f[2])
    if start < 0 or (end != -1 and end <= start):
        raise ValueError(f"bad segment times {f[1]} {f[2]}")
    return f[0], start, end


def spk2utt_from_utt2spk(utt2spk: dict[str, str]) -> dict[str, list[str]]:
    """Speaker -> its utterances, speakers in order of first appearance (utt2spk_to_spk2utt.pl)."""
    out: dict[str, list[str]] = {}
    for utt, spk in utt2spk.items():
        out.setdefault(spk, []).append(utt)
    return out



def write_data_dir(path: str | os.PathLike, wav_scp: dict[str, str], text: dict[str, str],
                   utt2spk: dict[str, str]) -> None:
    """Write a new Kaldi data dir: wav.scp, text, utt2spk and spk2utt, sorted in C byte order."""
    d = Path(path)
    d.mkdir(parents=True, exist_ok=True)
    for name, rows in (("wav.scp", wav_scp), ("text", text), ("utt2spk", utt2spk)):
        _write_rows(d / name, rows)
    by_spk = spk2utt_from_utt2spk({u: utt2spk[u] for u in sorted(utt2spk, key=byte_key)})
    _write_rows(d / "spk2utt", {s: " ".join(us) for s, us in by_spk.items()})

class DataDir:
    """Read access to a Kaldi data dir; each table is read on first use.

        d = DataDir("data/train")
        d.utts, d.spk2utt["global"], d.text[utt], d.feats()[utt]   # feats: [T, D] float32

    Tables are returned as dicts in file order; a missing table raises ``DgmmError`` naming the
    file, a bad line names file and line.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_dir():
            raise DgmmError(f"{self.path}: no such data directory")

    def has(self, name: str) -> bool:
        return (self.path / name).is_file()

    def table(self, name: str, convert=str) -> dict:
        """``<key> <value>`` table ``name`` with ``convert`` applied to each value."""
        if not self.has(name):
            raise DgmmError(f"{self.path / name}: missing")
        return read_table(self.path / name, convert, allow_empty_value=(name == "text"))

    @cached_property
    def utt2spk(self) -> dict[str, str]:
        return self.table("utt2spk")

    @cached_property
    def utts(self) -> list[str]:
        """Utterance ids of utt2spk, in C order."""
        return sorted(self.utt2spk, key=byte_key)

    @cached_property
    def spk2utt(self) -> dict[str, list[str]]:
        return self.table("spk2utt", str.split)

    @cached_property
    def text(self) -> dict[str, list[str]]:
        """Utterance -> its words."""
        return self.table("text", str.split)

    @cached_property
    def utt2num_frames(self) -> dict[str, int]:
        return self.table("utt2num_frames", int)

    @cached_property
    def utt2dur(self) -> dict[str, float]:
        return self.table("utt2dur", float)

    def feats(self):
        """Lazy ``{utt: [T, D] float32}`` mapping of feats.scp (kaldiio; loads on access)."""
        if not self.has("feats.scp"):
            raise DgmmError(f"{self.path / 'feats.scp'}: missing (run steps/make_fbank.sh)")
        return kaldiio.load_scp(str(self.path / "feats.scp"))


def validate_data_dir(data: str | os.PathLike, no_feats: bool = False, no_text: bool = False,
                      no_wav: bool = False) -> list[str]:
    """Check a data dir the way ``utils/validate_data_dir.sh`` does; return the list of problems.

    Checks: every table sorted (C order) with unique keys; utt2spk present; spk2utt the inverse of
    utt2spk; text / feats.scp / utt2dur / utt2num_frames cover exactly the utterances of utt2spk;
    wav.scp (or segments + wav.scp recordings) covers them; cmvn.scp covers the speakers;
    utt2num_frames agrees with feats.scp's utterances. Duplicate keys and unsorted lines name file:line.
    """
    d = Path(data)
    problems: list[str] = []
    if not d.is_dir():
        return [f"{d}: no such directory"]
    if not (d / "utt2spk").exists():
        return [f"{d}/utt2spk: missing"]
    tables: dict[str, dict] = {}
    for name in ALL_TABLES:
        p = d / name
        if not p.exists():
            continue
        try:
            rows = read_lines(p)
            check_sorted_unique(p, rows)
            if name == "segments":
                for i, (k, v) in enumerate(rows, 1):
                    try:
                        parse_segment(v)
                    except ValueError as e:
                        raise DgmmError(f"{p}:{i}: utterance {k}: {e}") from None
            for i, (k, v) in enumerate(rows, 1):
                if not v and name != "text":
                    raise DgmmError(f"{p}:{i}: no value for key {k!r}")
            tables[name] = dict(rows)
        except (DgmmError, UnicodeDecodeError) as e:
            problems.append(str(e))
    if problems:
        return problems

    utt2spk = tables["utt2spk"]
    utts = set(utt2spk)
    if not utts:
        problems.append(f"{d}/utt2spk: empty")
    for utt, spk in utt2spk.items():
        if len(spk.split()) != 1:
            problems.append(f"{d}/utt2spk: utterance {utt}: expected one speaker, got {spk!r}")
    if "spk2utt" not in tables:
        problems.append(f"{d}/spk2utt: missing (run utils/utt2spk_to_spk2utt.pl {d}/utt2spk > {d}/spk2utt)")
    else:
        inv = {s: sorted(u, key=byte_key) for s, u in spk2utt_from_utt2spk(utt2spk).items()}
        got = {s: sorted(v.split(), key=byte_key) for s, v in tables["spk2utt"].items()}
        if inv != got:
            bad = sorted(set(inv) ^ set(got)) or [s for s in inv if inv[s] != got.get(s)]
            problems.append(f"{d}/spk2utt: does not match utt2spk (e.g. speaker {bad[0]!r})")

    def same_keys(name: str, want: set, what: str = "utt2spk") -> None:
        have = set(tables[name])
        if have != want:
            extra, missing = sorted(have - want, key=byte_key), sorted(want - have, key=byte_key)
            msg = f"{d}/{name}: keys differ from {what}"
            if missing:
                msg += f"; {len(missing)} missing (e.g. {missing[0]})"
            if extra:
                msg += f"; {len(extra)} extra (e.g. {extra[0]})"
            problems.append(msg + " (utils/fix_data_dir.sh keeps the common ones)")

    if not no_text:
        if "text" not in tables:
            problems.append(f"{d}/text: missing (use --no-text if intended)")
        else:
            same_keys("text", utts)
    if not no_wav:
        if "wav.scp" not in tables:
            problems.append(f"{d}/wav.scp: missing (use --no-wav if intended)")
        elif "segments" in tables:
            same_keys("segments", utts)
            recos = {v.split()[0] for v in tables["segments"].values()}
            missing = sorted(recos - set(tables["wav.scp"]), key=byte_key)
            if missing:
                problems.append(f"{d}/segments: {len(missing)} recordings not in wav.scp (e.g. {missing[0]})")
        else:
            same_keys("wav.scp", utts)
    if not no_feats:
        if "feats.scp" not in tables:
            problems.append(f"{d}/feats.scp: missing (use --no-feats if intended)")
        else:
            same_keys("feats.scp", utts)
    for name in ("utt2dur", "utt2num_frames"):
        if name in tables:
            same_keys(name, utts)
            for k, v in tables[name].items():
                try:
                    if float(v) < 0 or (name == "utt2num_frames" and int(v) != float(v)):
                        raise ValueError
                except ValueError:
                    problems.append(f"{d}/{name}: utterance {k}: bad value {v!r}")
                    break
    if "cmvn.scp" in tables:
        same_keys("cmvn.scp", set(utt2spk.values()), "the speakers of utt2spk")
    return problems


def _backup(d: Path) -> None:
    """Copy the tables into ``<data>/.backup/`` before rewriting them (as Kaldi's fix_data_dir.sh)."""
    b = d / ".backup"
    b.mkdir(exist_ok=True)
    for name in ALL_TABLES:
        if (d / name).exists():
            shutil.copy2(d / name, b / name)


def _write_rows(path: Path, rows: dict[str, str]) -> None:
    with atomic_open(path, encoding="utf-8") as f:
        for k in sorted(rows, key=byte_key):
            f.write(f"{k} {rows[k]}\n" if rows[k] else f"{k}\n")


def _filter_tables(src: Path, dst: Path, utts: list[str] | set[str]) -> int:
    """Write into ``dst`` every table of ``src`` restricted to ``utts`` (and their speakers/recordings).

    Tables are sorted on output; spk2utt is regenerated from the kept utt2spk. A table or copied file
    that ``dst`` has (an earlier subset or split) and ``src`` no longer has is removed, so that ``dst``
    mirrors ``src``. Returns the number of utterances kept.
    """
    keep = set(utts)
    utt2spk = {u: s for u, s in read_table(src / "utt2spk").items() if u in keep}
    spks = set(utt2spk.values())
    recos = None
    for name in UTT_TABLES:
        if (src / name).exists() and name != "utt2spk":
            t = read_table(src / name, allow_empty_value=(name == "text"))
            t = {k: v for k, v in t.items() if k in utt2spk}
            if name == "segments":
                recos = {v.split()[0] for v in t.values()}
            _write_rows(dst / name, t)
    _write_rows(dst / "utt2spk", utt2spk)
    spk2utt = spk2utt_from_utt2spk({u: utt2spk[u] for u in sorted(utt2spk, key=byte_key)})
    _write_rows(dst / "spk2utt", {s: " ".join(u) for s, u in spk2utt.items()})
    for name in SPK_TABLES:
        if name != "spk2utt" and (src / name).exists():
            _write_rows(dst / name, {k: v for k, v in read_table(src / name).items() if k in spks})
    for name in ("wav.scp",) + RECO_TABLES:
        if (src / name).exists():
            wanted = recos if recos is not None else set(utt2spk)
            _write_rows(dst / name, {k: v for k, v in read_table(src / name).items() if k in wanted})
    for name in COPIED_FILES:
        if (src / name).is_file() and src != dst:
            shutil.copy2(src / name, dst / name)
    for name in ALL_TABLES + COPIED_FILES:   # else readers of dst would use a table src no longer has
        if name != "spk2utt" and not (src / name).is_file() and (dst / name).is_file():
            (dst / name).unlink()
    return len(utt2spk)


def fix_data_dir(data: str | os.PathLike) -> tuple[int, int]:
    """Sort every table and keep only utterances present in all utterance tables.

    As Kaldi's ``utils/fix_data_dir.sh``: an utterance survives if it is in utt2spk, text, feats.scp,
    utt2dur, utt2num_frames (those that exist) and has audio (wav.scp entry, or a segments line
    whose recording is in wav.scp). Speaker and recording tables are reduced to what is used.
    Originals are kept in ``<data>/.backup/``. Returns (kept, before).
    """
    d = Path(data)
    if not (d / "utt2spk").exists():
        raise DgmmError(f"{d}/utt2spk: missing")
    utt2spk = read_table(d / "utt2spk")
    keep = set(utt2spk)
    for name in ("text", "feats.scp", "utt2dur", "utt2num_frames"):
        if (d / name).exists():
            keep &= set(read_table(d / name, allow_empty_value=(name == "text")))
    if (d / "segments").exists():
        wav = set(read_table(d / "wav.scp")) if (d / "wav.scp").exists() else set()
        seg = read_table(d / "segments")
        keep &= {u for u, v in seg.items() if not wav or v.split()[0] in wav}
    elif (d / "wav.scp").exists():
        keep &= set(read_table(d / "wav.scp"))
    _backup(d)
    kept = _filter_tables(d, d, keep)
    return kept, len(utt2spk)


def subset_data_dir(src: str | os.PathLike, dst: str | os.PathLike, utts: list[str]) -> int:
    """Copy ``src`` restricted to ``utts`` into ``dst`` (created; a table of an existing ``dst`` that
    ``src`` does not have is removed); returns the number kept."""
    s, t = Path(src), Path(dst)
    if s.resolve() == t.resolve():
        raise DgmmError(f"subset: source and destination are the same directory {s}")
    t.mkdir(parents=True, exist_ok=True)
    return _filter_tables(s, t, utts)


def _split_points(sizes: list[int], n: int) -> list[int]:
    """Boundaries cutting ``len(sizes)`` items into ``n`` non-empty contiguous groups of ~equal total size.

    Returns ``n + 1`` indices; group i is ``items[b[i]:b[i+1]]``.
    """
    total, m = sum(sizes), len(sizes)
    bounds, acc, i = [0], 0, 0
    for j in range(1, n):
        target = total * j / n
        # advance while adding the next item brings the running total closer to the target,
        # always leaving at least one item for each remaining group
        while i < m - (n - j) and (i < bounds[-1] + 1 or abs(acc + sizes[i] - target) <= abs(acc - target)):
            acc += sizes[i]
            i += 1
        bounds.append(i)
    bounds.append(m)
    return bounds


def _split_sources(d: Path) -> str:
    """``<name> <sha1 of its bytes>`` per line for every file of data dir ``d`` that a split copies.

    Content, not mtime: a table rewritten within one mtime tick (1-2 s filesystems) or by a tool that
    copies mtimes (``cp -p``, rsync) still changes this, and so does a table that disappears.
    """
    return "".join(f"{name} {hashlib.sha1((d / name).read_bytes()).hexdigest()}\n"
                   for name in ALL_TABLES + COPIED_FILES if (d / name).is_file())


def split_data_dir(data: str | os.PathLike, num_jobs: int, per_utt: bool = False) -> list[Path]:
    """Split into ``<data>/split<N>/<n>`` (by speaker, as Kaldi) or ``<data>/split<N>utt/<n>`` (per utt).

    By speaker, each part holds whole speakers, balanced by utterance count; there must be at least
    ``num_jobs`` speakers. ``<data>/split<N>[utt]/.sources`` records the sha1 of each table the parts
    were made from; the parts are reused only while the data dir has exactly those tables with those
    contents (stricter than Kaldi's ``-ot`` mtime test, which keeps a split whose source changed within
    the same mtime tick). A table the data dir no longer has is removed from the parts.
    Returns the part directories 1..N.
    """
    d = Path(data)
    if num_jobs < 1:
        raise DgmmError(f"split_data: number of jobs must be >= 1, got {num_jobs}")
    utt2spk = read_table(d / "utt2spk")
    top = d / (f"split{num_jobs}utt" if per_utt else f"split{num_jobs}")
    parts = [top / str(i) for i in range(1, num_jobs + 1)]
    stamp = top / ".sources"
    sources = _split_sources(d)
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == sources \
            and all((p / "utt2spk").is_file() for p in parts):
        return parts
    utts = sorted(utt2spk, key=byte_key)
    if per_utt:
        if len(utts) < num_jobs:
            raise DgmmError(f"split_data: {len(utts)} utterances in {d} < {num_jobs} jobs")
        b = _split_points([1] * len(utts), num_jobs)
        groups = [utts[b[i]:b[i + 1]] for i in range(num_jobs)]
    else:
        spk2utt = spk2utt_from_utt2spk({u: utt2spk[u] for u in utts})
        spks = list(spk2utt)
        if len(spks) < num_jobs:
            raise DgmmError(f"split_data: refusing to split {d} into {num_jobs} parts by speaker: only "
                            f"{len(spks)} speakers (use --per-utt, or fewer jobs)")
        if [utt2spk[u] for u in utts] != [s for s in spks for _ in spk2utt[s]]:
            log.warning("%s/utt2spk is not sorted by speaker as well as by utterance; make speaker ids "
                        "prefixes of utterance ids", d)
        b = _split_points([len(spk2utt[s]) for s in spks], num_jobs)
        groups = [[u for s in spks[b[i]:b[i + 1]] for u in spk2utt[s]] for i in range(num_jobs)]
    stamp.unlink(missing_ok=True)   # a split killed half-way is redone by the next call
    for part, group in zip(parts, groups):
        part.mkdir(parents=True, exist_ok=True)
        _filter_tables(d, part, group)
    with atomic_open(stamp, encoding="utf-8") as f:
        f.write(sources)
    return parts
