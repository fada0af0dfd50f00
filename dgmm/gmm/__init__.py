"""GMM-HMM bootstrap: monophone/triphone training and alignment in Kaldi formats."""
