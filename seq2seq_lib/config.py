"""Experiment configuration: one YAML file per profile, loaded into small dataclasses.

A typo in a key, a missing key or a value of the wrong type is a one-line `UserError`
that names the key and the file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import UserError

PROFILES = ("smoke", "quick", "full")
PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class DataConfig:
    """Which corpus to read and how to turn it into training pairs."""

    corpus_dir: str = "data/corpus"
    training_packages: str | None = None  # more pinned packages, mined for the training split only
    max_train_pairs: int | None = None  # cap after the length limits; None: every pair that fits
    max_valid_pairs: int | None = 1000  # validation subset used for early stopping
    max_src_len: int = 40  # training pairs with longer docstrings (in tokens) are left out
    max_tgt_len: int = 200  # ... or with longer code (in pieces); test pairs are never left out
    src_vocab_size: int = 8000
    tgt_vocab_size: int = 4000
    min_freq: int = 2  # a token seen fewer times is <unk>


@dataclass
class ModelConfig:
    """Model sizes shared by the three architectures."""

    emb_dim: int = 128
    hidden_dim: int = 128
    num_layers: int = 1
    dropout: float = 0.1
    tie_embeddings: bool = True  # the output layer shares the target embedding matrix
    copy_forms: int = 4  # > 0: the attention model copies docstring words, up to this many spellings each (models/copy.py)


@dataclass
class TrainingConfig:
    """The one training loop's settings."""

    epochs: int = 7
    batch_size: int = 64
    lr: float = 0.002
    clip_norm: float = 1.0
    teacher_forcing: float = 1.0  # share of steps fed the true previous piece; 1.0 takes the models' fused fast path
    plateau_patience: int = 0  # halve the learning rate after this many epochs without a lower validation loss
    early_stopping_patience: int = 2  # stop after this many epochs without a lower validation loss
    workers: int = 0  # models trained (and decoded) at once, each in its own process; 0: one per CPU core (1 on a GPU)
    num_threads: int = 0  # torch threads per process; 0: the CPU cores shared out among the processes
    amp: bool = False  # mixed precision, CUDA only
    bf16_output: bool | str = "auto"  # the fused loss's matrix products in bfloat16; "auto": where the hardware has it


@dataclass(frozen=True)
class DecodingConfig:
    """How sequences are generated at evaluation time (and in the demo): one frozen set of search options."""

    method: str = "beam"  # "greedy" or "beam"
    beam_width: int = 5
    length_penalty: float = 0.6  # GNMT's alpha: beam hypotheses are ranked by log p / ((5 + length) / 6) ** alpha
    max_len: int = 400  # pieces generated at most
    no_repeat_ngram: int = 8  # > 0: no n-gram of this length appears twice in an output
    eos_penalty: float = 4.0  # subtracted from log p(<eos>): > 0 gives longer outputs
    length_target: bool = True  # apply eos_penalty only before the length the docstring predicts (length_model.py)
    target_scale: float = 1.0  # ... times this
    syntax_guard: bool = True  # forbid the pieces that would certainly break the block structure (syntax_guard.py)


@dataclass
class Config:
    """A whole experiment: profile name, seed, device and the four sections."""

    profile: str = "quick"
    seed: int = 1234
    device: str = "auto"  # "auto", "cpu" or "cuda"
    models: list[str] = field(default_factory=lambda: ["rnn", "lstm", "attention"])
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    decoding: DecodingConfig = field(default_factory=DecodingConfig)

    @property
    def run_name(self) -> str:
        """Folder name of this profile and seed under runs/."""
        return f"{self.profile}-seed{self.seed}"

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "a saved config") -> Config:
        """The Config of a plain dict (e.g. a checkpoint's): keys added since it was saved take their defaults, keys
        removed since are ignored."""
        return _build(cls, values, "", source, strict=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (what checkpoints and result files record)."""
        return dataclasses.asdict(self)

    def digest(self) -> str:
        """Short hash of the whole config, for provenance files."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:12]


def _build(cls: type, values: Any, where: str, source: str, strict: bool = True) -> Any:
    """Build dataclass `cls` from a mapping, rejecting wrong types and (when strict) unknown keys."""
    if not isinstance(values, dict):
        raise UserError(f"{source}: section '{where}' must be a mapping; see configs/quick.yaml")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown and strict:
        raise UserError(f"{source}: unknown key '{where}.{unknown[0]}'; valid keys are {sorted(names)}")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in values:
            continue
        value, hint = values[f.name], hints[f.name]
        if dataclasses.is_dataclass(hint):
            kwargs[f.name] = _build(hint, value, f"{where}.{f.name}".lstrip("."), source, strict)
        else:
            kwargs[f.name] = _check_type(value, hint, f"{where}.{f.name}".lstrip("."), source)
    return cls(**kwargs)


def _check_type(value: Any, hint: Any, key: str, source: str) -> Any:
    """Return `value` if it fits the type hint (ints accepted for floats), else raise UserError."""
    is_union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    allowed = typing.get_args(hint) if is_union else (hint,)
    for kind in allowed:
        if kind is type(None) and value is None:
            return value
        origin = typing.get_origin(kind) or kind
        if origin is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if origin is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if origin in (str, bool, list) and isinstance(value, origin):
            return value
    raise UserError(f"{source}: key '{key}' has value {value!r}, expected {hint}")


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> Config:
    """Load a profile YAML (e.g. configs/quick.yaml); `overrides` maps dotted keys to values."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"config file not found: {path}; use one of configs/{{{','.join(PROFILES)}}}.yaml")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    for dotted, value in (overrides or {}).items():
        node = values
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    config = _build(Config, values, "", str(path))
    from .models import MODEL_NAMES  # local import: models import torch

    for name in config.models:
        if name not in MODEL_NAMES:
            raise UserError(f"{path}: unknown model '{name}' in 'models'; choose from {list(MODEL_NAMES)}")
    return config


def profile_config_path(profile: str) -> Path:
    """Path of the YAML file of a named profile."""
    if profile not in PROFILES:
        raise UserError(f"unknown profile '{profile}'; choose one of {list(PROFILES)}")
    return PROJECT_ROOT / "configs" / f"{profile}.yaml"
