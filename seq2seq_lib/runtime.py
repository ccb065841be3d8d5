"""Where a run computes: seeds, torch threads and the device."""

from __future__ import annotations

import random

import numpy as np
import torch

from .config import Config
from .errors import UserError


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
