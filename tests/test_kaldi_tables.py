"""dgmm.kaldi.tables.read_sentences: the one reader of transcripts (Kaldi text) and plain sentence files."""

from __future__ import annotations

import re

import pytest

from dgmm.kaldi.tables import read_sentences


def test_read_sentences_kaldi_text_and_plain(tmp_path):
    p = tmp_path / "text"
    p.write_text("u1  HELLO\tWORLD \n\nu2\n u3 A\n")
    assert read_sentences(p) == [["HELLO", "WORLD"], [], ["A"]]            # ids dropped, blank line skipped
    assert read_sentences(p, utt_ids=False) == [["u1", "HELLO", "WORLD"], ["u2"], ["u3", "A"]]


def test_read_sentences_duplicate_utterance_names_file_and_line(tmp_path):
    p = tmp_path / "text"
    p.write_text("u1 A\nu2 B\nu1 C\n")
    with pytest.raises(ValueError, match=re.escape(f"{p}:3: duplicate key 'u1'")):
        read_sentences(p)
    assert read_sentences(p, utt_ids=False)[2] == ["u1", "C"]              # plain sentences: no ids to check
