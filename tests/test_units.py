"""Graphemic and subword (sentencepiece) lexicons, langs and piece -> word scoring (issue 11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dgmm.bin import prepare_dict, score
from dgmm.lang.grapheme import spell
from dgmm.lang.prepare_lang import prepare_lang
from dgmm.lang.subword import BOUNDARY, Segmenter, join_pieces, prepare_lang_subword, train_model


@pytest.fixture(scope="module")
def train_text(tmp_path_factory, request) -> Path:
    """The Kaldi ``text`` of mini_librispeech's training speakers (split.txt)."""
    from tests.conftest import shared_path

    corpus = shared_path("corpora", "mini_librispeech")
    speakers = next(line.split()[1:] for line in (corpus / "split.txt").read_text().splitlines()
                    if line.startswith("train "))
    lines = [line for line in (corpus / "transcripts.txt").read_text().splitlines()
             if line.split("-")[0] in speakers]
    path = tmp_path_factory.mktemp("text") / "text"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def model(train_text, tmp_path_factory) -> Path:
    sentences = [" ".join(line.split()[1:]) for line in train_text.read_text().splitlines()]
    return train_model(sentences, tmp_path_factory.mktemp("spm") / "spm", vocab_size=300)


@pytest.fixture(scope="module")
def langs(train_text, model, tmp_path_factory) -> tuple[Path, Path]:
    """(grapheme lang of the training words, subword lang over the segmented training text)."""
    d = tmp_path_factory.mktemp("langs")
    prepare_dict.main(["--grapheme", "--oov", "<UNK>", str(train_text), str(d / "dict")])
    prepare_lang(d / "dict", "<UNK>", d / "tmp", d / "lang")
    seg = Segmenter(model)
    pieces = {p for line in train_text.read_text().splitlines() for p in seg.words(line.split()[1:])}
    prepare_lang_subword(pieces | set(seg.vocabulary()), d / "lang", d / "lang_subword", model=model)
    return d / "lang", d / "lang_subword"


def _table(path: Path) -> dict[str, int]:
    return {s: int(i) for s, i in (line.split() for line in path.read_text().splitlines())}


def _l_phones(lang: Path, words: list[str]) -> list[str] | None:
    """The phones of the cheapest path of L.fst with output ``words`` (SIL dropped), None if there is none."""
    from dgmm.kaldi.ports import kaldifst

    wid, pid = _table(lang / "words.txt"), _table(lang / "phones.txt")
    phones = {i: p for p, i in pid.items()}
    L = kaldifst.StdVectorFst.read(str(lang / "L.fst"))
    acc = kaldifst.make_linear_acceptor([wid[w] for w in words])
    composed = kaldifst.compose(L, acc)
    if composed.num_states == 0:
        return None
    ok, ilabels, _, _ = kaldifst.get_linear_symbol_sequence(kaldifst.shortest_path(composed))
    assert ok
    return [phones[i] for i in ilabels if phones[i] != "SIL"]


def test_round_trip_every_training_transcript(train_text, model):
    seg = Segmenter(model)
    n_split = 0
    for line in train_text.read_text().splitlines():
        words = line.split()[1:]
        pieces = seg.words(words)
        assert join_pieces(pieces) == words, line
        assert sum(p.startswith(BOUNDARY) for p in pieces) == len(words)
        assert all(spell(p) for p in pieces)  # no piece without a letter (glued to a neighbour)
        n_split += len(pieces) - len(words)
    assert n_split > 1000  # 300 pieces cannot hold 3.5k word types: many words are split


def test_join_whole_words_and_leading_continuation():
    toks = ["ab", f"{BOUNDARY}CD", "E", "<UNK>", "F", f"{BOUNDARY}G"]
    assert join_pieces(toks, whole_words=["<UNK>"]) == ["ab", "CDE", "<UNK>", "F", "G"]
    assert join_pieces(toks) == ["ab", "CDE<UNK>F", "G"]


def test_grapheme_lang(langs, train_text):
    lang, _ = langs
    words = {w for line in train_text.read_text().splitlines() for w in line.split()[1:]}
    wid = _table(lang / "words.txt")
    assert words <= set(wid) and {"<UNK>", "!SIL"} <= set(wid)
    phones = set(_table(lang / "phones.txt"))
    assert {"a_B", "a_I", "a_E", "a_S", "z_E", "SIL", "SPN_S"} <= phones
    assert not any(p.startswith("'") for p in phones)  # apostrophes are not units
    assert _l_phones(lang, ["DON'T"]) == ["d_B", "o_I", "n_I", "t_E"]
    assert _l_phones(lang, ["A", "THE"]) == ["a_S", "t_B", "h_I", "e_E"]


def test_subword_lang_spells_words_with_positions(langs, train_text, model):
    """The piece L gives every training sentence's pieces the grapheme L's phones of its words."""
    glang, slang = langs
    assert (_table(glang / "phones.txt").items() - _table(slang / "phones.txt").items()) <= {
        (p, i) for p, i in _table(glang / "phones.txt").items() if p.startswith("#")}
    assert (slang / "subword_boundary.txt").read_text().split() == [BOUNDARY, "!SIL", "<UNK>"]
    seg = Segmenter(model)
    for line in train_text.read_text().splitlines()[:20]:
        words = line.split()[1:]
        assert _l_phones(slang, seg.words(words)) == _l_phones(glang, words), line
    # any letter sequence forms a word; a sentence cannot start inside a word
    assert _l_phones(slang, [f"{BOUNDARY}Q", "X", "Z"]) == ["q_B", "x_I", "z_E"]
    assert _l_phones(slang, ["X", f"{BOUNDARY}Q"]) is None


