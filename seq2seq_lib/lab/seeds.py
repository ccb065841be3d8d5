"""Seed sweeps: train and evaluate every model of a profile once per seed, and tabulate the spread."""

from __future__ import annotations

import statistics

from ..config import Config, load_config, profile_config_path
from ..evaluation.evaluate import evaluate_models
from ..evaluation.results import format_markdown, load_summaries
from ..io_utils import write_json, write_text
from ..paths import run_paths
from ..pipeline import train_models
from ..training.checkpoints import SHIPPED_WEIGHTS_DIR, read_checkpoint

METRICS = {"chrf": "chrF", "chrf_gain": "chrF gain (length-matched)", "bleu": "BLEU", "compiles": "compiles",
           "length_ratio": "length ratio"}


def shipped_run(config: Config, name: str) -> bool:
    """Whether the model of this config is the shipped one: no local checkpoint, and shipped weights of its seed."""
    if (run_paths(config).model_dir(name) / "checkpoint.pt").is_file():
        return False
    shipped = SHIPPED_WEIGHTS_DIR / config.profile / f"{name}.pt"
    return shipped.is_file() and read_checkpoint(shipped)["config"]["seed"] == config.seed


def run_seeds(profile: str, seeds: list[int], split: str = "test", max_examples: int | None = None,
              models: list[str] | None = None) -> str:
    """Train and evaluate the models of a profile (every one, or `models`) once per seed; write the spread as a table.

    Finished work is reused: a model in a seed's summary is neither trained nor evaluated again (the summaries
    are committed; delete `results/<profile>/seeds/seed<N>` to redo a seed), the models it lacks are added to it,
    trained runs resume, and the shipped weights stand for their own seed.
    """
    rows: dict[tuple[str, str], list[float | None]] = {}
    shipped: list[str] = []
    for seed in seeds:
        config = load_config(profile_config_path(profile), {"seed": seed})
        names = list(models or config.models)
        out_dir = run_paths(config).results_dir / "seeds" / f"seed{seed}"
        from_shipped = [name for name in names if shipped_run(config, name)]
        shipped += [f"{name} seed {seed}" for name in from_shipped]
        summary_path = out_dir / f"summary_{split}.json"
        kept = load_summaries(out_dir, split) if summary_path.is_file() else []
        if missing := [name for name in names if name not in {s["system"] for s in kept}]:
            if to_train := [name for name in missing if name not in from_shipped]:
                train_models(config, to_train)
            evaluate_models(config, missing, split=split, max_examples=max_examples, out_dir=out_dir, baselines=False)
            # evaluate_models rewrites the summary with the models it scored: the seed's earlier ones stay
            kept = [s for s in kept if s["system"] not in missing] + load_summaries(out_dir, split)
            write_json(summary_path, kept)
        for summary in (s for s in kept if s["system"] in names):
            for key, label in METRICS.items():
                value = summary["metrics"].get(key)  # absent from summaries written before the metric existed
                rows.setdefault((summary["system"], label), []).append(value)
    table = format_markdown([_spread_row(name, label, seeds, values) for (name, label), values in rows.items()])
    suffix = "" if models is None else "_" + "_".join(models)
    note = f" The shipped weights stand for {', '.join(shipped)}." if shipped else ""
    pairs = "every pair" if max_examples is None else f"a seeded sample of {max_examples} pairs"
    title = f"Scores on the {split} split per seed ({profile} profile, {pairs}).{note}"
    write_text(run_paths(config).results_dir / f"seeds_{split}{suffix}.md", f"{title}\n\n{table}")
    return table


def _spread_row(name: str, label: str, seeds: list[int], values: list[float | None]) -> dict[str, str]:
    """One table row: the value per seed ("" where a summary lacks it), their mean and standard deviation."""
    present = [value for value in values if value is not None]
    return {
        "model": name,
        "metric": label,
        **{f"seed {seed}": "" if value is None else f"{value:.2f}" for seed, value in zip(seeds, values)},
        "mean": f"{statistics.mean(present):.2f}" if present else "",
        "std": f"{statistics.stdev(present):.2f}" if len(present) > 1 else "",
    }
