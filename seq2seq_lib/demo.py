"""Docstring in, code (and attention) out: what the interactive demo widget calls.

Models load lazily and stay cached: the local checkpoint of the profile's run when it exists
(`runs/<profile>-seed<seed>/<model>/checkpoint.pt`), else the shipped `weights/<profile>/<model>.pt`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .checkpoints import LoadedModel, find_model_checkpoint, load_model
from .config import PROFILES, DecodingConfig, load_config, profile_config_path
from .decoding import beam_search
from .errors import UserError
from .experiment import resolve_path, run_paths
from .models import MODEL_NAMES
from .visualize import SRC_EOS

MAX_BEAM_WIDTH = 10
SEARCH_OPTIONS = (  # what the demo takes from the config
    "length_penalty", "min_len", "no_repeat_ngram", "eos_penalty", "target_length", "eos_bonus", "can_end", "guard",
)
DECODE_THREADS = 1  # one sentence's small matmuls: a second thread mostly spin-waits (4x slower on a busy CPU)


@dataclass
class DemoResult:
    """One generation: the code, the tokens on both sides, the (T, S) attention (attention model) and the time."""

    code: str
    src_tokens: list[str]  # docstring tokens as the model saw them, ending with <eos> (the S columns)
    tgt_tokens: list[str]  # generated code pieces (the T rows)
    attention: np.ndarray | None  # (T, S), rows sum to 1; None for the rnn / lstm models
    seconds: float  # tokenize + beam search + detokenize, model loading excluded
    model_name: str
    checkpoint: Path


@lru_cache(maxsize=8)
def _cached_model(path: Path, mtime_ns: int) -> LoadedModel:
    """A loaded model per checkpoint file and modification time (a retrained file is reloaded)."""
    return load_model(path, "cpu")


def get_model(path: str | Path) -> LoadedModel:
    """The model of a checkpoint, loaded on first use and cached afterwards."""
    path = Path(path).resolve()
    if not path.is_file():
        raise UserError(f"checkpoint not found: {path}; train a model or check the path")
    return _cached_model(path, path.stat().st_mtime_ns)


def demo_checkpoint(model_name: str, profile: str = "quick", seed: int | None = None) -> Path:
    """The checkpoint the demo uses: the local run's best checkpoint, else the shipped weights."""
    config = load_config(resolve_path(profile_config_path(profile)))
    if seed is not None:
        config.seed = seed
    return find_model_checkpoint(run_paths(config).run_dir, model_name, profile)


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with `count` intra-op torch threads, then restore the previous setting."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def search_options(loaded: LoadedModel) -> dict[str, Any]:
    """The length penalty, minimum length, n-gram blocking, (calibrated) <eos> settings and syntax check of evaluation.

    For a model of a named profile these come from that profile's config as it stands (so the demo decodes as the
    evaluation did); for any other, from the config saved with the model.
    """
    profile = loaded.config.get("profile")
    if profile in PROFILES:
        decoding = load_config(profile_config_path(profile)).decoding
    else:
        decoding = DecodingConfig(**loaded.config.get("decoding", {}))
    options = decoding.calibrated(loaded.calibrations).search_options(loaded.preprocessor)
    return {name: options[name] for name in SEARCH_OPTIONS if name in options}


def generate_code(
    docstring: str,
    model_name: str = "attention",
    beam_width: int = 5,
    profile: str = "quick",
    max_len: int = 150,
    seed: int | None = None,
    checkpoint: str | Path | None = None,
) -> DemoResult:
    """Generate code for a docstring with beam search (width 1: greedy) and the search options of the model's config."""
    if not isinstance(docstring, str) or not docstring.strip():
        raise UserError("type a docstring first, e.g. 'Return the sum of a list of numbers.'")
    if model_name not in MODEL_NAMES:
        raise UserError(f"unknown model '{model_name}'; choose one of {', '.join(MODEL_NAMES)}")
    if not 1 <= beam_width <= MAX_BEAM_WIDTH:
        raise UserError(f"beam width must be between 1 and {MAX_BEAM_WIDTH}, got {beam_width}")
    path = Path(checkpoint) if checkpoint is not None else demo_checkpoint(model_name, profile, seed)
    loaded = get_model(path)
    pre = loaded.preprocessor
    started = time.perf_counter()
    ids = pre.encode_src(docstring)
    src = torch.tensor([ids], dtype=torch.long)  # (1, S)
    with torch_threads(DECODE_THREADS):
        result = beam_search(loaded.model, src, torch.tensor([len(ids)]), beam_width, max_len, **search_options(loaded))
    tokens = result.tokens[0]
    code = pre.decode_tgt(tokens)
    attention = result.attention[0].numpy() if result.attention is not None else None  # (T, S)
    seconds = time.perf_counter() - started
    src_tokens = [*pre.src_tokens(docstring), SRC_EOS]
    return DemoResult(code, src_tokens, pre.tgt_vocab.decode(tokens, strip_special=False), attention, seconds, loaded.name, path)
