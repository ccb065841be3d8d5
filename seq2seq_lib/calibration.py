"""Length calibration: choose each trained model's <eos> penalty on the validation split.

Greedy and beam search favour short outputs, and how short varies from model to model and from
epoch to epoch, while BLEU's brevity penalty punishes short outputs hard. After training, every
model decodes the first `decoding.calibration_pairs` validation pairs once per candidate in
`decoding.eos_penalty_grid`, and keeps the penalty with the highest BLEU x share of outputs that
parse (`decoding.calibrate_by`; "parsing_bleu" instead scores every output that does not parse as
empty). BLEU alone would pick penalties that pad weak models' outputs with unparseable repetitions
(more matching n-grams, no brevity penalty); both objectives discount that, the second entirely.
With `decoding.length_target`, calibration also tries aiming each output at the length its docstring
predicts (seq2seq_lib.length_model): every combination of penalty (before that length), bonus (after
it) and target scale, next to the plain penalties, and a model keeps whichever scores higher.
The choice is stored in the checkpoint, one record per decoding setting (an ablation that decodes
differently calibrates its own), and evaluation, figures and the demo decode with the matching one.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from .checkpoints import load_model, read_checkpoint, save_checkpoint
from .config import CALIBRATED, Config, DecodingConfig
from .errors import UserError
from .evaluation import validation_scores
from .gain import GainScorer
from .experiment import training_records
from .models.base import Seq2Seq
from .preprocess import Preprocessor
from .progress import tqdm


OBJECTIVES: dict[str, Callable[[dict[str, float]], float]] = {
    # the selection scalar: length-matched chrF docstring gain (seq2seq_lib.gain) x share of outputs that compile
    "chrf_gain_x_compiles": lambda s: s["chrf_gain"] * s["compiles"],
    "bleu_x_parses": lambda s: s["bleu"] * s["parses"],
    "parsing_bleu": lambda s: s["parsing_bleu"],  # BLEU with every output that does not parse scored as empty
}


_NAMES = {"eos_penalty": "<eos> penalty", "eos_bonus": "bonus", "target_scale": "target scale"}


def candidates(decoding: DecodingConfig) -> dict[str, dict[str, Any]]:
    """Every setting calibration tries, by label: "penalty" (one penalty throughout), and with `length_target`
    also "penalty/bonus/scale" (penalty before the predicted length, bonus after it)."""
    penalties = sorted(float(p) for p in decoding.eos_penalty_grid)
    plain = {str(p): {"eos_penalty": p} for p in penalties}
    if decoding.length_target:
        aimed = {
            f"{p}/{b}/{s}": {"eos_penalty": p, "eos_bonus": b, "target_scale": s}
            for p, b, s in itertools.product(penalties, decoding.bonus_grid(), decoding.scale_grid())
        }
        plain = {**{label: {**values, "length_target": False} for label, values in plain.items()},
                 **{label: {**values, "length_target": True} for label, values in aimed.items()}}
    if not decoding.method_grid:
        return plain
    return {f"{method} {label}": {"method": method, **values}
            for method in sorted(decoding.method_grid) for label, values in plain.items()}


def _preference(values: dict[str, Any]) -> tuple[float, ...]:
    """Tie-break between equally scored candidates: greedy, no length target, then the smallest values."""
    return (-float(values.get("method") == "beam"), -float(values.get("length_target", False)),
            *(-v for k, v in values.items() if k not in ("length_target", "method")))


def calibrate(
    model: Seq2Seq, preprocessor: Preprocessor, records: list[dict], decoding: DecodingConfig, device: torch.device,
    known: dict[str, dict[str, float]] | None = None,
) -> dict[str, Any]:
    """Validation scores for every candidate; the best by `decoding.calibrate_by` wins (smallest values on ties).

    Candidates in `known` (scores measured under the same settings, `measured`) are not decoded again.
    """
    if decoding.calibrate_by not in OBJECTIVES:
        raise UserError(f"decoding.calibrate_by must be one of {', '.join(OBJECTIVES)}, got {decoding.calibrate_by!r}")
    tried = candidates(decoding)
    scorer = GainScorer([r["func_code_string"] for r in records], seed=0) if decoding.calibrate_by.startswith("chrf") else None
    known = known or {}
    scores = {
        label: known[label] if label in known else
        validation_scores(model, preprocessor, records, replace(decoding, **values), device, scorer)
        for label, values in tqdm(tried.items(), desc="calibrate", leave=False)
    }
    objective = OBJECTIVES[decoding.calibrate_by]
    best = max(tried, key=lambda label: (objective(scores[label]), *_preference(tried[label])))
    return {
        **tried[best],
        "key": decoding.calibration_key(),
        "valid_bleu": {label: s["bleu"] for label, s in scores.items()},
        "valid_parses": {label: s["parses"] for label, s in scores.items()},
        "valid_parsing_bleu": {label: s["parsing_bleu"] for label, s in scores.items()},
        "valid_compiles": {label: s["compiles"] for label, s in scores.items()},
        **({"valid_chrf_gain": {label: s["chrf_gain"] for label, s in scores.items()},
            "valid_chrf": {label: s["chrf"] for label, s in scores.items()}} if scorer else {}),
        "objective": decoding.calibrate_by,
    }


_SCORES = {"bleu": "valid_bleu", "parses": "valid_parses", "parsing_bleu": "valid_parsing_bleu",
           "compiles": "valid_compiles", "chrf_gain": "valid_chrf_gain", "chrf": "valid_chrf"}


def _settings(key: dict[str, Any]) -> dict[str, Any]:
    """A calibration key without what only lists the candidates (the grids): equal settings decode a label alike."""
    settings = {k: v for k, v in key.items() if k not in ("eos_penalty_grid", "length_target")}
    if isinstance(settings.get("method"), list):
        settings["method"] = "chosen"
    return settings


def measured(decoding: DecodingConfig, calibrations: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Validation scores of candidates already decoded under these settings (another grid, same pairs), by label."""
    want = _settings(decoding.calibration_key())
    known: dict[str, dict[str, float]] = {}
    for calibration in calibrations:
        if _settings(calibration.get("key", {})) != want or not all(f in calibration for f in _SCORES.values()):
            continue
        for label in calibration["valid_bleu"]:
            known[label] = {score: calibration[field][label] for score, field in _SCORES.items()}
    return known


