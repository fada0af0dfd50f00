"""Subword units with sentencepiece: model training, segmentation with word-boundary marking, joining
pieces back to words, and the position-dependent lexicon FST in which any piece sequence forms words.

Pieces carry sentencepiece's word-boundary mark ``\u2581`` (``BOUNDARY``) when they start a word:
``DON'T GO`` -> ``\u2581DON 'T \u2581GO``. A piece is spelled by its letters (``dgmm.lang.grapheme.spell``),
so the acoustic units are those of a graphemic lang dir. A piece without any letter (a bare ``\u2581``, an
apostrophe) has no spelling; segmentation glues it to the next piece of its word (the previous one at
the end of a word), which keeps the concatenation of the pieces, so joining is still exact.

Word positions: a piece's first and last units get Kaldi's ``_B``/``_I``/``_E``/``_S`` markers according to
its place in the word, which the piece alone does not tell (is it the last piece?). So every piece has
two variants, word-final and not, and L has a word-boundary state W (optional silence, word-initial
pieces, whole words such as ``<UNK>``) and a word-internal state M (continuation pieces)::

    W --\u2581AB final:   a_B b_E--> W      W --\u2581AB non-final: a_B b_I--> M
    M --CD final:     c_I d_E--> W      M --CD non-final:   c_I d_I--> M

(a one-unit piece: ``a_S``, ``a_B``, ``c_E``, ``c_I``). W is the only final state, and a word-initial piece
can only follow a word end, so every path spells whole words with correct position markers.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
from pathlib import Path
from typing import Iterable, Sequence

from dgmm.lang.grapheme import spell
from dgmm.lang.lexicon import LexiconEntry

log = logging.getLogger(__name__)

BOUNDARY = "\u2581"  # sentencepiece's word-boundary mark on word-initial pieces
MARKER_FILE = "subword_boundary.txt"  # in a lang/graph dir: "<boundary> <whole-word>..." (scoring joins pieces)


def train_model(sentences: Iterable[str], model_prefix: str | os.PathLike, vocab_size: int,
                model_type: str = "unigram") -> Path:
    """Train a sentencepiece model on ``sentences`` (one transcript per item); returns ``<prefix>.model``.

    Identity normalisation and full character coverage, so that segmentation never changes a
    character and every training transcript round-trips. The vocabulary size is a soft limit
    (smaller corpora get fewer pieces instead of an error).
    """
    import sentencepiece as spm  # lazy: only subword recipes need it

    if model_type not in ("unigram", "bpe"):
        raise ValueError(f"model type must be unigram or bpe, got {model_type!r}")
    sentences = [s for s in sentences if s.strip()]
    if not sentences:
        raise ValueError("no training sentences for the sentencepiece model")
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_prefix=str(model_prefix), vocab_size=vocab_size,
        model_type=model_type, character_coverage=1.0, normalization_rule_name="identity",
        bos_id=-1, eos_id=-1, unk_id=0, hard_vocab_limit=False, num_threads=1, minloglevel=2)
    return Path(f"{model_prefix}.model")


def _glue_silent(pieces: list[str]) -> list[str]:
    """Glue pieces without a spelling to the next piece of the word, or the previous one at its end."""
    out: list[str] = []
    pending = ""
    for p in pieces:
        if spell(p):
            out.append(pending + p)
            pending = ""
        else:
            pending += p
    if pending:
        if out:
            out[-1] += pending
        else:
            out.append(pending)  # a word without letters: one piece without spelling
    return out


class Segmenter:
    """Words -> pieces with a trained sentencepiece model (cached per word)."""

    def __init__(self, model: str | os.PathLike):
        import sentencepiece as spm

        if not Path(model).is_file():
            raise FileNotFoundError(f"{model}: no such sentencepiece model")
        self.sp = spm.SentencePieceProcessor(model_file=str(model))
        self._cache: dict[str, list[str]] = {}

    def word(self, word: str) -> list[str]:
        """The pieces of one word; their concatenation is ``BOUNDARY + word``."""
        pieces = self._cache.get(word)
        if pieces is None:
            pieces = _glue_silent(self.sp.encode(word, out_type=str))
            if "".join(pieces) != BOUNDARY + word:
                raise ValueError(f"sentencepiece changed the word {word!r} into {' '.join(pieces)!r} "
                                 "(a character the model has not seen?)")
            self._cache[word] = pieces
        return pieces

    def words(self, words: Sequence[str]) -> list[str]:
        return [p for w in words for p in self.word(w)]

    def vocabulary(self) -> list[str]:
        """The model's pieces without control and unknown symbols."""
        sp = self.sp
        return [sp.id_to_piece(i) for i in range(sp.get_piece_size())
                if not (sp.is_control(i) or sp.is_unknown(i))]


