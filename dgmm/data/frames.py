"""Frame-level training data: features + pdf-id labels, CMVN, on-the-fly splicing, shuffling, CV split.

Memory layout (in-RAM corpora): all frames once as float32 ``feats [N, D]`` (after CMVN), int64
``labels [N]`` (pdf-ids exactly as imported) and the utterance boundaries ``offsets [U+1]``; a batch
of frame ids ``[B]`` is spliced by gathering ``feats[context_index(...)]`` -> ``[B, C, D]`` with
``C = left+1+right``, so the spliced ``[N, C*D]`` matrix never exists.

Larger corpora use ``StreamingFrames``: the same batches (same order, same frames) but features are
read from ``feats.scp`` one shuffle block at a time. A batch touches at most two consecutive blocks;
feature memory stays below ``3 * block_frames * D * 4`` bytes (two blocks held, a third while the
next one loads; an utterance longer than ``block_frames`` is a block of its own), plus int64 labels
[N] and utterance offsets.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import kaldiio
import numpy as np
import torch

from dgmm.cli import DgmmError
from dgmm.data.splice import context_index
from dgmm.features.cmvn import apply_cmvn, compute_cmvn_stats, load_cmvn_for_utts
from dgmm.kaldi.tables import read_table

log = logging.getLogger(__name__)

CMVN_MODES = ("speaker", "utterance", "global", "none")


# ----------------------------------------------------------------------------- data directories

def read_utt2spk(data_dir: str | os.PathLike) -> dict[str, str]:
    """utt2spk of a data dir; every utterance is its own speaker when the file is absent."""
    p = Path(data_dir) / "utt2spk"
    if p.exists():
        return read_table(p)
    feats = read_table(Path(data_dir) / "feats.scp")
    return {u: u for u in feats}


def read_utt2uniq(data_dir: str | os.PathLike, utts) -> dict[str, str] | None:
    """utt2uniq of a data dir (perturbed copy -> original utterance) for ``utts``; None when absent.
    An utterance without an entry is its own original (as Kaldi's ``combine_data.sh`` fills in for
    source dirs without utt2uniq), with a warning."""
    p = Path(data_dir) / "utt2uniq"
    if not p.exists():
        return None
    utt2uniq = read_table(p)
    missing = [u for u in utts if u not in utt2uniq]
    if missing:
        log.warning("%s: no entry for %d utterances (e.g. %s): each is its own original", p, len(missing), missing[0])
        utt2uniq.update((u, u) for u in missing)
    return utt2uniq


def cv_split(utt2spk: dict[str, str], cv_percent: float = 10, by_speaker: bool = False,
             seed: int = 777, utt2uniq: dict[str, str] | None = None,
             random: bool = False) -> tuple[list[str], list[str]]:
    """Split utterances into (train, cv) as Kaldi's ``utils/subset_data_dir_tr_cv.sh``.

    Default (``--cv-utt-percent P``): the last P% of the sorted utterances, the boundary moved back to
    a speaker change when at least one whole speaker stays in train. ``by_speaker``
    (``--cv-spk-percent P``): P% of the speakers, at least one, picked at random with ``seed``
    (numpy's generator, so not the same speakers as Kaldi's perl shuffle). ``random``: P% of the
    utterances, at least one, picked at random with ``seed``, as the validation subset of nnet3's
    ``get_egs.sh`` (every speaker keeps most of its utterances in train).

    With ``utt2uniq`` (perturbed copies -> original utterance, every utterance of ``utt2spk`` listed)
    the split is made over the originals and all copies of one original go to the same side, as
    Kaldi keeps them together (nnet3's ``get_egs.sh`` closes its validation list over utt2uniq, nnet1
    recipes pass the CV speakers of perturbed data with ``--cv-spk-list``); otherwise the CV would
    hold copies of training utterances. An original counts once, with the speaker of its
    unperturbed copy (of its first copy when that is absent).
    """
    if by_speaker and random:
        raise DgmmError("cv split: choose by speaker or random utterances, not both")
    if utt2uniq is None:
        return _cv_split(utt2spk, cv_percent, by_speaker, seed, random)
    copies: dict[str, list[str]] = {}
    for u in sorted(utt2spk):
        copies.setdefault(utt2uniq[u], []).append(u)
    uniq2spk = {q: utt2spk.get(q, utt2spk[c[0]]) for q, c in copies.items()}
    tr, cv = _cv_split(uniq2spk, cv_percent, by_speaker, seed, random)
    return sorted(u for q in tr for u in copies[q]), sorted(u for q in cv for u in copies[q])


def _cv_split(utt2spk: dict[str, str], cv_percent: float, by_speaker: bool, seed: int,
              random: bool) -> tuple[list[str], list[str]]:
    """``cv_split`` without utt2uniq: every utterance its own original."""
    utts = sorted(utt2spk)
    if by_speaker:
        spks = sorted(set(utt2spk.values()))
        n_cv = len(spks) * int(cv_percent) // 100
        if cv_percent > 0 and len(spks) > 1:
            n_cv = max(n_cv, 1)   # e.g. 10% of 5 speakers: one CV speaker, not none
        perm = np.random.default_rng(seed).permutation(len(spks))
        cv_spk = {spks[i] for i in perm[:n_cv]}
        cv = [u for u in utts if utt2spk[u] in cv_spk]
        tr = [u for u in utts if utt2spk[u] not in cv_spk]
    elif random:
        n_cv = round(len(utts) * cv_percent / 100)
        if cv_percent > 0:
            n_cv = max(n_cv, 1)
        picked = set(np.random.default_rng(seed).permutation(len(utts))[:n_cv].tolist())
        cv = [u for i, u in enumerate(utts) if i in picked]
        tr = [u for i, u in enumerate(utts) if i not in picked]
    else:
        n = len(utts)
        n_head = n - n * int(cv_percent) // 100
        # largest prefix of whole speakers (runs of equal speaker) that fits in n_head
        kept = 0
        i = 0
        while i < n:
            j = i
            while j < n and utt2spk[utts[j]] == utt2spk[utts[i]]:
                j += 1
            if j > n_head:
                break
            kept, i = j, j
        n_head = kept or n_head
        tr, cv = utts[:n_head], utts[n_head:]
    if not tr or not cv:
        raise DgmmError(f"cv split gives {len(tr)} train / {len(cv)} cv utterances "
                        f"(cv_percent={cv_percent}, by_speaker={by_speaker}, random={random})")
    return tr, cv


# ----------------------------------------------------------------------------- CMVN

class Cmvn:
    """Applies CMVN to each utterance with the stats ``apply-cmvn`` would use.

    mode ``speaker``: ``<data>/cmvn.scp`` via ``utt2spk`` (or by utterance id when cmvn.scp is keyed
    by utterances), Kaldi's ``apply-cmvn --utt2spk``. ``utterance``: stats of the utterance itself.
    ``global``: one matrix, the sum of the distinct cmvn.scp stats of ``utts`` (= stats of all their
    frames when cmvn.scp is per speaker), or ``global_stats`` when given (to apply training stats to
    other data). ``none``: no normalisation.
    """

    def __init__(self, mode: str, norm_vars: bool = False, data_dir: str | os.PathLike | None = None,
                 utts: Sequence[str] | None = None, global_stats: np.ndarray | None = None):
        if mode not in CMVN_MODES:
            raise DgmmError(f"unknown cmvn mode {mode!r} (choose from {', '.join(CMVN_MODES)})")
        self.mode, self.norm_vars, self.global_stats = mode, norm_vars, global_stats
        if mode == "speaker" or (mode == "global" and global_stats is None):
            self._per_utt = load_cmvn_for_utts(data_dir)
        if mode == "global" and global_stats is None:
            chosen = self._per_utt if utts is None else {u: self._per_utt[u] for u in utts}
            distinct = {id(m): m for m in chosen.values()}  # shared per speaker: count each once
            self.global_stats = sum(distinct.values())

    @classmethod
    def from_checkpoint(cls, ckpt: dict, data_dir: str | os.PathLike) -> "Cmvn":
        """The CMVN a model was trained with (the ``cmvn_mode``/``norm_vars``/``global_cmvn_stats``
        entries that dgmm.bin.train stores in final.pt), for the data of ``data_dir`` (decoding)."""
        mode = ckpt.get("cmvn_mode", "speaker")
        stats = ckpt.get("global_cmvn_stats")
        return cls(mode, bool(ckpt.get("norm_vars", False)), data_dir,
                   global_stats=None if stats is None else np.asarray(stats, dtype=np.float64))

    def __call__(self, utt: str, feats: np.ndarray) -> np.ndarray:
        """CMVN-applied copy of ``feats`` [T, D]; NaN/Inf in the input or the result is an error naming
        the utterance (every network input passes here: training, CV, init, decoding)."""
        with np.errstate(invalid="ignore", over="ignore"):   # bad input is reported below, not warned about
            out = self._apply(utt, feats)
        if not np.isfinite(out).all():   # one check on the hot path; the details only on failure
            bad = ~np.isfinite(feats)
            if bad.any():
                t, d = np.argwhere(bad)[0]
                raise DgmmError(f"utterance {utt}: non-finite feature value {feats[t, d]} at frame {t}, dim {d} "
                                f"({int(bad.any(1).sum())} of {len(feats)} frames); redo its feature extraction")
            raise DgmmError(f"utterance {utt}: {self.mode} CMVN gives non-finite features (NaN/Inf in the "
                            f"CMVN statistics?)")
        return out

    def _apply(self, utt: str, feats: np.ndarray) -> np.ndarray:
        if self.mode == "none":
            return np.array(feats, dtype=np.float32)  # a writable copy
        if self.mode == "global":
            stats = self.global_stats
        elif self.mode == "utterance":
            stats = compute_cmvn_stats([feats])
        else:
            if utt not in self._per_utt:
                raise DgmmError(f"no CMVN stats for utterance {utt} (not in utt2spk)")
            stats = self._per_utt[utt]
        return apply_cmvn(feats, stats, norm_vars=self.norm_vars)


# ----------------------------------------------------------------------------- alignments

def load_pdf_alignments(ali_dir: str | os.PathLike):
    """(lazy dict utt -> int32 pdf-ids, num_pdfs) from an imported alignment dir (pdf_ali.scp, num_pdfs)."""
    ali_dir = Path(ali_dir)
    for f in ("pdf_ali.scp", "num_pdfs"):
        if not (ali_dir / f).exists():
            raise FileNotFoundError(f"{ali_dir / f} not found (run steps/import_ali.sh first)")
    try:
        num_pdfs = int((ali_dir / "num_pdfs").read_text().split()[0])
    except (ValueError, IndexError):
        raise DgmmError(f"{ali_dir / 'num_pdfs'}: expected one integer") from None
    return kaldiio.load_scp(str(ali_dir / "pdf_ali.scp")), num_pdfs


# ----------------------------------------------------------------------------- frame store

@dataclass
class UttList:
    """Utterances of a frame set with their frame ranges: frames of utts[i] are offsets[i]:offsets[i+1]."""
    utts: list[str]
    offsets: torch.Tensor  # int64 [U+1]

    @property
    def num_frames(self) -> int:
        return int(self.offsets[-1])

    @property
    def lengths(self) -> torch.Tensor:
        return self.offsets[1:] - self.offsets[:-1]

    def utt_of_frame(self, frames: torch.Tensor) -> torch.Tensor:
        """Utterance index [B] of global frame ids [B]."""
        return torch.searchsorted(self.offsets, frames, right=True) - 1


class FrameSet:
    """Frames + labels of a list of utterances, held in RAM; gathers spliced batches."""

    def __init__(self, index: UttList, feats: torch.Tensor, labels: torch.Tensor, num_pdfs: int):
        self.index, self.feats, self.labels, self.num_pdfs = index, feats, labels, num_pdfs

    @property
    def feat_dim(self) -> int:
        return self.feats.shape[1]

    def __len__(self) -> int:
        return self.index.num_frames

    def gather(self, frames: torch.Tensor, left: int, right: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Spliced inputs [B, (left+1+right)*D] and labels [B] of global frame ids [B]."""
        f = frames.numpy()
        off = self.index.offsets.numpy()
        u = np.searchsorted(off, f, side="right") - 1
        idx = context_index(f, off[u], off[u + 1], left, right)
        return _take(self.feats, idx), self.labels[frames]


