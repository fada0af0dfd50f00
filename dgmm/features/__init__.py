"""Acoustic features: log-mel filterbanks and CMVN, Kaldi-compatible."""
