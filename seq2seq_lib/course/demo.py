"""Docstring in, code (and attention) out: what the interactive demo widget calls.

Models load lazily and stay cached: the local checkpoint of the profile's run when it exists
(`runs/<profile>-seed<seed>/<model>/checkpoint.pt`), else the shipped `weights/<profile>/<model>.pt`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from ..config import PROFILES, Config, DecodingConfig, load_config, profile_config_path
from ..decoding.search import beam_search
from ..errors import UserError
from ..evaluation.metrics import compiles
from ..models import MODEL_NAMES
from ..paths import resolve_path, run_paths
from ..runtime import torch_threads
from ..training.checkpoints import LoadedModel, find_model_checkpoint, load_model
from .visualize import SRC_EOS

MAX_BEAM_WIDTH = 10
DECODE_THREADS = 1  # one sentence's small matmuls: a second thread mostly waits


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
    max_len: int  # the longest output the search allowed
    trained_src_len: int  # the longest docstring (tokens, <eos> included) of the model's training pairs

    @property
    def cut_short(self) -> bool:
        """True when the search stopped at max_len instead of ending the function."""
        return len(self.tgt_tokens) >= self.max_len

    @property
    def compiles(self) -> bool:
        """True when Python's compile() accepts the code."""
        return compiles(self.code)

    def notes(self) -> list[str]:
        """What a reader should know about this output, in plain words (empty when nothing is amiss)."""
        notes = []
        if len(self.src_tokens) > self.trained_src_len:
            notes.append(f"The docstring has {len(self.src_tokens) - 1} tokens; the model was trained on docstrings of at "
                         f"most {self.trained_src_len - 1}, so it read all of them but was never taught to use so many.")
        if self.cut_short:
            notes.append(f"The output stopped at the {self.max_len}-piece limit: the function is cut short.")
        if not self.compiles:
            notes.append("The code does not compile: the model writes Python-looking text, not checked programs.")
        return notes


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


def decoding_options(loaded: LoadedModel) -> DecodingConfig:
    """The decoding of evaluation: for a model of a named profile that profile's config as it stands (so the demo
    decodes as the evaluation did); for any other, the config saved with the model."""
    profile = loaded.config.get("profile")
    if profile in PROFILES:
        return load_config(profile_config_path(profile)).decoding
    return Config.from_dict(loaded.config).decoding


def generate_code(
    docstring: str,
    model_name: str = "attention",
    beam_width: int = 5,
    profile: str = "quick",
    max_len: int | None = None,
    seed: int | None = None,
    checkpoint: str | Path | None = None,
) -> DemoResult:
    """Generate code for a docstring with beam search (width 1: greedy) and the decoding of the model's config
    (`max_len`, when given, replaces the configured length)."""
    if not isinstance(docstring, str) or not docstring.strip():
        raise UserError("type a docstring first, e.g. 'Return the sum of a list of numbers.'")
    if model_name not in MODEL_NAMES:
        raise UserError(f"unknown model '{model_name}'; choose one of {', '.join(MODEL_NAMES)}")
    if not 1 <= beam_width <= MAX_BEAM_WIDTH:
        raise UserError(f"beam width must be between 1 and {MAX_BEAM_WIDTH}, got {beam_width}")
    path = Path(checkpoint) if checkpoint is not None else demo_checkpoint(model_name, profile, seed)
    loaded = get_model(path)
    pre = loaded.preprocessor
    options = replace(decoding_options(loaded), beam_width=beam_width, **({"max_len": max_len} if max_len else {}))
    started = time.perf_counter()
    ids = pre.encode_src(docstring)
    src = torch.tensor([ids], dtype=torch.long)  # (1, S)
    with torch_threads(DECODE_THREADS):
        result = beam_search(loaded.model, src, torch.tensor([len(ids)]), options, pre)
    tokens = result.tokens[0]
    code = pre.decode_tgt(tokens)
    attention = result.attention[0].numpy() if result.attention is not None else None  # (T, S)
    seconds = time.perf_counter() - started
    src_tokens = [*pre.src_tokens(docstring), SRC_EOS]
    trained_src_len = int(Config.from_dict(loaded.config).data.max_src_len)
    return DemoResult(code, src_tokens, pre.tgt_vocab.decode(tokens, strip_special=False), attention, seconds,
                      loaded.name, path, options.max_len, trained_src_len)