def _take(feats: torch.Tensor, idx: np.ndarray) -> torch.Tensor:
    """feats[idx] reshaped to [B, C*D], gathered by numpy: single-threaded and fast for small
    batches (torch's intra-op threads cost more than the copy on a busy machine)."""
    out = np.take(feats.numpy(), idx.reshape(-1), axis=0)
    return torch.from_numpy(out.reshape(idx.shape[0], -1))


def read_frames(data_dir: str | os.PathLike, ali_dir: str | os.PathLike, utts: Sequence[str] | None,
                cmvn: Cmvn) -> FrameSet:
    """Load features (CMVN applied) and pdf labels of ``utts`` (default: all of feats.scp) into RAM.

    Utterances without an alignment or whose alignment length differs from the feature frame count
    are skipped with a warning (as Kaldi's nnet training tools do); labels outside [0, num_pdfs) are
    an error.
    """
    index, feats_scp, ali, num_pdfs = _index(data_dir, ali_dir, utts)
    N = index.num_frames
    feats = None
    labels = torch.empty(N, dtype=torch.int64)
    for i, u in enumerate(index.utts):
        s, e = int(index.offsets[i]), int(index.offsets[i + 1])
        m = cmvn(u, np.asarray(feats_scp[u], dtype=np.float32))
        if feats is None:
            feats = torch.empty(N, m.shape[1], dtype=torch.float32)
        if m.shape[0] != e - s or m.shape[1] != feats.shape[1]:
            raise DgmmError(f"{data_dir}/feats.scp: utterance {u} has shape {m.shape}, expected "
                            f"({e - s}, {feats.shape[1]})")
        feats[s:e] = torch.from_numpy(m)
        labels[s:e] = torch.from_numpy(_labels(ali, u, num_pdfs, ali_dir))
    return FrameSet(index, feats, labels, num_pdfs)


