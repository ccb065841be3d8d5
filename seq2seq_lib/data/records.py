"""The records of a split as a config selects them: training filters, validation subset, seeded samples."""

from __future__ import annotations

import random
from typing import TypeVar

from ..config import Config
from ..errors import UserError
from ..paths import resolve_path
from .batching import EncodedDataset
from .corpus import load_split

SPLITS = ("train", "valid", "test")
EMPTY_BODIES = ("pass", "...", "raise NotImplementedError", "raise NotImplementedError()")

T = TypeVar("T")


def load_records(config: Config, split: str) -> list[dict]:
    """The records of one split of the configured corpus."""
    if split not in SPLITS:
        raise UserError(f"unknown split '{split}'; choose one of {list(SPLITS)}")
    return load_split(resolve_path(config.data.corpus_dir), split)


def has_empty_body(record: dict) -> bool:
    """True for functions whose body (docstring removed) is only a stub like `pass` or `...`."""
    lines = [line.strip() for line in record["func_code_string"].splitlines()]
    body = [line for line in lines[1:] if line and not line.startswith("#")]
    return len(body) <= 1 and (not body or body[0] in EMPTY_BODIES)


def training_records(config: Config) -> list[dict]:
    """Training records after the training-only filters (the valid and test splits stay as built)."""
    return [r for r in load_records(config, "train") if not has_empty_body(r)]


def subsample(dataset: EncodedDataset, size: int | None, seed: int) -> EncodedDataset:
    """A deterministic random subset of `size` pairs (the whole dataset when size is None or larger)."""
    if size is None or len(dataset) <= size:
        return dataset
    keep = sample_records(list(range(len(dataset))), size, seed)
    return EncodedDataset([dataset.pairs[i] for i in keep], [dataset.indices[i] for i in keep])


def sample_records(records: list[T], size: int | None, seed: int = 0) -> list[T]:
    """A seeded random sample of `size` records in their original order (all of them when size is None or larger).

    Splits are stored package by package, so the first N pairs would come from a few packages only.
    """
    if size is None or len(records) <= size:
        return records
    return [records[i] for i in sorted(random.Random(seed).sample(range(len(records)), size))]


def validation_records(config: Config) -> list[dict]:
    """Validation records, subsampled deterministically when max_valid_pairs is set."""
    records = load_records(config, "valid")
    if config.data.max_valid_pairs is not None and len(records) > config.data.max_valid_pairs:
        records = random.Random(config.seed + 1).sample(records, config.data.max_valid_pairs)
    return records
