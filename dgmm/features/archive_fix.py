"""Temporary work-around for ``dgmm.kaldi.archive.ArchiveWriter`` writing an empty scp.

In ``ArchiveWriter.__exit__`` the scp is rewritten through ``atomic_open(self.scp)``, whose temporary
name is ``tmp_name(self.scp)`` -- the same file the scp was just written to, so it is truncated while
being read and then unlinked twice (FileNotFoundError). Until that is fixed (reported to the lead),
``ArchiveWriter`` here moves kaldiio's open scp file to another temporary name right after opening
it; when ``ArchiveWriter`` no longer shares the name, this class is a plain ``ArchiveWriter``.
"""

from __future__ import annotations

import os

from dgmm.fileutil import tmp_name
from dgmm.kaldi.archive import ArchiveWriter as _Base


class ArchiveWriter(_Base):
    """``dgmm.kaldi.archive.ArchiveWriter`` with a distinct temporary name for the scp being written."""

    def __init__(self, ark, scp=None, compress: bool = False):
        super().__init__(ark, scp, compress)
        if self.scp is not None and getattr(self, "_tmp_scp", None) == tmp_name(self.scp):
            moved = self._tmp_scp.with_name(self._tmp_scp.name + ".w")
            os.rename(self._tmp_scp, moved)   # kaldiio keeps writing through its open handle
            self._tmp_scp = moved
