"""Scoring: WER with NIST sclite or the built-in scorer, Kaldi-style wer files."""