def join_pieces(tokens: Sequence[str], boundary: str = BOUNDARY, whole_words: Iterable[str] = ()) -> list[str]:
    """Pieces -> words: a token with the boundary mark starts a word, a ``whole_words`` token (``<UNK>``)
    is a word of its own, any other piece continues the current word (or starts one at the beginning or
    after a whole word)."""
    whole = set(whole_words)
    words: list[str] = []
    open_word = False
    for t in tokens:
        if t in whole:
            words.append(t)
            open_word = False
        elif t.startswith(boundary) or not open_word:
            words.append(t[len(boundary):] if t.startswith(boundary) else t)
            open_word = True
        else:
            words[-1] += t
    return words


def read_marker(path: str | os.PathLike) -> tuple[str, list[str]]:
    """(boundary, whole words) of a ``subword_boundary.txt`` file."""
    fields = Path(path).read_text(encoding="utf-8").split()
    if not fields:
        raise ValueError(f"{path}: empty (expected the word-boundary mark, then the whole words)")
    return fields[0], fields[1:]


def piece_variants(piece: str, units: Sequence[str], boundary: str = BOUNDARY
                   ) -> list[tuple[tuple[str, ...], bool, bool]]:
    """The position-marked unit sequences of a piece: [(phones, starts in W, ends in W)], final first."""
    initial = piece.startswith(boundary)
    u = list(units)
    if initial:
        final = [u[0] + "_S"] if len(u) == 1 else [u[0] + "_B"] + [x + "_I" for x in u[1:-1]] + [u[-1] + "_E"]
        nonfinal = [u[0] + "_B"] + [x + "_I" for x in u[1:]]
    else:
        final = [x + "_I" for x in u[:-1]] + [u[-1] + "_E"]
        nonfinal = [x + "_I" for x in u]
    return [(tuple(final), initial, True), (tuple(nonfinal), initial, False)]


