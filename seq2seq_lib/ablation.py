"""Ablations: one change at a time against a profile, measured on validation (and once on test).

`configs/ablations.yaml` lists the variants as dotted-key overrides of a base profile. Each variant
trains in its own run folder, named by the variant and a digest of its settings (reused when finished
with the same settings), is scored on the validation split (what tuning
reads) and once on the test split, and becomes one row of the spec's table (`results/<base>/<table>`,
`ablation.md` by default). Variants that change only decoding reuse a trained model: the base
profile's own run when `common` changes nothing but decoding, else the first variant's.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from .config import PROJECT_ROOT, Config, DecodingConfig, load_config, profile_config_path
from .errors import UserError
from .evaluation import evaluate_models, format_markdown, load_summaries, recompute_bleu
from .experiment import run_paths
from .io_utils import write_text
from .metrics import PARSING_BLEU_LABEL
from .pipeline import train_models

VALID_EXAMPLES = 1000


def slug(name: str) -> str:
    """A folder-safe name for a variant."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]


def load_spec(path: Path) -> dict[str, Any]:
    """Read and check an ablation spec (base, model, common, variants)."""
    if not path.is_file():
        raise UserError(f"ablation spec not found: {path}; see configs/ablations.yaml")
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


def variant_config(spec: dict[str, Any], name: str) -> tuple[Config, Path]:
    """The config a variant trains (or reuses a model) and decodes with, and the folder of its scores."""
    model, common = spec["model"], spec.get("common", {})
    base = profile_config_path(spec["base"])
    overrides = spec["variants"][name] or {}
    settings = {**common, **overrides}
    if not _decoding_only(settings):
        trained_as = next(iter(spec["variants"])) if overrides and _decoding_only(overrides) else name
        trained = load_config(base, {**common, **(spec["variants"][trained_as] or {}), "models": [model]})
        training_key = replace(trained, decoding=DecodingConfig())  # decoding never changes what is trained
        settings.update({"profile": _folder(trained_as, training_key), "models": [model]})
    config = load_config(base, settings)
    return config, PROJECT_ROOT / "results" / _folder(name, config)


def run_variant(spec: dict[str, Any], name: str) -> dict[str, Any]:
    """Train (or reuse) and score one variant; returns its table row."""
    model = spec["model"]
    config, results_dir = variant_config(spec, name)
    result = train_models(config, [model])[model]
    scores = {}
    for split, limit in (("valid", VALID_EXAMPLES), ("test", None)):
        out_dir = results_dir / split
        if not (out_dir / f"summary_{split}.json").is_file():
            evaluate_models(config, [model], split=split, max_examples=limit, out_dir=out_dir, baselines=False)
        scores[split] = load_summaries(out_dir, split)[0]["metrics"]
    test_results = results_dir / "test" / model / "evaluation_results.json"
    return {
        "change": name,
        "valid BLEU": f"{scores['valid']['bleu']:.2f}",
        "test BLEU": f"{scores['test']['bleu']:.2f}",
        f"test {PARSING_BLEU_LABEL}": f"{recompute_bleu(test_results, parsing_only=True):.2f}",
        "test parses %": f"{100 * scores['test']['syntax_valid']:.1f}",
        "test length ratio": f"{scores['test']['length_ratio']:.2f}",
        "train min": f"{result.train_seconds / 60:.1f}",
        "epochs": len(result.history),
    }


def run_ablation(spec_path: Path = PROJECT_ROOT / "configs" / "ablations.yaml") -> str:
    """Run every variant of a spec (reusing finished ones) and write the ablation table."""
    spec = load_spec(spec_path)
    rows = []
    out = run_paths(load_config(profile_config_path(spec["base"]))).results_dir / spec.get("table", "ablation.md")
    for name in spec["variants"]:
        rows.append(run_variant(spec, name))
        table = format_markdown(rows)
        header = (
            f"Ablation of the {spec['model']} model against the {spec['base']} profile, one change at a time, "
            f"{spec.get('common') or 'no other change'} for every row. Validation BLEU on a fixed random "
            f"sample of {VALID_EXAMPLES} validation pairs (what tuning reads); test BLEU on the whole test split, "
            "computed once per row.\n\n"
        )
        write_text(out, header + table)  # rewritten after each row, so a stopped run keeps what finished
    return table
