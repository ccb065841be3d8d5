"""Length calibration: choose each trained model's <eos> penalty on the validation split.

Greedy and beam search favour short outputs, and how short varies from model to model and from
epoch to epoch, while BLEU's brevity penalty punishes short outputs hard. After training, every
model decodes the first `decoding.calibration_pairs` validation pairs once per candidate in
`decoding.eos_penalty_grid`, and keeps the penalty with the highest BLEU x share of outputs that
parse (`decoding.calibrate_by`; "parsing_bleu" instead scores every output that does not parse as
empty). BLEU alone would pick penalties that pad weak models' outputs with unparseable repetitions
(more matching n-grams, no brevity penalty); both objectives discount that, the second entirely.
The choice is stored in the checkpoint, one record per decoding setting (an ablation that decodes
differently calibrates its own), and evaluation, figures and the demo decode with the matching one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from .checkpoints import load_model, read_checkpoint, save_checkpoint
from .config import DecodingConfig
from .errors import UserError
from .evaluation import validation_scores
from .models.base import Seq2Seq
from .preprocess import Preprocessor


OBJECTIVES: dict[str, Callable[[dict[str, float]], float]] = {
    "bleu_x_parses": lambda s: s["bleu"] * s["parses"],
    "parsing_bleu": lambda s: s["parsing_bleu"],  # BLEU with every output that does not parse scored as empty
}


def calibrate(
    model: Seq2Seq, preprocessor: Preprocessor, records: list[dict], decoding: DecodingConfig, device: torch.device
) -> dict[str, Any]:
    """Validation scores for each <eos> penalty of the grid; the best by `decoding.calibrate_by` wins (smallest on ties)."""
    if decoding.calibrate_by not in OBJECTIVES:
        raise UserError(f"decoding.calibrate_by must be one of {', '.join(OBJECTIVES)}, got {decoding.calibrate_by!r}")
    grid = sorted(float(p) for p in decoding.eos_penalty_grid)
    scores = {p: validation_scores(model, preprocessor, records, replace(decoding, eos_penalty=p), device) for p in grid}
    best = max(grid, key=lambda p: (OBJECTIVES[decoding.calibrate_by](scores[p]), -p))
    return {
        "eos_penalty": best,
        "key": decoding.calibration_key(),
        "valid_bleu": {str(p): s["bleu"] for p, s in scores.items()},
        "valid_parses": {str(p): s["parses"] for p, s in scores.items()},
        "valid_parsing_bleu": {str(p): s["parsing_bleu"] for p, s in scores.items()},
    }


def calibrate_checkpoint(path: Path, decoding: DecodingConfig, records: list[dict], device: torch.device) -> dict[str, Any] | None:
    """Calibrate the model saved at `path` under these decoding settings and store it there (reused when present)."""
    if not decoding.eos_penalty_grid:
        return None
    payload = read_checkpoint(path)
    calibrations = payload.get("calibrations", [])
    found = decoding.matching_calibration(calibrations)
    if found is not None:
        return found
    loaded = load_model(path, device)
    chosen = calibrate(loaded.model, loaded.preprocessor, records, decoding, device)
    payload["calibrations"] = [*calibrations, chosen]
    save_checkpoint(path, payload)
    return chosen


def grid_edge_notice(calibration: dict[str, Any]) -> str | None:
    """A one-line notice when the chosen penalty is the largest one tried (a wider grid may score higher)."""
    tried = sorted(float(p) for p in calibration["valid_bleu"])
    if len(tried) < 2 or float(calibration["eos_penalty"]) < tried[-1]:
        return None
    return (
        f"<eos> penalty {calibration['eos_penalty']} is the largest in decoding.eos_penalty_grid; "
        "a larger one may score higher on validation: add it to the grid and evaluate again"
    )


def calibration_report(calibration: dict[str, Any]) -> list[str]:
    """One line with every candidate's validation scores and the chosen penalty, plus the grid-edge notice if any."""
    parsing_bleu = calibration.get("valid_parsing_bleu", {})  # absent from calibrations stored before it existed
    tried = ", ".join(
        f"{p}: BLEU {b:.2f} x parses {calibration['valid_parses'][p]:.2f}"
        + (f" (parsing outputs {parsing_bleu[p]:.2f})" if p in parsing_bleu else "")
        for p, b in calibration["valid_bleu"].items()
    )
    lines = [f"<eos> penalty {calibration['eos_penalty']} chosen on validation ({tried})"]
    notice = grid_edge_notice(calibration)
    if notice:
        lines.append(f"note: {notice}")
    return lines
