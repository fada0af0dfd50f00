"""Decoding: priors, log-likelihood archives, WFST decoding with the pip ports or compiled Kaldi."""
