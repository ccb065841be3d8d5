"""Encode pairs to ids, pad them into Batches (with masks) and sample length-bucketed batches."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ..errors import UserError
from .preprocess import Preprocessor, record_fields
from .vocab import EOS_ID, PAD_ID, SOS_ID

Example = tuple[list[int], list[int], int]  # (src ids ending in <eos>, tgt ids ending in <eos>, index)


class EncodedDataset(Dataset):
    """Encoded (src, tgt) pairs plus the index of each pair's record in the original list."""

    def __init__(self, pairs: Sequence[tuple[list[int], list[int]]], indices: Sequence[int]) -> None:
        if len(pairs) != len(indices):
            raise ValueError("pairs and indices differ in length")
        self.pairs = list(pairs)
        self.indices = list(indices)

    def __len__(self) -> int:
        """Number of pairs."""
        return len(self.pairs)

    def __getitem__(self, i: int) -> Example:
        """(src ids, tgt ids, dataset position)."""
        src, tgt = self.pairs[i]
        return src, tgt, i

    def lengths(self) -> list[tuple[int, int]]:
        """(src length, tgt length) of every pair, for the bucketing sampler."""
        return [(len(src), len(tgt)) for src, tgt in self.pairs]


def encode_records(
    records: Sequence[Mapping[str, Any]],
    preprocessor: Preprocessor,
    max_src_len: int | None = None,
    max_tgt_len: int | None = None,
) -> tuple[EncodedDataset, dict[str, int]]:
    """Encode records; pairs over the limits (counted with <eos>) are left out."""
    for name, limit in (("max_src_len", max_src_len), ("max_tgt_len", max_tgt_len)):
        if limit is not None and limit < 2:
            raise UserError(f"{name} must be at least 2 (or None for no limit), got {limit}")
    pairs, indices, counts = [], [], {"kept": 0, "dropped": 0}
    for index, record in enumerate(records):
        docstring, code = record_fields(record)
        src, tgt = preprocessor.encode_src(docstring), [*preprocessor.encode_tgt(code), EOS_ID]
        if (max_src_len is not None and len(src) > max_src_len) or (max_tgt_len is not None and len(tgt) > max_tgt_len):
            counts["dropped"] += 1
            continue
        pairs.append((src, tgt))
        indices.append(index)
    counts["kept"] = len(pairs)
    return EncodedDataset(pairs, indices), counts


@dataclass
class Batch:
    """Padded tensors of one batch (see docs/DESIGN.md)."""

    src: torch.Tensor  # (B, S) long, PAD_ID-padded
    src_lengths: torch.Tensor  # (B,) long, always on the CPU (for packing)
    tgt_in: torch.Tensor  # (B, T) = <sos> y1 .. y_{T-1}, padded
    tgt_out: torch.Tensor  # (B, T) = y1 .. yT ending with <eos>, padded
    indices: torch.Tensor  # (B,) positions in the dataset

    def __len__(self) -> int:
        """Batch size B."""
        return self.src.size(0)

    def to(self, device: torch.device | str) -> Batch:
        """Copy tensors to `device`; `src_lengths` stays on the CPU."""
        return Batch(
            self.src.to(device),
            self.src_lengths,
            self.tgt_in.to(device),
            self.tgt_out.to(device),
            self.indices.to(device),
        )


def _pad(seqs: Sequence[list[int]]) -> torch.Tensor:
    """Right-pad id lists with PAD_ID into a (B, max_len) long tensor."""
    out = torch.full((len(seqs), max(map(len, seqs))), PAD_ID, dtype=torch.long)
    for row, seq in enumerate(seqs):
        out[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
    return out


def collate(examples: Sequence[Example]) -> Batch:
    """Examples -> Batch: tgt_in = <sos> + tgt[:-1], tgt_out = tgt."""
    if not examples:
        raise ValueError("cannot collate an empty batch")
    srcs, tgts, positions = zip(*examples)
    return Batch(
        src=_pad(srcs),
        src_lengths=torch.tensor([len(s) for s in srcs], dtype=torch.long),
        tgt_in=_pad([[SOS_ID, *t[:-1]] for t in tgts]),
        tgt_out=_pad(tgts),
        indices=torch.tensor(positions, dtype=torch.long),
    )


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of similar length: sort by (tgt, src) length inside large random pools, shuffle batch order.

    Inside a pool sorted by target length, each run of `group_batches` batches is re-sorted by source
    length before it is cut, so that both sides of a batch are close in length (group_batches=1: plain
    (tgt, src) order). Ties keep the epoch's random order; shuffle=False sorts the whole dataset once.
    """

    def __init__(
        self,
        lengths: Sequence[tuple[int, int]],
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        bucket_size_multiplier: int = 300,
        group_batches: int = 8,
        drop_last: bool = False,
    ) -> None:
        if min(batch_size, bucket_size_multiplier, group_batches) < 1:
            raise UserError(
                f"batch_size, bucket_size_multiplier and group_batches must be >= 1, got {batch_size}, {bucket_size_multiplier}, {group_batches}"
            )
        self.lengths = list(lengths)  # (src, tgt) per example
        self._tgt_first = [(tgt, src) for src, tgt in self.lengths]
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.pool_size = batch_size * bucket_size_multiplier
        self.group_size = batch_size * group_batches
        self.drop_last = drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose (deterministic) order `__iter__` yields."""
        self.epoch = epoch

    def _batches(self) -> list[list[int]]:
        """All batches of the current epoch, in order."""
        order = list(range(len(self.lengths)))
        rng = random.Random(self.seed * 1_000_003 + self.epoch)
        pool_size = self.pool_size if self.shuffle else len(order)
        if self.shuffle:
            rng.shuffle(order)
        batches: list[list[int]] = []
        for start in range(0, len(order), max(1, pool_size)):
            pool = sorted(order[start : start + pool_size], key=self._tgt_first.__getitem__)
            for g in range(0, len(pool), self.group_size):
                group = sorted(pool[g : g + self.group_size], key=self.lengths.__getitem__)
                batches.extend(group[b : b + self.batch_size] for b in range(0, len(group), self.batch_size))
        if self.drop_last:
            batches = [b for b in batches if len(b) == self.batch_size]
        if self.shuffle:
            rng.shuffle(batches)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        """Yield lists of dataset positions."""
        return iter(self._batches())

    def __len__(self) -> int:
        """Number of batches per epoch."""
        full, rest = divmod(len(self.lengths), self.batch_size)  # pools hold whole batches: only the last is short
        return full + (1 if rest and not self.drop_last else 0)


def make_loader(
    dataset: EncodedDataset,
    batch_size: int,
    shuffle: bool = True,
    seed: int = 0,
    bucket_size_multiplier: int = 300,
    group_batches: int = 8,
) -> DataLoader:
    """DataLoader of Batches with length bucketing; call `loader.batch_sampler.set_epoch(e)` each epoch."""
    sampler = BucketBatchSampler(dataset.lengths(), batch_size, shuffle, seed, bucket_size_multiplier, group_batches)
    return DataLoader(dataset, batch_sampler=sampler, collate_fn=collate, num_workers=0)
