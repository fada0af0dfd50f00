"""Decoding graphs: HCLG construction with the pip ports."""