def calibrate_checkpoint(
    path: Path, config: Config, records: list[dict], device: torch.device
) -> dict[str, Any] | None:
    """Calibrate the model saved at `path` under config.decoding and store it there (reused when present).

    With `length_target`, a checkpoint without a length model gets one first, fitted on the training split.
    """
    decoding = config.decoding
    if not decoding.eos_penalty_grid:
        return None
    payload = read_checkpoint(path)
    calibrations = payload.get("calibrations", [])
    found = decoding.matching_calibration(calibrations)
    if found is not None:
        return found
    loaded = load_model(path, device)
    if decoding.length_target and loaded.preprocessor.length_model is None:
        loaded.preprocessor.fit_length_model(training_records(config))
        payload["preprocessor"] = loaded.preprocessor.to_dict()
    chosen = calibrate(loaded.model, loaded.preprocessor, records, decoding, device, measured(decoding, calibrations))
    payload["calibrations"] = [*calibrations, chosen]
    save_checkpoint(path, payload)
    return chosen


def grid_edge_notice(calibration: dict[str, Any]) -> str | None:
    """A one-line notice when the chosen penalty is the largest one tried (a wider grid may score higher)."""
    tried = sorted({float(label.split()[-1].split("/")[0]) for label in calibration["valid_bleu"]})
    if len(tried) < 2 or float(calibration["eos_penalty"]) < tried[-1]:
        return None
    return (
        f"<eos> penalty {calibration['eos_penalty']} is the largest in decoding.eos_penalty_grid; "
        "a larger one may score higher on validation: add it to the grid and evaluate again"
    )


def calibration_report(calibration: dict[str, Any], shown: int = 8) -> list[str]:
    """A line with the choice and the validation scores of the best `shown` candidates, plus the grid-edge notice."""
    parsing_bleu = calibration.get("valid_parsing_bleu", {})  # absent from calibrations stored before it existed
    parses = calibration["valid_parses"]
    if "valid_chrf_gain" in calibration:
        gain, compiles = calibration["valid_chrf_gain"], calibration["valid_compiles"]
        best = sorted(gain, key=lambda label: -gain[label] * compiles[label])
        tried = ", ".join(
            f"{label}: chrF gain {gain[label]:.2f} x compiles {compiles[label]:.2f} (chrF {calibration['valid_chrf'][label]:.2f})"
            for label in best[:shown]
        )
        objective = "length-matched chrF gain x compiles"
    else:
        best = sorted(calibration["valid_bleu"], key=lambda label: -calibration["valid_bleu"][label] * parses[label])
        tried = ", ".join(
            f"{label}: BLEU {calibration['valid_bleu'][label]:.2f} x parses {parses[label]:.2f}"
            + (f" (parsing outputs {parsing_bleu[label]:.2f})" if label in parsing_bleu else "")
            for label in best[:shown]
        )
        objective = "BLEU x parses"
    chosen = ", ".join(f"{_NAMES[k]} {calibration[k]}" for k in CALIBRATED if k in calibration)
    if "method" in calibration:
        chosen = f"{calibration['method']} search, {chosen}"
    if "length_target" in calibration:
        chosen += ", aimed at the predicted length" if calibration["length_target"] else ", no length target"
    more = f"; best {shown} of {len(best)} by {objective}" if len(best) > shown else ""
    lines = [f"{chosen} chosen on validation ({tried}{more})"]
    notice = grid_edge_notice(calibration)
    if notice:
        lines.append(f"note: {notice}")
    return lines
