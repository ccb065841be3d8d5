"""Ablations: one change at a time against a profile, measured on validation (and once on test).

A spec (`seq2seq_lib/lab/specs/*.yaml`) lists the variants as dotted-key overrides of a base profile. Each variant
trains in its own run folder, named by the variant and a digest of its settings (reused when finished
with the same settings), is scored on the validation split (what tuning
reads) and once on the test split, and becomes one row of the spec's table (`results/<base>/<table>`,
`ablation.md` by default). Variants that change only decoding reuse a trained model: the base
profile's own run when `common` changes nothing but decoding, else the first variant's.

A spec may list `seeds`: every variant is then trained and scored once per seed, and its row gives the
mean with the value of each seed beside it. Training and scoring can run apart (`stage`): train the
rows on a GPU machine, several at once (`jobs`), then score them where the corpus and results live.
"""

from __future__ import annotations

import hashlib
import re
import statistics
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from ..config import PROJECT_ROOT, Config, DecodingConfig, load_config, profile_config_path
from ..errors import UserError
from ..evaluation.evaluate import evaluate_models
from ..evaluation.results import format_markdown, load_summaries
from ..io_utils import read_json, write_text
from ..paths import run_paths
from ..pipeline import train_models
from ..runtime import CPUS, run_in_workers
from ..training.loop import finished

VALID_EXAMPLES = 1000
STAGES = ("all", "train", "score")


def slug(name: str) -> str:
    """A folder-safe name for a variant."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]


def load_spec(path: Path) -> dict[str, Any]:
    """Read and check an ablation spec (base, model, common, variants)."""
    if not path.is_file():
        raise UserError(f"ablation spec not found: {path}; see seq2seq_lib/lab/specs/dropout.yaml")
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    missing = {"base", "model", "variants"} - set(spec or {})
    if missing:
        raise UserError(f"{path}: missing key '{sorted(missing)[0]}' (needs base, model, variants)")
    return spec


def _decoding_only(overrides: dict[str, Any]) -> bool:
    """True when every override is a decoding setting (nothing to train)."""
    return all(key.startswith("decoding.") for key in overrides)


def _folder(name: str, config: Config) -> str:
    """A variant's folder: its name, readable, and a digest of the name and its settings, so that a changed
    setting (or two names alike in their first 40 characters) never reuses another row's model or scores."""
    return f"ablation-{slug(name)}-{hashlib.sha256((name + config.digest()).encode()).hexdigest()[:8]}"


def variant_config(spec: dict[str, Any], name: str, seed: int | None = None) -> tuple[Config, Path]:
    """The config a variant trains (or reuses a model) and decodes with, and the folder of its scores."""
    model, common = spec["model"], {**spec.get("common", {}), **({} if seed is None else {"seed": seed})}
    base = profile_config_path(spec["base"])
    overrides = spec["variants"][name] or {}
    settings = {**common, **overrides, "models": [model]}  # the folder of scores is the spec model's own
    if not _decoding_only({k: v for k, v in settings.items() if k not in ("seed", "models")}):
        trained_as = next(iter(spec["variants"])) if overrides and _decoding_only(overrides) else name
        trained = load_config(base, {**common, **(spec["variants"][trained_as] or {}), "models": [model]})
        training_key = replace(trained, decoding=DecodingConfig())  # decoding never changes what is trained
        settings.update({"profile": _folder(trained_as, training_key), "models": [model]})
    config = load_config(base, settings)
    return config, PROJECT_ROOT / "results" / _folder(name, config)


def _train(job: tuple[Config, str]) -> str:
    """Train one row's model (a worker of the `train` stage): (config, model) -> a report line."""
    config, model = job
    result = train_models(config, [model], progress=False)[model]
    return (
        f"[ablate] {config.run_name}: kept epoch {result.best_epoch} of {len(result.history)}, "
        f"best validation loss {result.best_valid_loss:.3f}, {result.train_seconds / 60:.1f} min"
    )


