"""Command-line tools: ``python -m dgmm.bin.<tool> --help``."""
