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
from typing import TYPE_CHECKING, Any

import yaml

from .errors import UserError

if TYPE_CHECKING:
    from .preprocess import Preprocessor

PROFILES = ("smoke", "quick", "full")
PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class DataConfig:
    """Which corpus to read and how to turn it into training pairs."""

    source: str = "local"  # "local" (built from pinned packages) or "codesearchnet" (online)
    corpus_dir: str = "data/corpus"
    codesearchnet_id: str = "code_search_net"
    codesearchnet_config: str = "python"
    max_train_pairs: int | None = None  # cap after the length limits; None: every pair that fits
    max_valid_pairs: int | None = None  # validation subset used for early stopping
    max_src_len: int = 64
    max_tgt_len: int = 200
    too_long: str = "drop"  # "drop" or "truncate" long *training* pairs; test pairs are never removed
    filter_empty_bodies: bool = True  # drop training functions whose body is only `pass`/`...`
    src_vocab_size: int = 8000
    tgt_vocab_size: int = 8000
    min_freq: int = 2


@dataclass
class ModelConfig:
    """Model sizes shared by the three architectures."""

    emb_dim: int = 128
    hidden_dim: int = 128
    num_layers: int = 1
    dropout: float = 0.1
    tie_embeddings: bool = False
    embed_init: str = "normal"  # "normal": N(0, 1), PyTorch's default; "scaled": N(0, 1/emb_dim), as in fairseq
    copy_forms: int = 0  # > 0: the attention model copies docstring words, up to this many spellings each (models/copy.py)


