"""Kaldi file formats and the k2-fsa pip ports of Kaldi."""
