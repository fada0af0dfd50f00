"""dgmm: Deep GMM output layers for hybrid DNN-HMM speech recognition, with Kaldi-style recipes.

Implements Variani, McDermott & Heigold, "A Gaussian Mixture Model layer jointly optimized with
discriminative features within a deep neural network architecture", ICASSP 2015.
"""

__version__ = "0.1.0"
