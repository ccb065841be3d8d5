"""Checkpoints: self-contained (weights, vocabularies, config, history), written atomically.

A checkpoint is everything evaluation and the demo need: `load_model(path)` returns a ready model
and its preprocessor. Shipped weights (`weights/<profile>/<model>.pt`) are the same format in half
precision without the optimiser state.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..config import PROJECT_ROOT
from ..data.preprocess import Preprocessor
from ..errors import UserError
from ..io_utils import atomic_path
from ..models import build_model
from ..models.base import Seq2Seq

SHIPPED_WEIGHTS_DIR = PROJECT_ROOT / "weights"


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write a checkpoint dict with torch.save, atomically (temp file, then rename)."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint dict, with a one-line error when it is missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint not found: {path}; train it with `python -m seq2seq_lib train --model <name>`")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same one-line answer
        raise UserError(f"checkpoint {path} cannot be read ({type(exc).__name__}); delete it and retrain") from None


@dataclass
class LoadedModel:
    """A model ready for decoding, with what came with it."""

    name: str
    model: Seq2Seq
    preprocessor: Preprocessor
    config: dict[str, Any]
    history: list[dict[str, Any]]
    train_seconds: float
    path: Path


def load_model(path: str | Path, device: torch.device | str = "cpu") -> LoadedModel:
    """Load a checkpoint (training or shipped) into an eval-mode model on `device`."""
    payload = read_checkpoint(path)
    model = build_model(payload["model_name"], **payload["model_kwargs"])
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in payload["model_state"].items()})
    model.to(device).eval()
    preprocessor = Preprocessor.from_dict(payload["preprocessor"])
    return LoadedModel(
        payload["model_name"], model, preprocessor, payload["config"], payload.get("history", []),
        payload.get("train_seconds", 0.0), Path(path),
    )


def export_weights(checkpoint_path: str | Path, out_path: str | Path) -> int:
    """Write a shippable copy of a checkpoint: half-precision weights, no optimiser state; returns bytes."""
    payload = read_checkpoint(checkpoint_path)
    keep = ("model_name", "model_kwargs", "preprocessor", "config", "history", "epoch", "train_seconds")
    slim = {key: payload[key] for key in keep if key in payload}
    slim["model_state"] = {k: v.half() if v.is_floating_point() else v for k, v in payload["model_state"].items()}
    save_checkpoint(out_path, slim)
    return Path(out_path).stat().st_size


def find_model_checkpoint(run_dir: str | Path, model_name: str, profile: str) -> Path:
    """The best local checkpoint of a model if trained, else the shipped weights of that profile."""
    local = Path(run_dir) / model_name / "checkpoint.pt"
    if local.is_file():
        return local
    shipped = SHIPPED_WEIGHTS_DIR / profile / f"{model_name}.pt"
    if shipped.is_file():
        return shipped
    raise UserError(
        f"no trained '{model_name}' model for profile '{profile}': neither {local} nor {shipped} exists; "
        f"run `python -m seq2seq_lib train --config configs/{profile}.yaml --model {model_name}`"
    )
