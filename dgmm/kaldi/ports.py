"""Import the k2-fsa pip ports of Kaldi in the one order that works.

Importing ``kaldilm`` (or ``kaldi_decoder``) before ``kaldi_hmm_gmm``/``kaldifst`` hangs forever inside
the extension import, and only kaldi-hmm-gmm 1.1.4 + kaldifst 1.7.17 + kaldi-decoder 0.2.11 accept each
other's FST objects. Every module that needs these packages imports them from here::

    from dgmm.kaldi.ports import khg, kaldifst
"""

import kaldi_hmm_gmm as khg  # noqa: I001  (must be first)
import kaldifst

__all__ = ["khg", "kaldifst", "kaldilm"]


def kaldilm():
    """Return the ``kaldilm`` module, imported only after khg and kaldifst."""
    import kaldilm as _kaldilm

    return _kaldilm
