"""``data/local/dict`` -> ``data/lang``, file for file as Kaldi's ``utils/prepare_lang.sh`` writes it.

Writes ``phones.txt``, ``words.txt`` (with ``<eps>``, ``#0``, ``<s>``, ``</s>``), ``topo`` (as
``utils/gen_topo.pl``), ``L.fst``, ``L_disambig.fst`` (as ``utils/lang/make_lexicon_fst.py`` +
``fstaddselfloops``, olabel-sorted), ``oov.txt``/``oov.int`` and the ``phones/`` sets (``.txt``, ``.int``,
``.csl``). Word-position-dependent phones (``_B _E _I _S``) are on by default, as in Kaldi.
Tested file for file against the Kaldi-made ``data/lang`` of ``../shared/kaldi_ref/{yesno,fsdd}``.

Not supported (Kaldi options rarely used by GMM recipes): ``--unk-fst``, ``lexiconp_silprob.txt``,
``--phone-symbol-table``, ``--extra-word-disambig-syms``.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from dgmm.fileutil import temp_dir_for
from dgmm.lang.lexicon import DictDir, LexiconEntry, read_dict_dir

log = logging.getLogger(__name__)

POSITIONS = ("_B", "_E", "_I", "_S")


@dataclass
class LangOptions:
    """prepare_lang.sh's options, with its defaults."""

    position_dependent_phones: bool = True
    sil_prob: float = 0.5
    num_sil_states: int = 5
    num_nonsil_states: int = 3
    share_silence_phones: bool = False
    share_state_roots: bool = True


def _c_sorted(items):
    """Sort strings in C-locale (byte) order, as Kaldi's scripts do under LC_ALL=C."""
    return sorted(items, key=lambda s: s.encode())


def position_dependent_lexicon(lexicon: Sequence[LexiconEntry]) -> list[LexiconEntry]:
    """Mark phones with their word position: ``_S`` alone, else ``_B``, ``_I``..., ``_E``."""
    out = []
    for e in lexicon:
        p = e.phones
        phones = (p[0] + "_S",) if len(p) == 1 else (p[0] + "_B", *(x + "_I" for x in p[1:-1]), p[-1] + "_E")
        out.append(LexiconEntry(e.word, e.prob, phones))
    return out


def add_lex_disambig(lexicon: Sequence[LexiconEntry]) -> tuple[list[tuple[LexiconEntry, str | None]], int]:
    """Disambiguation symbols as Kaldi's ``utils/add_lex_disambig.pl``.

    A pronunciation gets ``#n`` when its phone sequence is shared by another entry or is a proper prefix
    of one; entries with the same sequence get ``#1``, ``#2``... in lexicon order. Returns
    ((entry, disambig symbol or None) per entry, highest n used).
    """
    count: dict[tuple[str, ...], int] = {}
    prefixes: set[tuple[str, ...]] = set()
    for e in lexicon:
        count[e.phones] = count.get(e.phones, 0) + 1
        for k in range(len(e.phones)):
            prefixes.add(e.phones[:k])
    last: dict[tuple[str, ...], int] = {}
    out, max_disambig = [], 0
    for e in lexicon:
        if count[e.phones] == 1 and e.phones not in prefixes:
            out.append((e, None))
            continue
        n = last.get(e.phones, 0) + 1
        last[e.phones] = n
        max_disambig = max(max_disambig, n)
        out.append((e, f"#{n}"))
    return out, max_disambig


