"""Where an experiment's files live, and how its data is loaded and prepared from a config."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

from .batching import EncodedDataset, encode_records
from .config import PROJECT_ROOT, Config
from .corpus import load_split
from .errors import UserError
from .preprocess import Preprocessor

SPLITS = ("train", "valid", "test")
EMPTY_BODIES = ("pass", "...", "raise NotImplementedError", "raise NotImplementedError()")

T = TypeVar("T")


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch so CPU runs repeat exactly."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def configure_threads(config: Config) -> None:
    """Apply the config's torch thread count (0 keeps torch's default)."""
    if config.training.num_threads > 0:
        torch.set_num_threads(config.training.num_threads)


def resolve_device(name: str) -> torch.device:
    """Turn 'auto' / 'cpu' / 'cuda' into a torch.device ('auto' picks CUDA when present)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("device 'cuda' asked for but no GPU is visible; set device: auto or cpu")
    if name not in ("cpu", "cuda"):
        raise UserError(f"unknown device '{name}'; use auto, cpu or cuda")
    return torch.device(name)


def resolve_path(path: str | Path) -> Path:
    """A config path: absolute as given, relative to the project root otherwise."""
    path = Path(path)
    return path if path.is_absolute() else PROJECT_ROOT / path


@dataclass(frozen=True)
class RunPaths:
    """The folders of one profile and seed: runs/<profile>-seed<seed>/ and results/<profile>/."""

    root: Path
    profile: str
    seed: int

    @property
    def run_dir(self) -> Path:
        """Checkpoints, histories and the fitted preprocessor of this run."""
        return self.root / "runs" / f"{self.profile}-seed{self.seed}"

    @property
    def results_dir(self) -> Path:
        """Evaluation results and comparison tables of this profile."""
        return self.root / "results" / self.profile

    @property
    def figures_dir(self) -> Path:
        """Figures: the quick profile writes the committed figures/, others a subfolder."""
        return self.root / "figures" if self.profile == "quick" else self.root / "figures" / self.profile

    @property
    def preprocessor_dir(self) -> Path:
        """The fitted tokenizers and vocabularies of this run."""
        return self.run_dir / "vocab"

    def model_dir(self, model_name: str) -> Path:
        """Checkpoints and history of one model."""
        return self.run_dir / model_name


def run_paths(config: Config, root: str | Path = PROJECT_ROOT) -> RunPaths:
    """RunPaths for a config (profile and seed name the folders)."""
    return RunPaths(Path(root), config.profile, config.seed)


def load_records(config: Config, split: str) -> list[dict]:
    """The records of one split from the configured source (local corpus or CodeSearchNet)."""
    if split not in SPLITS:
        raise UserError(f"unknown split '{split}'; choose one of {list(SPLITS)}")
    if config.data.source == "local":
        return load_split(resolve_path(config.data.corpus_dir), split)
    if config.data.source == "codesearchnet":
        from .codesearchnet import load_codesearchnet

        return load_codesearchnet(split, config.data.codesearchnet_id, config.data.codesearchnet_config)
    raise UserError(f"unknown data.source '{config.data.source}'; use 'local' or 'codesearchnet'")


def has_empty_body(record: dict) -> bool:
    """True for functions whose body (docstring removed) is only a stub like `pass` or `...`."""
    lines = [line.strip() for line in record["func_code_string"].splitlines()]
    body = [line for line in lines[1:] if line and not line.startswith("#")]
    return len(body) <= 1 and (not body or body[0] in EMPTY_BODIES)


def training_records(config: Config) -> list[dict]:
    """Training records after the training-only filters (the valid and test splits stay as built)."""
    records = load_records(config, "train")
    if config.data.filter_empty_bodies:
        records = [r for r in records if not has_empty_body(r)]
    return records


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


def fit_or_load_preprocessor(config: Config, paths: RunPaths, train: list[dict]) -> Preprocessor:
    """Load the run's fitted preprocessor, or fit it on the training records and save it."""
    if (paths.preprocessor_dir / "preprocessor.json").is_file():
        return Preprocessor.load(paths.preprocessor_dir)
    preprocessor = Preprocessor.fit(
        train,
        src_vocab_size=config.data.src_vocab_size,
        tgt_vocab_size=config.data.tgt_vocab_size,
        min_freq=config.data.min_freq,
    )
    preprocessor.save(paths.preprocessor_dir)
    return preprocessor


@dataclass
class TrainingData:
    """Everything the training loop reads: the preprocessor and the encoded splits."""

    preprocessor: Preprocessor
    train: EncodedDataset
    valid: EncodedDataset
    counts: dict
    valid_records: list[dict]  # the validation records before the length limits (for validation BLEU)


def prepare_training_data(config: Config, paths: RunPaths) -> TrainingData:
    """Load, filter, tokenize and encode the training and validation data of a config."""
    train_records = training_records(config)
    preprocessor = fit_or_load_preprocessor(config, paths, train_records)
    limits = dict(max_src_len=config.data.max_src_len, max_tgt_len=config.data.max_tgt_len, too_long=config.data.too_long)
    train, train_counts = encode_records(train_records, preprocessor, **limits)
    train = subsample(train, config.data.max_train_pairs, config.seed)
    train_counts["used"] = len(train)
    valid_records = validation_records(config)
    valid, valid_counts = encode_records(valid_records, preprocessor, **limits)
    counts = {"train": train_counts, "valid": valid_counts}
    return TrainingData(preprocessor, train, valid, counts, valid_records)