def train_variants(spec: dict[str, Any], seeds: list[int | None], jobs: int = 1) -> None:
    """Train every model the rows decode, `jobs` at a time (each in its own process); the base profile's own
    runs, which rows that change only decoding may decode, are left as they are."""
    runs: dict[Path, Config] = {}
    for name in spec["variants"]:
        for seed in seeds:
            config, _ = variant_config(spec, name, seed)
            if config.profile != spec["base"]:
                runs.setdefault(run_paths(config).run_dir, config)  # decoding-only rows share a run
    threads = max(1, CPUS // jobs)
    for line in run_in_workers(_train, [(config, spec["model"]) for config in runs.values()], jobs, threads):
        print(line, flush=True)


def score_variant(spec: dict[str, Any], name: str, seed: int | None = None, train: bool = True) -> dict[str, float]:
    """Train (or reuse) one variant's model and score it on validation and test; `train=False` needs it trained."""
    model = spec["model"]
    config, results_dir = variant_config(spec, name, seed)
    model_dir = run_paths(config).model_dir(model)
    if train:
        train_models(config, [model])
    elif not (model_dir / "checkpoint.pt").is_file():
        raise UserError(f"no trained model for ablation row '{name}' in {model_dir}; run the spec without --stage score")
    history = read_json(model_dir / "history.json")
    if not finished(history, config.training):
        raise UserError(
            f"ablation row '{name}' has trained {len(history)} of {config.training.epochs} epochs in {model_dir}; "
            "finish it with --stage train (or without --stage)"
        )
    scores = {}
    for split, limit in (("valid", VALID_EXAMPLES), ("test", None)):
        out_dir = results_dir / split
        if not (out_dir / f"summary_{split}.json").is_file():
            evaluate_models(config, [model], split=split, max_examples=limit, out_dir=out_dir, baselines=False)
        scores[split] = load_summaries(out_dir, split)[0]["metrics"]
    return {
        "valid chrF gain": scores["valid"]["chrf_gain"],
        "valid chrF": scores["valid"]["chrf"],
        "valid compiles %": 100 * scores["valid"]["compiles"],
        "test chrF gain": scores["test"]["chrf_gain"],
        "test chrF": scores["test"]["chrf"],
        "test compiles %": 100 * scores["test"]["compiles"],
        "train min": sum(epoch["seconds"] for epoch in history) / 60,
        "epochs": len(history),
    }


def format_row(name: str, scores: list[dict[str, float]]) -> dict[str, str]:
    """One table row: each score as the mean over seeds followed by each seed's value (epochs: each seed's)."""
    row = {"change": name}
    for key in scores[0]:
        values = [s[key] for s in scores]
        digits = 0 if key == "epochs" else 1 if key.endswith("%") or key == "train min" else 2
        each = " / ".join(f"{v:.{digits}f}" for v in values)
        if key == "epochs" or len(values) == 1:
            row[key] = each
        else:
            row[key] = f"{statistics.mean(values):.{digits}f} ({each})"
    return row


def run_ablation(spec_path: Path = PROJECT_ROOT / "configs" / "ablations.yaml", stage: str = "all", jobs: int = 1) -> str:
    """Run every variant of a spec (reusing finished ones) and write the ablation table.

    `stage`: "all" trains and scores each row in turn; "train" only trains (`jobs` rows at a time);
    "score" only scores rows whose models are already trained. Returns the table (empty after "train").
    """
    if stage not in STAGES:
        raise UserError(f"unknown ablation stage '{stage}'; choose one of {', '.join(STAGES)}")
    spec = load_spec(spec_path)
    seeds: list[int | None] = list(spec.get("seeds") or [None])
    if stage == "train":
        train_variants(spec, seeds, jobs)
        return ""
    rows = []
    out = run_paths(load_config(profile_config_path(spec["base"]))).results_dir / spec.get("table", "ablation.md")
    seeds_note = f" Each row is trained and scored with seeds {', '.join(map(str, seeds))}: the mean, then each seed's value." if len(seeds) > 1 else ""
    for name in spec["variants"]:
        rows.append(format_row(name, [score_variant(spec, name, seed, train=stage == "all") for seed in seeds]))
        table = format_markdown(rows)
        header = (
            f"Ablation of the {spec['model']} model against the {spec['base']} profile, one change at a time, "
            f"{spec.get('common') or 'no other change'} for every row. Validation scores (chrF, its length-matched "
            f"docstring gain, compiling share) on a fixed random sample of {VALID_EXAMPLES} validation pairs (what tuning "
            f"reads); test scores on the whole test split, "
            f"computed once per row.{seeds_note}\n\n"
        )
        write_text(out, header + table)  # rewritten after each row, so a stopped run keeps what finished
    return table


def _table_rows(path: Path) -> tuple[str, list[tuple[str, str]]]:
    """The validation column's name and (change, validation score) of each row of an ablation table."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    cells = [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines]
    return cells[0][1], [(row[0], row[1].split(" (")[0]) for row in cells[1:]]


def ablation_summary(results_dir: Path, decisions_file: Path) -> str:
    """One table over every ablation table of a folder: each change, its validation score beside its table's
    baseline (the first row), whether the profile adopted it (from `decisions_file`), and the table's name."""
    decisions = yaml.safe_load(decisions_file.read_text(encoding="utf-8"))
    rows = []
    for path in sorted(results_dir.glob("ablation*.md")):
        if path.name == "ablation_summary.md":
            continue
        metric, ((_, baseline), *changes) = _table_rows(path)
        for change, score in changes:
            adopted = decisions.get(path.name, {}).get(change)
            if adopted is None:
                raise UserError(f"{decisions_file.name} does not say whether '{change}' ({path.name}) was adopted; add it")
            rows.append({"change": change, "validation score": f"{metric} {score} (baseline {baseline})",
                         "adopted": adopted, "table": f"[{path.name}]({path.name})"})
    return format_markdown(rows)


def write_ablation_summary(results_dir: Path = PROJECT_ROOT / "results" / "quick") -> str:
    """Write `ablation_summary.md` beside the ablation tables, from them and `ablation_decisions.yaml`."""
    table = ablation_summary(results_dir, results_dir / "ablation_decisions.yaml")
    header = ("Every ablation of the quick profile, one row per change: its validation score beside the baseline "
              "of its own table (the profile of the time), and whether the profile adopted it. Each table "
              "names its settings, seeds and test scores.\n\n")
    write_text(results_dir / "ablation_summary.md", header + table)
    return table