def _read_lines(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def subword_lexicon(pieces: Iterable[str], graphemes: Sequence[str], boundary: str = BOUNDARY
                    ) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """(piece -> units, pieces without a spelling in ``graphemes``). Every letter of the pieces is added as
    a piece, word-initial and not (in the pieces' letter case), so that any spelling can be formed."""
    inventory = set(graphemes)
    pieces = set(pieces)
    letters = {c for p in pieces for c in p if c.isalpha()}
    lex, skipped = {}, []
    for p in sorted(pieces | {boundary + c for c in letters} | letters, key=str.encode):
        units = spell(p[len(boundary):] if p.startswith(boundary) else p)
        if units and set(units) <= inventory:
            lex[p] = units
        else:
            skipped.append(p)
    return lex, skipped


def prepare_lang_subword(pieces: Iterable[str], grapheme_lang: str | os.PathLike, lang_dir: str | os.PathLike,
                         boundary: str = BOUNDARY, model: str | os.PathLike | None = None,
                         sil_prob: float = 0.5) -> None:
    """Write a lang dir over ``pieces`` with the phones, topology and OOV word of ``grapheme_lang``.

    ``grapheme_lang`` is a position-dependent lang dir made by ``utils/prepare_lang.sh`` from a graphemic
    dict (``prepare_dict --grapheme``); its words that are spelled with silence phones only (``!SIL``,
    ``<UNK>``) stay whole words. The new lang shares its phones.txt (up to the disambiguation symbols),
    so models trained on it decode with the piece graph. Also writes ``subword_boundary.txt`` and, with
    ``model``, a copy of the sentencepiece model as ``subword.model``.
    """
    from dgmm.kaldi.ports import kaldifst
    from dgmm.lang.prepare_lang import _LangWriter, add_lex_disambig, compile_fst

    src, lang_dir = Path(grapheme_lang), Path(lang_dir)
    for f in ("phones.txt", "words.txt", "oov.txt", "topo", "phones/silence.txt", "phones/nonsilence.txt",
              "phones/optional_silence.txt", "phones/align_lexicon.txt", "phones/word_boundary.txt"):
        if not (src / f).is_file():
            raise FileNotFoundError(f"{src / f}: no such file (a position-dependent lang dir from "
                                    "utils/prepare_lang.sh is needed)")
    silence = set(_read_lines(src / "phones/silence.txt"))
    nonsil = _read_lines(src / "phones/nonsilence.txt")
    graphemes = sorted({p.rsplit("_", 1)[0] for p in nonsil}, key=str.encode)
    sil_phone = _read_lines(src / "phones/optional_silence.txt")[0]
    oov = _read_lines(src / "oov.txt")[0]
    whole = {}
    for line in _read_lines(src / "phones/align_lexicon.txt"):
        f = line.split()
        if f[0] != "<eps>" and all(p in silence for p in f[2:]):
            whole.setdefault(f[0], []).append(tuple(f[2:]))
    if oov not in whole:
        raise ValueError(f"{src}: the OOV word {oov!r} is not spelled with silence phones only")

    lex, skipped = subword_lexicon((p for p in pieces if p not in whole), graphemes, boundary)
    if skipped:
        log.info("%d piece(s) without a spelling in the units of %s left out: %s", len(skipped), src,
                    " ".join(skipped[:10]) + (" ..." if len(skipped) > 10 else ""))
    # (entry, source state W?, destination state W?) for L; whole words go W -> W
    entries = [(LexiconEntry(w, 1.0, pron), True, True) for w in sorted(whole, key=str.encode) for pron in whole[w]]
    for p, units in lex.items():
        entries += [(LexiconEntry(p, 1.0, ph), s, e) for ph, s, e in piece_variants(p, units, boundary)]
    disambig_lex, max_disambig = add_lex_disambig([e for e, _, _ in entries])
    nd = max_disambig + 1  # the last one follows the optional silence in L_disambig

    real_phones = [line.split()[0] for line in _read_lines(src / "phones.txt") if not line.startswith("#")]
    phone_list = real_phones + [f"#{n}" for n in range(nd + 1)]
    phone_ids = {p: i for i, p in enumerate(phone_list)}
    word_list = ["<eps>"] + sorted(set(lex) | set(whole), key=str.encode) + ["#0", "<s>", "</s>"]
    word_ids = {w: i for i, w in enumerate(word_list)}

    def fst_text(with_disambig: bool) -> str:
        sil_cost, nosil_cost = -math.log(sil_prob), -math.log(1.0 - sil_prob)
        W, S, M = 1, 2, 3
        arcs = [f"0\t{W}\t0\t0\t{nosil_cost!r}", f"0\t{S}\t0\t0\t{sil_cost!r}"]
        new = 4
        if with_disambig:
            arcs += [f"{S}\t{new}\t{phone_ids[sil_phone]}\t0\t0.0", f"{new}\t{W}\t{phone_ids[f'#{nd}']}\t0\t0.0"]
            new += 1
        else:
            arcs.append(f"{S}\t{W}\t{phone_ids[sil_phone]}\t0\t0.0")
        for (e, d), (_, from_w, to_w) in zip(disambig_lex, entries):
            pron = list(e.phones) + ([d] if with_disambig and d else [])
            cur = W if from_w else M
            for i, p in enumerate(pron[:-1]):
                arcs.append(f"{cur}\t{new}\t{phone_ids[p]}\t{word_ids[e.word] if i == 0 else 0}\t0.0")
                cur, new = new, new + 1
            w = word_ids[e.word] if len(pron) == 1 else 0
            if to_w:
                arcs.append(f"{cur}\t{W}\t{phone_ids[pron[-1]]}\t{w}\t{nosil_cost!r}")
                arcs.append(f"{cur}\t{S}\t{phone_ids[pron[-1]]}\t{w}\t{sil_cost!r}")
            else:
                arcs.append(f"{cur}\t{M}\t{phone_ids[pron[-1]]}\t{w}\t0.0")
        arcs.append(f"{W}\t0")
        return "\n".join(arcs) + "\n"

    disambig = [f"#{n}" for n in range(nd + 1)]
    align = sorted({f"{e.word} {e.word} {' '.join(e.phones)}" for e, _, _ in entries} | {f"<eps> <eps> {sil_phone}"},
                   key=str.encode)
    # topo, oov.txt and phones/ as in the grapheme lang, except the files that depend on the words
    texts = {name: _read_lines(src / name) for name in ("topo", "oov.txt")}
    texts.update({f"phones/{f.name}": _read_lines(f) for f in sorted((src / "phones").iterdir())})
    texts.update({
        "phones.txt": [f"{p} {i}" for i, p in enumerate(phone_list)],
        "words.txt": [f"{x} {i}" for i, x in enumerate(word_list)],
        "oov.int": [str(word_ids[oov])],
        "phones/disambig.txt": disambig,
        "phones/disambig.int": [str(phone_ids[p]) for p in disambig],
        "phones/disambig.csl": [":".join(str(phone_ids[p]) for p in disambig)],
        "phones/wdisambig_phones.int": [str(phone_ids["#0"])],
        "phones/wdisambig_words.int": [str(word_ids["#0"])],
        "phones/align_lexicon.txt": align,
        "phones/align_lexicon.int": [" ".join([str(word_ids[a.split()[0]])] * 2 + [str(phone_ids[p]) for p in
                                                                                 a.split()[2:]]) for a in align],
        MARKER_FILE: [" ".join([boundary] + sorted(whole, key=str.encode))],
    })
    w = _LangWriter(lang_dir)
    try:
        for name, lines in texts.items():
            w.text(name, lines)
        w.fst("L.fst", compile_fst(fst_text(False), "olabel"))
        ld = compile_fst(fst_text(True))
        kaldifst.add_self_loops(ld, [phone_ids["#0"]], [word_ids["#0"]])
        kaldifst.arcsort(ld, sort_type="olabel")
        w.fst("L_disambig.fst", ld)
        if model is not None:
            shutil.copyfile(model, w.tmp / "subword.model")
            w.files.append("subword.model")
        w.commit()
    except BaseException:
        w.abort()
        raise
    log.info("Wrote %s: %d pieces (%d word-initial), %d whole words, %d phone disambiguation symbols",
             lang_dir, len(lex), sum(p.startswith(boundary) for p in lex), len(whole), nd + 1)