def gen_topo(num_nonsil_states: int, num_sil_states: int, nonsil_phones: Sequence[int],
             sil_phones: Sequence[int]) -> str:
    """The ``topo`` text of Kaldi's ``utils/gen_topo.pl``: left-to-right non-silence HMMs (self-loop
    0.75, forward 0.25) and silence HMMs whose middle states are fully connected."""
    if not 1 <= num_nonsil_states <= 100 or not 3 <= num_sil_states <= 100:
        raise ValueError(f"bad number of HMM states: non-silence {num_nonsil_states}, silence {num_sil_states}")
    lines = ["<Topology>", "<TopologyEntry>", "<ForPhones>", " ".join(map(str, nonsil_phones)), "</ForPhones>"]
    for s in range(num_nonsil_states):
        lines.append(f"<State> {s} <PdfClass> {s} <Transition> {s} 0.75 <Transition> {s + 1} 0.25 </State>")
    lines += [f"<State> {num_nonsil_states} </State>", "</TopologyEntry>"]
    n = num_sil_states
    p = "%.15g" % (1.0 / (n - 1))  # Perl's default number format
    lines += ["<TopologyEntry>", "<ForPhones>", " ".join(map(str, sil_phones)), "</ForPhones>"]
    lines.append("<State> 0 <PdfClass> 0 " + "".join(f"<Transition> {d} {p} " for d in range(n - 1)) + "</State>")
    for s in range(1, n - 1):
        lines.append(f"<State> {s} <PdfClass> {s} " + "".join(f"<Transition> {d} {p} " for d in range(1, n))
                     + "</State>")
    lines += [f"<State> {n - 1} <PdfClass> {n - 1} <Transition> {n - 1} 0.75 <Transition> {n} 0.25 </State>",
              f"<State> {n} </State>", "</TopologyEntry>", "</Topology>"]
    return "\n".join(lines) + "\n"


def lexicon_fst_text(lexicon: Sequence[tuple[LexiconEntry, str | None]], sil_prob: float, sil_phone: str,
                     sil_disambig: str | None, phone_ids: dict[str, int], word_ids: dict[str, int]) -> str:
    """Text FST (integer labels) of L as Kaldi's ``utils/lang/make_lexicon_fst.py``.

    With ``sil_prob`` > 0: start 0, loop state 1 (words leave and enter), silence state 2; optional
    silence at the start and after every word with probability ``sil_prob``. ``sil_disambig`` (the last
    phone disambiguation symbol) follows the silence phone in L_disambig. State numbers follow Kaldi's,
    so the FST is arc-for-arc the one ``fstcompile`` builds there.
    """
    arcs: list[str] = []

    def arc(src, dst, phone, word, cost=0.0):
        arcs.append(f"{src}\t{dst}\t{phone_ids[phone] if phone else 0}\t{word_ids[word] if word else 0}\t{cost!r}")

    if sil_prob == 0.0:
        loop, new = 0, 1
        sil_cost = nosil_cost = None
    else:
        if not 0.0 < sil_prob < 1.0:
            raise ValueError(f"--sil-prob must be in [0, 1), got {sil_prob}")
        sil_cost, nosil_cost = -math.log(sil_prob), -math.log(1.0 - sil_prob)
        loop, sil_state, new = 1, 2, 3
        arc(0, loop, None, None, nosil_cost)
        arc(0, sil_state, None, None, sil_cost)
        if sil_disambig is None:
            arc(sil_state, loop, sil_phone, None)
        else:
            arc(sil_state, new, sil_phone, None)
            arc(new, loop, sil_disambig, None)
            new += 1
    for entry, disambig in lexicon:
        pron = list(entry.phones) + ([disambig] if disambig else [])
        cost = -math.log(entry.prob)
        cur = loop
        for i, p in enumerate(pron[:-1]):
            arc(cur, new, p, entry.word if i == 0 else None, cost if i == 0 else 0.0)
            cur, new = new, new + 1
        first = len(pron) == 1
        word = entry.word if first else None
        last_cost = cost if first else 0.0
        if sil_cost is None:
            arc(cur, loop, pron[-1], word, last_cost)
        else:
            arc(cur, loop, pron[-1], word, nosil_cost + last_cost)
            arc(cur, sil_state, pron[-1], word, sil_cost + last_cost)
    arcs.append(f"{loop}\t0")
    return "\n".join(arcs) + "\n"


def compile_fst(text: str, sort_type: str | None = None):
    """kaldifst.compile of an integer text FST, optionally arc-sorted ('ilabel' / 'olabel')."""
    from dgmm.kaldi.ports import kaldifst

    fst = kaldifst.compile(s=text, acceptor=False)
    if sort_type:
        kaldifst.arcsort(fst, sort_type=sort_type)
    return fst