def _labels(ali, utt: str, num_pdfs: int, ali_dir) -> np.ndarray:
    lab = np.asarray(ali[utt], dtype=np.int64)
    if lab.size and (lab.min() < 0 or lab.max() >= num_pdfs):
        raise DgmmError(f"{ali_dir}/pdf_ali.scp: utterance {utt} has pdf-id "
                        f"{lab.min() if lab.min() < 0 else lab.max()} outside [0, {num_pdfs})")
    return lab


def _index(data_dir, ali_dir, utts):
    """UttList of the usable utterances (aligned, equal lengths) + readers."""
    data_dir = Path(data_dir)
    if not (data_dir / "feats.scp").exists():
        raise FileNotFoundError(f"{data_dir / 'feats.scp'} not found")
    feats_scp = kaldiio.load_scp(str(data_dir / "feats.scp"))
    ali, num_pdfs = load_pdf_alignments(ali_dir)
    n2f = data_dir / "utt2num_frames"
    num_frames = read_table(n2f, int) if n2f.exists() else None
    wanted = sorted(feats_scp.keys()) if utts is None else list(utts)
    keep, lengths, no_ali, mismatch = [], [], 0, 0
    for u in wanted:
        if u not in feats_scp:
            raise DgmmError(f"utterance {u} not in {data_dir / 'feats.scp'}")
        if u not in ali:
            no_ali += 1
            continue
        n = num_frames[u] if num_frames is not None and u in num_frames else feats_scp[u].shape[0]
        n_ali = len(ali[u])
        if n != n_ali:
            mismatch += 1
            log.warning("utterance %s: %d feature frames but %d alignment frames, skipped", u, n, n_ali)
            continue
        keep.append(u)
        lengths.append(n)
    if no_ali:
        log.warning("%d of %d utterances have no alignment in %s/pdf_ali.scp, skipped",
                    no_ali, len(wanted), ali_dir)
    if not keep:
        raise DgmmError(f"no utterance of {data_dir} has a usable alignment in {ali_dir} "
                        f"({no_ali} missing, {mismatch} length mismatches)")
    offsets = torch.zeros(len(keep) + 1, dtype=torch.int64)
    offsets[1:] = torch.cumsum(torch.tensor(lengths, dtype=torch.int64), 0)
    return UttList(keep, offsets), feats_scp, ali, num_pdfs


