"""dgmm.kaldi.tables: read_sentences, the one reader of transcripts (Kaldi text) and plain sentence files;
read_vocab, the one reader of vocabularies (words.txt or word lists)."""

from __future__ import annotations

import re

import pytest

from dgmm.kaldi.tables import read_sentences, read_vocab


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


def test_read_vocab_words_txt_and_word_list(tmp_path):
    p = tmp_path / "words.txt"
    p.write_text("<eps> 0\n<UNK> 1\nb 2\n# 3\na 4\n#x 5\n#0 6\n#12 7\n<s> 8\n</s> 9\n")
    assert read_vocab(p) == ["<UNK>", "b", "#", "a", "#x"]                   # file order, specials skipped
    p.write_text("\n  zebra \nyak\n\n")
    assert read_vocab(p) == ["zebra", "yak"]


def test_read_vocab_errors_name_file_and_line(tmp_path):
    p = tmp_path / "words.txt"
    p.write_text("<eps> 0\na 1\nb 2\na 3\n")
    with pytest.raises(ValueError, match=re.escape(f"{p}:4: word 'a' already on line 2")):
        read_vocab(p)
    p.write_bytes(b"a\nb\xe9\n")
    with pytest.raises(ValueError, match=re.escape(f"{p}:2: not UTF-8 text")):
        read_vocab(p)