def test_score_joins_pieces_to_words(tmp_path, langs):
    _, slang = langs
    wid = _table(slang / "words.txt")
    graph, data, dec = tmp_path / "graph", tmp_path / "data", tmp_path / "decode"
    for d in (graph, data, dec / "onebest"):
        d.mkdir(parents=True)
    (graph / "words.txt").write_text((slang / "words.txt").read_text())
    (data / "text").write_text("u1 QX Z\nu2 ZQ\n")
    hyp = {"u1": [f"{BOUNDARY}Q", "X", f"{BOUNDARY}Z"], "u2": [f"{BOUNDARY}Z", "Q", "<UNK>"]}
    (dec / "onebest" / "12_0.0.1.int").write_text(
        "".join(f"{u} {' '.join(str(wid[p]) for p in ps)}\n" for u, ps in hyp.items()))
    args = ["--min-lmwt", "12", "--max-lmwt", "12", "--word-ins-penalty", "0.0", "--sclite", "false",
            str(data), str(graph), str(dec)]
    score.main(args)  # no marker: pieces are scored as words
    assert (dec / "scoring_kaldi" / "best_wer").read_text().startswith("%WER 200.00 [ 6 / 3,")
    (graph / "subword_boundary.txt").write_text((slang / "subword_boundary.txt").read_text())
    score.main(args)
    assert (dec / "scoring_kaldi" / "best_wer").read_text().startswith("%WER 33.33 [ 1 / 3, 1 ins, 0 del, 0 sub ]")
    assert (dec / "scoring_kaldi" / "penalty_0.0" / "12.txt").read_text() == "u1 QX Z\nu2 ZQ <UNK>\n"


def test_recipe_units_subword_stage_2(tmp_path, train_text):
    """run.sh --units subword: grapheme + piece langs and LMs, OOV rates; a rerun changes nothing."""
    from conftest import recipe_copy, run_recipe

    s5 = recipe_copy(tmp_path, "mini_librispeech")
    lines = train_text.read_text().splitlines()
    for name, part in (("train", lines[:60]), ("dev", lines[60:70]), ("test", lines[70:80])):
        (s5 / "data" / name).mkdir(parents=True)
        (s5 / "data" / name / "text").write_text("\n".join(part) + "\n")
    (s5 / "data" / "train" / ".prepared").touch()
    args = ("--units", "subword", "--subword-vocab-size", "100", "--stage", "2", "--stop-stage", "2")
    r = run_recipe(s5, *args, timeout=120)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert not (s5 / "data" / "lang").exists()  # no CMUdict lang for --units subword
    assert (s5 / "data" / "lang_subword_test" / "G.fst").stat().st_size > 0
    assert (s5 / "data" / "lang_subword" / "subword.model").is_file()
    train_words = {w for x in lines[:60] for w in x.split()[1:]}
    dev = [w for x in lines[60:70] for w in x.split()[1:]]
    oov = sum(w not in train_words for w in dev)
    assert f"data/dev/text: OOV rate {100 * oov / len(dev):.2f} % ({oov} / {len(dev)} tokens" in r.stdout
    before = {p: p.stat().st_mtime_ns for p in (s5 / "data").rglob("*") if p.is_file()}
    r = run_recipe(s5, *args, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    assert {p: p.stat().st_mtime_ns for p in (s5 / "data").rglob("*") if p.is_file()} == before


def test_oov_tokens_recognised(tmp_path, capsys):
    """OOV reference tokens count as recognised only where the alignment pairs them with the same word."""
    from dgmm.bin import oov_rate
    from dgmm.scoring.wer import correct_ref_positions

    assert correct_ref_positions("a b c d".split(), "a x c d e".split()) == {0, 2, 3}
    assert correct_ref_positions("a a b".split(), "a b".split()) == {1, 2}
    assert correct_ref_positions("x y".split(), "y x".split()) in ({0}, {1})
    (tmp_path / "vocab").write_text("THE\nCAT\n<UNK>\n")
    (tmp_path / "ref").write_text("u1 THE ZEBRA SAT\nu2 ZEBRA CAT\nu3 SAT\n")
    (tmp_path / "hyp").write_text("u1 THE ZEBRA\nu2 CAT SAT\n")  # u2: ZEBRA -> CAT, CAT -> SAT
    oov_rate.main(["--vocab", str(tmp_path / "vocab"), "--hyp", str(tmp_path / "hyp"), str(tmp_path / "ref")])
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{tmp_path / 'ref'}: OOV rate 66.67 % (4 / 6 tokens; 2 / 4 types)")
    assert out[1] == f"{tmp_path / 'hyp'}: 1 / 4 OOV tokens recognised (25.00 %); 2 hypothesis tokens out of the vocabulary"