class StreamingFrames:
    """Same interface as FrameSet, reading features from feats.scp one shuffle block at a time.

    Call ``set_epoch`` with the (epoch, seed, block_frames) of ``shuffle_order``: a batch then touches
    the current block and at most the next one, and only those blocks are kept (see the module doc
    for the memory bound).
    """

    def __init__(self, data_dir, ali_dir, utts: Sequence[str] | None, cmvn: Cmvn):
        self.index, self._feats_scp, ali, self.num_pdfs = _index(data_dir, ali_dir, utts)
        self.cmvn = cmvn
        self.labels = torch.from_numpy(np.concatenate(
            [_labels(ali, u, self.num_pdfs, ali_dir) for u in self.index.utts]))
        self.feat_dim = int(np.asarray(self._feats_scp[self.index.utts[0]]).shape[1])
        self._block_of_utt: np.ndarray | None = None  # [U] block id of each utterance this epoch
        self._loaded: dict[int, torch.Tensor] = {}  # block id -> its utterances' feats, concatenated
        self._blocks: list[int] | None = None  # the blocks held in _buf, in order
        self._buf = self._start = None

    def __len__(self) -> int:
        return self.index.num_frames

    def set_epoch(self, epoch: int, seed: int, block_frames: int) -> None:
        uperm, block = _block_plan(self.index, _epoch_generator(seed, epoch), block_frames)
        self._block_of_utt = np.empty(len(block), dtype=np.int64)
        self._block_of_utt[uperm.numpy()] = block.numpy()
        self._loaded, self._blocks = {}, None

    def _load_block(self, b: int) -> torch.Tensor:
        utts = np.flatnonzero(self._block_of_utt == b).tolist()
        return torch.cat([torch.from_numpy(self.cmvn(self.index.utts[i], np.asarray(
            self._feats_scp[self.index.utts[i]], np.float32))) for i in utts])

    def gather(self, frames: torch.Tensor, left: int, right: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self._block_of_utt is None:
            raise RuntimeError("StreamingFrames.set_epoch() must be called before gather()")
        f = frames.numpy()
        off = self.index.offsets.numpy()
        u = np.searchsorted(off, f, side="right") - 1
        blocks = sorted(set(self._block_of_utt[u].tolist()))
        if blocks != self._blocks:
            self._switch(blocks)
        s = self._start[u]
        idx = context_index(f - off[u] + s, s, s + (off[u + 1] - off[u]), left, right)
        return _take(self._buf, idx), self.labels[frames]

    def _switch(self, blocks: list[int]) -> None:
        """Hold exactly ``blocks`` (loading the missing ones), concatenated in one buffer."""
        self._loaded = {b: self._loaded[b] if b in self._loaded else self._load_block(b) for b in blocks}
        order = np.concatenate([np.flatnonzero(self._block_of_utt == b) for b in blocks])
        lens = self.index.lengths.numpy()[order]
        self._start = np.zeros(len(self.index.utts), dtype=np.int64)
        self._start[order] = np.cumsum(lens) - lens
        if len(blocks) == 1:
            self._buf = self._loaded[blocks[0]]
        else:  # one buffer; the blocks become views of it, so each is held once
            self._buf = torch.cat([self._loaded[b] for b in blocks])
            ends = np.cumsum([len(self._loaded[b]) for b in blocks])
            self._loaded = {b: self._buf[e - len(self._loaded[b]):e] for b, e in zip(blocks, ends)}
        self._blocks = blocks


# ----------------------------------------------------------------------------- order and batches

def _epoch_generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 100003 + epoch)


