"""Speed perturbation of a Kaldi data dir, as Kaldi's ``utils/data/perturb_data_dir_speed{,_3way}.sh``.

A copy at speed factor ``f`` has every utterance id prefixed ``sp<f>-`` (speaker and recording ids
too, unless ``include_spk_prefix`` is False), its audio piped through ``sox ... speed <f>`` (tempo and
pitch scaled by ``f``, sample rate unchanged), ``utt2dur``/``reco2dur``/``segments`` times divided by
``f`` and ``utt2uniq`` pointing back at the original utterance (so tools can keep the copies of one
utterance together). Features, CMVN stats and alignments are not copied: they must be made anew.
The 3-way set is the original data (unprefixed unless ``always_include_prefix``) plus 0.9 and 1.1.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

from dgmm.cli import DgmmError
from dgmm.data.audio import read_wav_entry
from dgmm.data.datadir import byte_key, read_lines, spk2utt_from_utt2spk
from dgmm.kaldi.tables import write_table

SPEEDS_3WAY = (0.9, 1.0, 1.1)
_OFFSET = re.compile(r":\d+$")   # Kaldi "file.ark:offset" rxfilename


def speed_entry(spec: str, factor: float) -> str:
    """A ``wav.scp`` value (file or ``cmd |`` pipe) -> a pipe giving its audio at speed ``factor``."""
    spec = spec.strip()
    if spec.endswith("|"):
        return f"{spec[:-1].rstrip()} | sox -t wav - -t wav - speed {factor} |"
    if _OFFSET.search(spec):
        raise DgmmError(f"wav.scp entry {spec!r}: archive offsets (ark:offset) are not supported")
    return f"sox -t wav {shlex.quote(spec)} -t wav - speed {factor} |"


def _table(src: Path, name: str) -> dict[str, str] | None:
    return dict(read_lines(src / name)) if (src / name).is_file() else None


def utt_durations(src: Path) -> dict[str, float]:
    """``utt2dur`` of ``src`` (seconds), measured from the audio when the file is absent."""
    if (src / "utt2dur").is_file():
        return {u: float(v) for u, v in read_lines(src / "utt2dur")}
    wavs = dict(read_lines(src / "wav.scp"))
    if (src / "segments").is_file():
        return {u: float(v.split()[2]) - float(v.split()[1]) for u, v in read_lines(src / "segments")}
    durs = {}
    for utt, spec in wavs.items():
        x, rate = read_wav_entry(spec, utt)
        durs[utt] = len(x) / rate
    return durs


def perturbed_tables(src: str | os.PathLike, factor: float, prefix: bool = True,
                     include_spk_prefix: bool = True) -> dict[str, dict[str, str]]:
    """The tables (name -> {key: value}) of ``src`` at speed ``factor``; ids prefixed when ``prefix``."""
    src = Path(src)
    for name in ("utt2spk", "wav.scp"):
        if not (src / name).is_file():
            raise DgmmError(f"{src / name}: missing")
    p = f"sp{factor}-" if prefix else ""
    sp = p if include_spk_prefix else ""
    scale = factor != 1.0
    out: dict[str, dict[str, str]] = {}
    utt2spk = dict(read_lines(src / "utt2spk"))
    out["utt2spk"] = {p + u: sp + s for u, s in utt2spk.items()}
    uniq = _table(src, "utt2uniq") or {u: u for u in utt2spk}
    out["utt2uniq"] = {p + u: uniq[u] for u in utt2spk}
    for name in ("text", "utt2lang"):
        t = _table(src, name)
        if t is not None:
            out[name] = {p + u: v for u, v in t.items()}
    t = _table(src, "spk2gender")
    if t is not None:
        out["spk2gender"] = {sp + s: v for s, v in t.items()}
    segments = _table(src, "segments")
    # wav.scp is keyed by recording with segments, else by utterance; recording ids take the
    # utterance prefix (Kaldi uses the speaker prefix, which repeats ids without it)
    out["wav.scp"] = {p + r: speed_entry(v, factor) if scale else v
                      for r, v in dict(read_lines(src / "wav.scp")).items()}
    if segments is not None:
        out["segments"] = {}
        for u, v in segments.items():
            r, s, e = v.split()
            out["segments"][p + u] = f"{p}{r} {float(s) / factor:.2f} {float(e) / factor:.2f}" if scale \
                else f"{p}{r} {s} {e}"
        for name in ("reco2file_and_channel", "reco2dur"):
            t = _table(src, name)
            if t is not None:
                out[name] = {p + r: (f"{float(v) / factor:g}" if name == "reco2dur" else v) for r, v in t.items()}
    out["utt2dur"] = {p + u: f"{d / factor:g}" for u, d in utt_durations(src).items()}
    return out


def combine(parts: list[dict[str, dict[str, str]]], dst: str | os.PathLike) -> int:
    """Write the union of table sets ``parts`` as data dir ``dst`` (plus spk2utt); returns #utterances."""
    dst = Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    names = set.intersection(*(set(t) for t in parts))
    for stale in ("feats.scp", "cmvn.scp", "utt2num_frames", *(set.union(*(set(t) for t in parts)) - names)):
        (dst / stale).unlink(missing_ok=True)   # features of the unperturbed audio would be wrong here
    merged: dict[str, dict[str, str]] = {n: {} for n in names}
    for tables in parts:
        for n in names:
            dup = merged[n].keys() & tables[n].keys()
            if dup and n not in ("spk2gender",):
                raise DgmmError(f"{dst}/{n}: key {sorted(dup)[0]!r} occurs in two of the combined copies")
            merged[n].update(tables[n])
    for n, rows in merged.items():
        write_table(dst / n, rows)
    utt2spk = merged["utt2spk"]
    by_spk = spk2utt_from_utt2spk({u: utt2spk[u] for u in sorted(utt2spk, key=byte_key)})
    write_table(dst / "spk2utt", {s: " ".join(us) for s, us in by_spk.items()})
    return len(utt2spk)


def perturb_data_dir_speed(src: str | os.PathLike, dst: str | os.PathLike, factors=SPEEDS_3WAY,
                           always_include_prefix: bool = False, include_spk_prefix: bool = True) -> int:
    """Data dir ``dst`` = ``src`` at every speed in ``factors`` (1.0 unprefixed unless
    ``always_include_prefix``); returns the number of utterances written."""
    if Path(src).resolve() == Path(dst).resolve():
        raise DgmmError(f"perturb_data_dir_speed: source and destination are the same dir {src}")
    parts = [perturbed_tables(src, f, prefix=(f != 1.0 or always_include_prefix),
                              include_spk_prefix=include_spk_prefix) for f in factors]
    return combine(parts, dst)