@dataclass
class TrainingConfig:
    """The one training loop's settings."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    clip_norm: float = 1.0
    teacher_forcing: float = 1.0  # 1.0 takes the models' fused fast path
    teacher_forcing_final: float | None = None  # set to decay linearly to this ratio over the epochs
    label_smoothing: float = 0.0
    ema_decay: float = 0.0  # > 0: validate, select and keep an exponential moving average of the weights
    scheduler: str = "plateau"  # "plateau", "cosine" or "none"
    plateau_factor: float = 0.5
    plateau_patience: int = 1
    early_stopping_patience: int = 3
    select_by: str = "loss"  # "loss": keep the epoch of lowest validation loss; "bleu": of highest validation BLEU
    bleu_pairs: int = 300  # validation pairs decoded (with the config's decoding) per epoch when select_by is "bleu"
    num_threads: int = 0  # 0: leave torch's default
    amp: bool = False  # mixed precision, CUDA only


CALIBRATION_SETTINGS = (  # not decode() arguments
    "eos_penalty_grid", "calibration_pairs", "end_when_parses", "calibrate_by", "method_grid",
    "length_target", "target_scale", "eos_bonus_grid", "target_scale_grid", "syntax_guard",
)
CALIBRATED = ("eos_penalty", "eos_bonus", "target_scale")  # what a calibration chooses
# How calibrations name end_when_parses (calibrations stored when outputs that never parse ran on to max_len
# said `true`, and no longer match).
END_WHEN_PARSES = "or else at the best refused end"


@dataclass
class DecodingConfig:
    """How sequences are generated at evaluation time."""

    method: str = "beam"  # "greedy" or "beam"
    method_grid: list[str] = field(default_factory=list)  # non-empty: calibration chooses the method too, per model
    beam_width: int = 5
    length_penalty: float = 0.6
    max_len: int = 200
    min_len: int = 0
    no_repeat_ngram: int = 0
    eos_penalty: float = 0.0  # subtracted from log p(<eos>) at every step: > 0 gives longer outputs
    eos_penalty_grid: list[float] = field(default_factory=list)  # non-empty: each model's penalty is chosen
    calibration_pairs: int = 500  # from this grid by BLEU on that many validation pairs (seq2seq_lib.calibration)
    end_when_parses: bool = False  # allow <eos> only once the code so far parses (else at the best refused <eos>)
    calibrate_by: str = "bleu_x_parses"  # what calibration maximises: "chrf_gain_x_compiles" (the selection scalar),
                                         # "bleu_x_parses" or "parsing_bleu" (unparsed outputs scored as empty)
    length_target: bool = False  # aim each output at the length its docstring predicts (seq2seq_lib.length_model):
    eos_bonus: float = 0.0  # eos_penalty applies before that length, this bonus from there on,
    target_scale: float = 1.0  # at this multiple of the predicted length; calibration tries each combination of
    eos_bonus_grid: list[float] = field(default_factory=list)  # eos_penalty_grid and these grids (empty: the value
    target_scale_grid: list[float] = field(default_factory=list)  # above) and the plain penalties, and keeps the best
    syntax_guard: bool = False  # forbid the pieces that would certainly break the block structure (seq2seq_lib.syntax_guard)

    def calibration_key(self) -> dict[str, Any]:
        """What a calibration depends on: every search setting but the penalty it chooses, the grid, the pairs."""
        searched = {k: v for k, v in self.search_options().items() if k not in CALIBRATED}
        if self.method_grid:
            searched["method"] = sorted(self.method_grid)
        if self.end_when_parses:  # only when set: keys written before these options existed still match
            searched["end_when_parses"] = END_WHEN_PARSES
        if self.syntax_guard:
            searched["syntax_guard"] = True
        if self.length_target:
            searched["length_target"] = {"eos_bonus_grid": self.bonus_grid(), "target_scale_grid": self.scale_grid()}
        if self.calibrate_by != "bleu_x_parses":
            searched["calibrate_by"] = self.calibrate_by
        return {**searched, "eos_penalty_grid": sorted(float(p) for p in self.eos_penalty_grid), "pairs": self.calibration_pairs}

    def matching_calibration(self, calibrations: list[dict[str, Any]] | None) -> dict[str, Any] | None:
        """The model's calibration made under exactly these settings, if any."""
        key = self.calibration_key()
        return next((c for c in calibrations or [] if c.get("key") == key), None)

    def bonus_grid(self) -> list[float]:
        """The <eos> bonuses calibration tries (the configured one when no grid is given)."""
        return sorted(float(b) for b in self.eos_bonus_grid) or [self.eos_bonus]

    def scale_grid(self) -> list[float]:
        """The target scales calibration tries (the configured one when no grid is given)."""
        return sorted(float(s) for s in self.target_scale_grid) or [self.target_scale]

    def calibrated(self, calibrations: list[dict[str, Any]] | None) -> DecodingConfig:
        """These settings with the values a model was calibrated to under them (unchanged when there is none)."""
        match = self.matching_calibration(calibrations) if self.eos_penalty_grid else None
        if match is None:
            return self
        chosen = {k: float(match[k]) for k in CALIBRATED if k in match}
        if "length_target" in match:  # whether aiming at the predicted length won
            chosen["length_target"] = bool(match["length_target"])
        if "method" in match:  # greedy or beam, when calibration chose it
            chosen["method"] = str(match["method"])
        return dataclasses.replace(self, **chosen)

    def search_options(self, preprocessor: Preprocessor | None = None) -> dict[str, Any]:
        """The keyword arguments of decoding.decode (everything but the calibration settings).

        With `end_when_parses`, the preprocessor supplies the syntax check (`can_end`) that decoding calls; with
        `syntax_guard`, the guard over its target pieces (`guard`); with `length_target`, its length model the
        lengths to aim at (`target_length`; without one, none is aimed at).
        """
        options = {k: v for k, v in vars(self).items() if k not in CALIBRATION_SETTINGS}
        if self.end_when_parses and preprocessor is not None:
            options["can_end"] = preprocessor.code_parses
        if self.syntax_guard and preprocessor is not None:
            options["guard"] = preprocessor.syntax_guard
        if not self.length_target:
            del options["eos_bonus"]
        elif preprocessor is not None and preprocessor.length_model is not None:
            predict, scale = preprocessor.length_model.predict, self.target_scale
            options["target_length"] = lambda src, src_lengths: scale * predict(src, src_lengths)
        return options


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
        """The Config of a plain dict (e.g. a checkpoint's); keys added since it was saved take their defaults."""
        return _build(cls, values, "", source)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (what checkpoints and result files record)."""
        return dataclasses.asdict(self)

    def digest(self) -> str:
        """Short hash of the whole config, for provenance files."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:12]


def _build(cls: type, values: Any, where: str, source: str) -> Any:
    """Build dataclass `cls` from a mapping, rejecting unknown keys and wrong types."""
    if not isinstance(values, dict):
        raise UserError(f"{source}: section '{where}' must be a mapping; see configs/quick.yaml")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise UserError(f"{source}: unknown key '{where}.{unknown[0]}'; valid keys are {sorted(names)}")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in values:
            continue
        value, hint = values[f.name], hints[f.name]
        if dataclasses.is_dataclass(hint):
            kwargs[f.name] = _build(hint, value, f"{where}.{f.name}".lstrip("."), source)
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