class _LangWriter:
    """Collects the files of a lang dir in a temporary directory and moves them into place at the end."""

    def __init__(self, lang_dir: Path):
        self.lang_dir = lang_dir
        self.tmp = temp_dir_for(lang_dir)
        (self.tmp / "phones").mkdir()
        self.files: list[str] = []

    def text(self, name: str, lines: Sequence[str]) -> None:
        (self.tmp / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        self.files.append(name)

    def fst(self, name: str, fst) -> None:
        fst.write(str(self.tmp / name))
        self.files.append(name)

    def commit(self) -> None:
        (self.lang_dir / "phones").mkdir(parents=True, exist_ok=True)
        for name in self.files:
            os.replace(self.tmp / name, self.lang_dir / name)
        shutil.rmtree(self.tmp)

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def prepare_lang(dict_dir: str | os.PathLike, oov_word: str, tmp_dir: str | os.PathLike,
                 lang_dir: str | os.PathLike, opts: LangOptions | None = None) -> None:
    """Kaldi's ``utils/prepare_lang.sh <dict-src-dir> <oov-dict-entry> <tmp-dir> <lang-dir>``.

    Like Kaldi, writes ``lexiconp.txt`` into the dict dir if it is missing, and keeps the intermediate
    lexicons (``lexiconp.txt``, ``lexiconp_disambig.txt``, ``lex_ndisambig``) in ``tmp_dir``. The lang dir
    is written only when everything succeeded.
    """
    opts = opts or LangOptions()
    dict_dir, tmp_dir, lang_dir = Path(dict_dir), Path(tmp_dir), Path(lang_dir)
    d = read_dict_dir(dict_dir)
    words = {e.word for e in d.lexicon}
    if oov_word not in words:
        raise ValueError(f"{dict_dir}: the OOV word {oov_word!r} has no entry in the lexicon")
    if not (dict_dir / "lexiconp.txt").exists():
        from dgmm.fileutil import atomic_open

        log.info("Creating %s from lexicon.txt", dict_dir / "lexiconp.txt")
        with atomic_open(dict_dir / "lexiconp.txt", encoding="utf-8") as f:
            f.writelines(f"{e.word} 1.0\t{' '.join(e.phones)}\n" for e in d.lexicon)

    lexicon = position_dependent_lexicon(d.lexicon) if opts.position_dependent_phones else list(d.lexicon)
    files, disambig_lex, ndisambig = _lang_files(d, lexicon, oov_word, opts)

    tmp_dir.mkdir(parents=True, exist_ok=True)
    (tmp_dir / "lexiconp.txt").write_text("".join(f"{e.word} {e.prob:g}\t{' '.join(e.phones)}\n" for e in lexicon))
    (tmp_dir / "lexiconp_disambig.txt").write_text("".join(
        f"{e.word}\t{e.prob:g}\t{' '.join(e.phones + ((s,) if s else ()))}\n" for e, s in disambig_lex))
    (tmp_dir / "lex_ndisambig").write_text(f"{ndisambig}\n")

    w = _LangWriter(lang_dir)
    try:
        for name, content in files.items():
            if isinstance(content, list):
                w.text(name, content)
            else:
                w.fst(name, content)
        w.commit()
    except BaseException:
        w.abort()
        raise
    log.info("Wrote %s (%d phones, %d words, %d phone disambiguation symbols)", lang_dir,
             len(files["phones/silence.txt"]) + len(files["phones/nonsilence.txt"]),
             len(files["words.txt"]) - 4, ndisambig + 1)


def _lang_files(d: DictDir, lexicon: list[LexiconEntry], oov_word: str, opts: LangOptions):
    """All files of the lang dir (name -> list of text lines, or a kaldifst FST), the lexicon with its
    disambiguation symbols and the number of phone disambiguation symbols beyond #0."""
    from dgmm.kaldi.ports import kaldifst

    # phone_map: base phone -> its variants (silence keeps the bare phone for optional silence)
    if opts.position_dependent_phones:
        pmap = {p: [p + s for s in ("",) + POSITIONS] for line in d.silence_phones for p in line}
        pmap.update({p: [p + s for s in POSITIONS] for line in d.nonsilence_phones for p in line})
    else:
        pmap = {p: [p] for p in d.phones}

    def expand(line):
        return [v for p in line for v in pmap[p]]

    silence = [v for line in d.silence_phones for v in expand(line)]
    nonsilence = [v for line in d.nonsilence_phones for v in expand(line)]
    if opts.share_silence_phones:
        sets = [expand([p for line in d.silence_phones for p in line])] + [expand(x) for x in d.nonsilence_phones]
        first = ["not-shared not-split"]
    else:
        sets = [expand(x) for x in d.silence_phones + d.nonsilence_phones]
        first = []
    kind = "shared split" if opts.share_state_roots else "not-shared split"
    roots = [(first[0] if first and i == 0 else kind) + " " + " ".join(s) for i, s in enumerate(sets)]

    extra = [" ".join(expand(line)) for line in d.extra_questions]
    if opts.position_dependent_phones:
        nonsil_base = [p for line in d.nonsilence_phones for p in line]
        sil_base = [p for line in d.silence_phones for p in line]
        extra += ["".join(f"{p}{s} " for p in nonsil_base) for s in POSITIONS]
        extra += ["".join(f"{p}{s} " for p in sil_base) for s in ("",) + POSITIONS]

    disambig_lex, max_disambig = add_lex_disambig(lexicon)
    ndisambig = max_disambig + 1  # one more for the optional silence in L_disambig
    disambig = [f"#{n}" for n in range(ndisambig + 1)]

    phone_list = ["<eps>"] + silence + nonsilence + disambig
    phone_ids = {p: i for i, p in enumerate(phone_list)}
    word_list = ["<eps>"] + _c_sorted({e.word for e in lexicon}) + ["#0", "<s>", "</s>"]
    word_ids = {w: i for i, w in enumerate(word_list)}

    def ints(syms):
        return [str(phone_ids[s]) for s in syms]

    files: dict = {
        "phones.txt": [f"{p} {i}" for i, p in enumerate(phone_list)],
        "words.txt": [f"{w} {i}" for i, w in enumerate(word_list)],
        "oov.txt": [oov_word],
        "oov.int": [str(word_ids[oov_word])],
        "topo": gen_topo(opts.num_nonsil_states, opts.num_sil_states, ints(nonsilence), ints(silence))
        .splitlines(),
        "phones/wdisambig.txt": ["#0"],
        "phones/wdisambig_phones.int": [str(phone_ids["#0"])],
        "phones/wdisambig_words.int": [str(word_ids["#0"])],
        "phones/sets.txt": [" ".join(s) for s in sets],
        "phones/sets.int": [" ".join(ints(s)) for s in sets],
        "phones/roots.txt": roots,
        "phones/roots.int": [r.split()[0] + " " + r.split()[1] + " " + " ".join(ints(r.split()[2:])) for r in roots],
        "phones/extra_questions.txt": extra,
        "phones/extra_questions.int": [" ".join(ints(q.split())) for q in extra],
    }
    for name, syms in (("silence", silence), ("nonsilence", nonsilence), ("optional_silence", [d.optional_silence]),
                       ("disambig", disambig), ("context_indep", silence)):
        files[f"phones/{name}.txt"] = list(syms)
        files[f"phones/{name}.int"] = ints(syms)
        files[f"phones/{name}.csl"] = [":".join(ints(syms))]
    if opts.position_dependent_phones:
        kinds = {"_B": "begin", "_E": "end", "_I": "internal", "_S": "singleton"}
        wb = [f"{p} {kinds.get(p[-2:], 'nonword')}" for p in silence + nonsilence]
        files["phones/word_boundary.txt"] = wb
        files["phones/word_boundary.int"] = [f"{phone_ids[x.split()[0]]} {x.split()[1]}" for x in wb]

    align = _c_sorted({f"{e.word} {e.word} {' '.join(e.phones)}" for e in lexicon}
                      | {f"<eps> <eps> {d.optional_silence}"})
    files["phones/align_lexicon.txt"] = align
    files["phones/align_lexicon.int"] = [
        " ".join([str(word_ids[f[0]]), str(word_ids[f[1]])] + ints(f[2:])) for f in (a.split() for a in align)]

    plain = [(e, None) for e in lexicon]
    files["L.fst"] = compile_fst(lexicon_fst_text(plain, opts.sil_prob, d.optional_silence, None, phone_ids,
                                                  word_ids), "olabel")
    ld = compile_fst(lexicon_fst_text(disambig_lex, opts.sil_prob, d.optional_silence, f"#{ndisambig}",
                                      phone_ids, word_ids))
    kaldifst.add_self_loops(ld, [phone_ids["#0"]], [word_ids["#0"]])
    kaldifst.arcsort(ld, sort_type="olabel")
    files["L_disambig.fst"] = ld
    return files, disambig_lex, ndisambig