def _block_plan(index: UttList, g: torch.Generator, block_frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Shuffled utterance order [U] and the block id [U] of each position in that order."""
    if block_frames <= 0:
        raise DgmmError(f"block_frames must be positive, got {block_frames}")
    uperm = torch.randperm(len(index.utts), generator=g)
    block = torch.empty(len(uperm), dtype=torch.int64)
    b, used = 0, 0
    for k, n in enumerate(index.lengths[uperm].tolist()):  # per utterance, not per frame
        if used and used + n > block_frames:
            b, used = b + 1, 0
        block[k], used = b, used + n
    return uperm, block


def shuffle_order(index: UttList, epoch: int, seed: int, block_frames: int | None = None) -> torch.Tensor:
    """Frame ids [N] of one epoch, a function of (seed, epoch) only (so a resumed run sees the same).

    ``block_frames=None``: one global permutation of all frames. Otherwise utterances are shuffled,
    grouped in that order into blocks of at most ``block_frames`` frames (an utterance longer than
    that is a block of its own), and frames are shuffled within each block only.
    """
    g = _epoch_generator(seed, epoch)
    N = index.num_frames
    if block_frames is None:
        return torch.randperm(N, generator=g)
    uperm, block = _block_plan(index, g, block_frames)
    plen = index.lengths[uperm]
    # frame ids in shuffled-utterance order: position p of utterance k -> offsets[uperm[k]] + local p
    shift = index.offsets[:-1][uperm] - (torch.cumsum(plen, 0) - plen)
    frames = torch.arange(N) + torch.repeat_interleave(shift, plen)
    key = torch.repeat_interleave(block, plen).double() + 0.5 * torch.rand(N, generator=g, dtype=torch.float64)
    return frames[torch.argsort(key)]


def num_batches(num_frames: int, batch_size: int, world_size: int = 1) -> int:
    """Number of (global) batches of an epoch: ``batch_size`` frames per rank, ``world_size`` ranks."""
    g = batch_size * world_size
    return (num_frames + g - 1) // g


def iter_batches(order: torch.Tensor, batch_size: int, rank: int = 0, world_size: int = 1,
                 start: int = 0) -> Iterator[tuple[torch.Tensor, int]]:
    """This rank's frame ids of each global batch, from batch ``start`` on: yields (frames, global_count).

    A global batch is ``batch_size * world_size`` consecutive entries of ``order``, split into
    ``world_size`` near-equal contiguous shards; ``global_count`` is the global batch's size (for
    weighting this rank's mean loss so that the DDP average equals the single-process mean).
    """
    g = batch_size * world_size
    for i in range(start, num_batches(len(order), batch_size, world_size)):
        chunk = order[i * g:(i + 1) * g]
        n = len(chunk)
        lo, hi = n * rank // world_size, n * (rank + 1) // world_size
        yield chunk[lo:hi], n


# ----------------------------------------------------------------------------- train/cv sets

def load_train_cv(data_dir, ali_dir, cmvn_mode: str = "speaker", norm_vars: bool = False,
                  cv_percent: float = 10, cv_by_speaker: bool = False, cv_seed: int = 777,
                  streaming: bool = False, cv_random: bool = False):
    """(train set, cv set, Cmvn) of a data dir + alignment dir, split as ``cv_split``.

    Global CMVN stats come from the training utterances only. The CV set is always held in RAM; the
    training set streams from disk when ``streaming`` (use with block shuffling).
    """
    utt2spk = read_utt2spk(data_dir)
    feats = read_table(Path(data_dir) / "feats.scp")
    utt2spk = {u: s for u, s in utt2spk.items() if u in feats}
    utt2uniq = read_utt2uniq(data_dir, utt2spk)
    tr_utts, cv_utts = cv_split(utt2spk, cv_percent, cv_by_speaker, cv_seed, utt2uniq, cv_random)
    cmvn = Cmvn(cmvn_mode, norm_vars, data_dir, utts=tr_utts)
    tr = (StreamingFrames if streaming else read_frames)(data_dir, ali_dir, tr_utts, cmvn)
    cv = read_frames(data_dir, ali_dir, cv_utts, cmvn)
    log.info("training set: %d utterances, %d frames; cv set: %d utterances, %d frames",
             len(tr.index.utts), len(tr), len(cv.index.utts), len(cv))
    return tr, cv, cmvn


def split_fingerprint(train_utts: Sequence[str], cv_utts: Sequence[str]) -> dict:
    """Identity of a train/CV split: utterance counts and sha1 of the sorted ids, one per line (the cv
    sha1 is ``sha1sum`` of the ``<exp>/cv_utts`` that dgmm.bin.train writes). Stored in training
    checkpoints and model files, so that a resumed run can refuse to continue on another split."""
    def sha1(utts):
        return hashlib.sha1("".join(f"{u}\n" for u in sorted(utts)).encode()).hexdigest()
    return {"train_utts": len(train_utts), "train_sha1": sha1(train_utts),
            "cv_utts": len(cv_utts), "cv_sha1": sha1(cv_utts)}


def split_changes(saved: dict, train_utts: Sequence[str], cv_utts: Sequence[str], where: str) -> list[str]:
    """How the split ``train_utts``/``cv_utts`` differs from ``saved`` (a ``split_fingerprint``, plus
    the CV ids as ``cv_ids`` when ``where``, e.g. "the checkpoint", stored them); [] when equal."""
    new = split_fingerprint(train_utts, cv_utts)
    old_cv = set(saved.get("cv_ids", ()))
    changes = []
    if new["cv_sha1"] != saved["cv_sha1"]:
        msg = f"CV set: {saved['cv_utts']} utterances in {where}, {new['cv_utts']} now"
        differ = sorted(old_cv.symmetric_difference(cv_utts)) if old_cv else []
        changes.append(msg + (f"; {len(differ)} ids differ, first: {differ[0]}" if differ else ""))
    if new["train_sha1"] != saved["train_sha1"]:
        msg = f"training set: {saved['train_utts']} utterances in {where}, {new['train_utts']} now"
        former_cv = sorted(old_cv.intersection(train_utts))
        changes.append(msg + (f", {len(former_cv)} of them held out for CV before, first: {former_cv[0]}"
                              if former_cv else ""))
    return changes
