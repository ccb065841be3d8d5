"""Seed sweeps: train and evaluate every model of a profile once per seed, and tabulate the spread."""

from __future__ import annotations

import statistics

from ..config import load_config, profile_config_path
from ..evaluation.evaluate import evaluate_models
from ..evaluation.results import format_markdown, load_summaries
from ..io_utils import write_text
from ..paths import run_paths
from ..pipeline import train_models

METRICS = {"chrf": "chrF", "chrf_gain": "chrF gain (length-matched)", "bleu": "BLEU", "compiles": "compiles"}


def run_seeds(profile: str, seeds: list[int], split: str = "test", max_examples: int | None = None) -> str:
    """Train and evaluate every model of a profile once per seed; write the spread as a table.

    Finished seeds are reused: trained runs resume, and a seed's evaluation is kept once written
    (delete `results/<profile>/seeds/seed<N>` to evaluate it again).
    """
    rows: dict[tuple[str, str], list[float]] = {}
    for seed in seeds:
        config = load_config(profile_config_path(profile), {"seed": seed})
        out_dir = run_paths(config).results_dir / "seeds" / f"seed{seed}"
        train_models(config, list(config.models))
        if not (out_dir / f"summary_{split}.json").is_file():
            evaluate_models(config, list(config.models), split=split, max_examples=max_examples, out_dir=out_dir, baselines=False)
        for summary in load_summaries(out_dir, split):
            for key, label in METRICS.items():
                value = summary["metrics"].get(key)  # absent from summaries written before the metric existed
                rows.setdefault((summary["system"], label), []).append(float("nan") if value is None else value)
    table = format_markdown([
        {
            "model": name,
            "metric": label,
            **{f"seed {seed}": f"{value:.2f}" for seed, value in zip(seeds, values)},
            "mean": f"{statistics.mean(values):.2f}",
            "std": f"{statistics.stdev(values):.2f}" if len(values) > 1 else "",
        }
        for (name, label), values in rows.items()
    ])
    write_text(run_paths(config).results_dir / f"seeds_{split}.md", f"Scores on the {split} split per seed ({profile} profile)\n\n{table}")
    return table
