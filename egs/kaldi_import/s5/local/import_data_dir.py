#!/usr/bin/env python3
"""Copy a Kaldi data dir into this recipe, with its audio paths made independent of the current dir.

Usage: local/import_data_dir.py --kaldi-dir <kaldi-recipe-dir> <kaldi-data-dir> <data-dir>
e.g.: local/import_data_dir.py --kaldi-dir /kaldi/egs/wsj/s5 /kaldi/egs/wsj/s5/data/test_eval92 data/test_eval92

Kaldi runs every tool from the recipe dir, so a data dir's ``wav.scp`` may hold paths relative to it
and pipe commands (``flac -c -d -s train/1.flac |``) that only work from there. The copy's ``wav.scp``
resolves them in ``--kaldi-dir``: a relative file becomes ``<kaldi-dir>/<file>`` (absolute), a command
``cmd |`` becomes ``cd <kaldi-dir> && cmd |``; absolute paths stay as they are. Every audio file named
(not the commands) must exist: a missing one is an error naming the utterance, the path and the
``--kaldi-dir`` it was resolved in.

Copied: utt2spk, text, wav.scp, segments, reco2file_and_channel, spk2gender; spk2utt is rebuilt from
utt2spk. ``feats.scp``/``cmvn.scp`` (the GMM system's MFCCs: the pipeline aligns test sets with them
when no test alignments are given) are copied with relative archive paths made absolute when every
archive they name exists, else left out (the GMM tools then compute MFCCs from ``wav.scp``). Frame
counts and durations are not copied: the fbank stage writes its own.
"""

from __future__ import annotations

import argparse
import logging
import re
import shlex
from pathlib import Path

from dgmm.cli import DgmmError, run_main, setup_logging
from dgmm.data.datadir import spk2utt_from_utt2spk
from dgmm.kaldi.tables import read_table, write_table

log = logging.getLogger("import_data_dir")

REQUIRED = ("utt2spk", "text", "wav.scp")
OPTIONAL = ("segments", "reco2file_and_channel", "spk2gender")
# "<path>[:<byte-offset>][[<range>]]": an archive path as feats.scp/cmvn.scp hold it (not pipes)
SCP_VALUE = re.compile(r"^(?P<path>[^|\s]+?)(?P<rest>:\d+(\[[^\]]*\])?|\[[^\]]*\])?$")


def resolve_wav(value: str, kaldi_dir: Path) -> str:
    """A wav.scp value as it reads from anywhere: pipes run in ``kaldi_dir``, relative files under it."""
    if value.endswith("|"):
        return f"cd {shlex.quote(str(kaldi_dir))} && {value}"
    return value if Path(value).is_absolute() else str(kaldi_dir / value)


def resolve_scp(path: Path, kaldi_dir: Path) -> dict[str, str] | None:
    """feats.scp/cmvn.scp with absolute archive paths, or None (and why) when an archive is unusable."""
    out, seen = {}, {}
    for key, value in read_table(path).items():
        m = SCP_VALUE.match(value)
        if not m:
            log.info("%s: %s is not an archive path (%r); leaving it out", path, key, value)
            return None
        ark = Path(m["path"]) if Path(m["path"]).is_absolute() else kaldi_dir / m["path"]
        if ark not in seen:
            seen[ark] = ark.is_file()
            if not seen[ark]:
                log.info("%s: archive %s of %s does not exist; leaving %s out", path, ark, key, path.name)
                return None
        out[key] = f"{ark}{m['rest'] or ''}"
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="import_data_dir", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kaldi-dir", required=True, type=Path,
                   help="Kaldi recipe dir: relative wav.scp paths and pipe commands are resolved there")
    p.add_argument("src", type=Path)
    p.add_argument("dest", type=Path)
    a = p.parse_args(argv)
    setup_logging("import_data_dir")
    kaldi_dir = a.kaldi_dir.resolve()
    if not kaldi_dir.is_dir():
        raise DgmmError(f"--kaldi-dir {a.kaldi_dir}: no such directory")
    for name in REQUIRED:
        if not (a.src / name).is_file():
            raise DgmmError(f"{a.src}/{name}: missing (a Kaldi data dir needs {', '.join(REQUIRED)})")

    tables = {name: read_table(a.src / name, allow_empty_value=name == "text")
              for name in REQUIRED + OPTIONAL if (a.src / name).is_file()}
    utts = set(tables["utt2spk"])
    if set(tables["text"]) != utts:
        odd = sorted(utts ^ set(tables["text"]))[0]
        raise DgmmError(f"{a.src}: text and utt2spk have different utterances (e.g. {odd}); "
                        f"run Kaldi's utils/fix_data_dir.sh {a.src}")
    wav = {}
    for key, value in tables["wav.scp"].items():
        wav[key] = resolve_wav(value, kaldi_dir)
        if not value.endswith("|") and not Path(wav[key]).is_file():
            raise DgmmError(f"{a.src}/wav.scp: {key}: audio file {wav[key]} not found (relative paths "
                            f"are resolved in --kaldi-dir {kaldi_dir}, the dir your Kaldi recipe ran in)")
    tables["wav.scp"] = wav

    a.dest.mkdir(parents=True, exist_ok=True)
    for stale in ("feats.scp", "cmvn.scp", "spk2utt"):
        (a.dest / stale).unlink(missing_ok=True)
    for name, table in tables.items():
        write_table(a.dest / name, table)
    write_table(a.dest / "spk2utt", spk2utt_from_utt2spk(tables["utt2spk"]))
    kept = []
    for name in ("feats.scp", "cmvn.scp"):
        scp = resolve_scp(a.src / name, kaldi_dir) if (a.src / name).is_file() else None
        if scp is None:
            break   # cmvn.scp without its feats.scp would normalise other features
        write_table(a.dest / name, scp)
        kept.append(name)
    pipes = sum(v.endswith("|") for v in tables["wav.scp"].values())
    log.info("%s -> %s: %d utterances, %d recordings (%d pipe commands run in %s)%s", a.src, a.dest,
             len(utts), len(wav), pipes, kaldi_dir, f"; kept {' '.join(kept)}" if kept else "")
    return 0


if __name__ == "__main__":
    run_main(main)
