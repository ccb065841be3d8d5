"""Length calibration: choose each trained model's <eos> penalty by validation BLEU.

Greedy and beam search favour short outputs, and how short varies from model to model and from
epoch to epoch, while BLEU's brevity penalty punishes short outputs hard. After training, every
model decodes the first `decoding.calibration_pairs` validation pairs once per candidate in
`decoding.eos_penalty_grid`; the penalty with the highest BLEU is stored in the checkpoint, and
evaluation and the demo decode with it. Only the validation split is read.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from .checkpoints import load_model, read_checkpoint, save_checkpoint
from .config import DecodingConfig
from .evaluation import validation_bleu
from .models.base import Seq2Seq
from .preprocess import Preprocessor


def calibrate(
    model: Seq2Seq, preprocessor: Preprocessor, records: list[dict], decoding: DecodingConfig, device: torch.device
) -> dict[str, Any]:
    """Validation BLEU for each <eos> penalty of the grid; the best one (the smallest on ties) wins."""
    grid = sorted(float(p) for p in decoding.eos_penalty_grid)
    bleu = {p: validation_bleu(model, preprocessor, records, replace(decoding, eos_penalty=p), device) for p in grid}
    best = max(grid, key=lambda p: (bleu[p], -p))
    return {"eos_penalty": best, "valid_bleu": {str(p): b for p, b in bleu.items()}, "pairs": len(records)}


def calibrate_checkpoint(path: Path, decoding: DecodingConfig, records: list[dict], device: torch.device) -> dict[str, Any] | None:
    """Calibrate the model saved at `path` and store the result in it; reused while the grid is unchanged."""
    if not decoding.eos_penalty_grid:
        return None
    payload = read_checkpoint(path)
    saved = payload.get("calibration")
    grid = [str(float(p)) for p in sorted(decoding.eos_penalty_grid)]
    if saved is not None and list(saved["valid_bleu"]) == grid and saved["pairs"] == len(records):
        return saved
    loaded = load_model(path, device)
    payload["calibration"] = calibrate(loaded.model, loaded.preprocessor, records, decoding, device)
    save_checkpoint(path, payload)
    return payload["calibration"]
