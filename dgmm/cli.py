"""Shared plumbing for the command-line tools in ``dgmm.bin``: logging and error reporting.

Every tool is ``python -m dgmm.bin.<tool>`` and ends with ``run_main(main)``. Errors that a user can
fix (bad input files, inconsistent directories, a full disk) are raised as ``DgmmError`` (or ValueError/
OSError) and printed as one ``ERROR (<tool>) ...`` line, exit status 1, no traceback.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Callable, Sequence


class DgmmError(Exception):
    """An error caused by the user's input, reported without a traceback."""


def kaldi_bool(s: str) -> bool:
    """A Kaldi boolean option value, ``true`` or ``false`` (argparse ``type=`` and config files)."""
    if s not in ("true", "false"):
        raise ValueError(f"expected true or false, got {s!r}")
    return s == "true"


def setup_logging(prog: str, verbose: bool = False) -> logging.Logger:
    """Kaldi-like log lines on stderr: ``LOG (prog) message`` / ``WARNING (prog) ...``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"%(levelname)s ({prog}) %(message)s"))
    logging.addLevelName(logging.INFO, "LOG")
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    return logging.getLogger(prog)


def run_main(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None) -> None:
    """Run ``main(argv)`` and exit with its status; user errors become one ERROR line and exit 1."""
    prog = os.path.basename(sys.argv[0]).removesuffix(".py")
    if prog == "__main__":
        prog = (sys.modules["__main__"].__spec__.name.rsplit(".", 1)[-1]
                if getattr(sys.modules["__main__"], "__spec__", None) else "dgmm")
    try:
        sys.exit(main(argv) or 0)
    except (DgmmError, ValueError, OSError) as e:   # OSError: missing file, full disk, ...
        print(f"ERROR ({prog}) {e}", file=sys.stderr)
        sys.exit(1)
