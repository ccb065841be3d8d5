"""Evaluate trained models and baselines on a split; write results JSON and the comparison table.

Every pair of the split is evaluated, also those longer than the training limits. Each model's
`results/<profile>/<model>/evaluation_results.json` holds the metrics with 95% bootstrap
confidence intervals, the config and checkpoint they came from, and every example.
"""

from __future__ import annotations

import csv
import io
import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from . import metrics
from .baselines import RetrievalBaseline, TrivialBaseline
from .batching import encode_records, make_loader
from .checkpoints import LoadedModel, find_model_checkpoint, load_model
from .config import Config, DecodingConfig
from .decoding import decode
from .experiment import (
    RunPaths, configure_threads, load_records, resolve_device, run_paths, sample_records, training_records, validation_records,
)
from .io_utils import read_json, write_json, write_text
from .models.base import Seq2Seq
from .preprocess import Preprocessor
from .progress import tqdm

DOC_LENGTH_EDGES = (8, 16, 32)  # docstring tokens: <8, 8-15, 16-31, >=32
CODE_LENGTH_EDGES = (50, 100, 200)  # reference code tokens
BOOTSTRAP_RESAMPLES = 1000


@dataclass
class Generation:
    """What a system produced for a split: code strings in split order, and how long it took."""

    hypotheses: list[str]
    seconds: float


def generate(
    model: Seq2Seq, preprocessor: Preprocessor, records: list[dict], decoding: DecodingConfig, device: torch.device,
    batch_size: int = 64, desc: str = "decode",
) -> Generation:
    """Decode every record's docstring with a model (order preserved)."""
    dataset, _ = encode_records(records, preprocessor)  # no limits: every pair counts
    hypotheses: list[str] = [""] * len(records)
    started = time.perf_counter()
    loader = make_loader(dataset, batch_size, shuffle=False, seed=0)
    for batch in tqdm(loader, desc=desc, leave=False):
        batch = batch.to(device)
        result = decode(model, batch.src, batch.src_lengths, **decoding.search_options(preprocessor))
        for index, tokens in zip(batch.indices.tolist(), result.tokens):
            hypotheses[dataset.indices[index]] = preprocessor.decode_tgt(tokens)
    return Generation(hypotheses, time.perf_counter() - started)


def validation_scores(
    model: Seq2Seq, preprocessor: Preprocessor, records: list[dict], decoding: DecodingConfig, device: torch.device
) -> dict[str, float]:
    """Corpus BLEU, the share of outputs that parse and the BLEU of those alone, decoding the records (selection, calibration)."""
    hypotheses = generate(model, preprocessor, records, decoding, device, desc="validation").hypotheses
    references = [r["func_code_string"] for r in records]
    parsing = metrics.parsing_only(hypotheses)
    return {
        "bleu": metrics.corpus_bleu(hypotheses, references),
        "parses": sum(map(bool, parsing)) / len(hypotheses) if hypotheses else 0.0,
        "parsing_bleu": metrics.corpus_bleu(parsing, references),
    }


def score(hypotheses: list[str], records: list[dict], seed: int, with_codebleu: bool = False) -> dict[str, Any]:
    """Headline metrics with 95% bootstrap intervals, length breakdowns and per-example scores."""
    references = [r["func_code_string"] for r in records]
    result = metrics.evaluate_outputs(
        hypotheses, references, n_resamples=BOOTSTRAP_RESAMPLES, seed=seed, with_codebleu=with_codebleu
    )
    for example, record in zip(result["per_example"], records):
        example["doc_len"] = len(record["func_documentation_tokens"])
    return {
        "metrics": result["metrics"],
        "ci95": result["ci"],
        "by_docstring_length": metrics.breakdown_by_length(result["per_example"], "doc_len", DOC_LENGTH_EDGES),
        "by_code_length": metrics.breakdown_by_length(result["per_example"], "ref_len", CODE_LENGTH_EDGES),
        "per_example": result["per_example"],
        "stats": metrics.stats_matrix(result["per_example"]),
    }


def _examples(records: list[dict], hypotheses: list[str], per_example: list[dict]) -> list[dict]:
    """Every example: docstring, reference, generated code and its scores."""
    return [
        {"docstring": r["func_documentation_string"], "reference": r["func_code_string"], "generated": h,
         "repository": r["repository_name"], "func_name": r["func_name"], **scores}
        for r, h, scores in zip(records, hypotheses, per_example)
    ]


def write_results(path: Path, system: str, scored: dict[str, Any], records: list[dict], hypotheses: list[str], extra: dict[str, Any]) -> dict[str, Any]:
    """Write one system's evaluation_results.json (atomically) and return the summary part."""
    summary = {"system": system, **extra, "metrics": scored["metrics"], "ci95": scored["ci95"],
               "by_docstring_length": scored["by_docstring_length"], "by_code_length": scored["by_code_length"]}
    write_json(path, {**summary, "examples": _examples(records, hypotheses, scored["per_example"])})
    return summary


def _table_rows(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per system for the comparison table."""
    rows = []
    for s in summaries:
        m, ci = s["metrics"], s["ci95"]
        rows.append({
            "system": s["system"],
            "BLEU": round(m["bleu"], 2),
            "BLEU 95% CI": f"{ci['bleu'][0]:.2f}-{ci['bleu'][1]:.2f}",
            metrics.PARSING_BLEU_LABEL: round(m["bleu_parsing_only"], 2) if "bleu_parsing_only" in m else "",
            "token acc %": round(100 * m["token_accuracy"], 1),
            "exact %": round(100 * m["exact_match"], 2),
            "parses %": round(100 * m["syntax_valid"], 1),
            "distinct %": round(100 * m["distinct_share"], 1),
            "length ratio": round(m["length_ratio"], 2),
            "params": s.get("parameters", ""),
            "train min": round(s["train_seconds"] / 60, 1) if s.get("train_seconds") else "",
            "decode sent/s": round(s["sentences_per_second"], 1) if s.get("sentences_per_second") else "",
        })
    return rows


def format_markdown(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of the comparison rows."""
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(row[h]) for h in header) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_table(rows: list[dict[str, Any]], out_dirs: list[Path], stem: str = "comparison") -> str:
    """Write the comparison table as CSV and Markdown into each folder; returns the Markdown."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    markdown = format_markdown(rows)
    for out in out_dirs:
        write_text(out / f"{stem}.csv", buffer.getvalue())
        write_text(out / f"{stem}.md", markdown)
    return markdown


def evaluate_baselines(config: Config, records: list[dict]) -> dict[str, list[str]]:
    """Retrieval and trivial baseline outputs for the records, fit on the same training data."""
    train = training_records(config)
    docs, codes = [r["func_documentation_string"] for r in train], [r["func_code_string"] for r in train]
    queries = [r["func_documentation_string"] for r in records]
    return {
        "retrieval (TF-IDF)": RetrievalBaseline.fit(docs, codes).predict(queries),
        "trivial (most common body)": TrivialBaseline.fit(codes).predict(queries),
    }


def _calibration(config: Config, loaded: LoadedModel, paths: RunPaths, device: torch.device) -> dict[str, Any] | None:
    """The model's calibration under config.decoding; a local checkpoint without one is calibrated now (and keeps it).

    Shipped weights are never rewritten: without a matching calibration they decode with the configured penalty.
    """
    calibration = config.decoding.matching_calibration(loaded.calibrations)
    if not config.decoding.eos_penalty_grid or calibration is not None:
        return calibration
    if loaded.path.resolve().is_relative_to(paths.run_dir.resolve()):
        from .calibration import calibrate_checkpoint, calibration_report  # imported here: calibration imports this module

        print(f"[evaluate] {loaded.name}: calibrating the <eos> penalty for these decoding settings on validation")
        pairs = validation_records(config)[: config.decoding.calibration_pairs]
        calibration = calibrate_checkpoint(loaded.path, config, pairs, device)
        for line in calibration_report(calibration):
            print(f"[evaluate] {loaded.name}: {line}")
        return calibration
    print(f"[evaluate] {loaded.name}: no <eos> calibration for these decoding settings in {loaded.path.name}; "
          f"decoding with eos_penalty {config.decoding.eos_penalty} (train with these settings to calibrate)")
    return None


def evaluate_models(
    config: Config, names: list[str], split: str = "test", max_examples: int | None = None,
    out_dir: Path | None = None, baselines: bool = True, with_codebleu: bool = False,
) -> str:
    """Evaluate models (and baselines) on a split; write results, tables and significance; return the Markdown table."""
    paths = run_paths(config)
    configure_threads(config)
    device = resolve_device(config.device)
    records = sample_records(load_records(config, split), max_examples)  # the same pairs for every config
    out_dir = out_dir or (paths.results_dir if split == "test" else paths.results_dir / split)
    summaries, stats = [], {}
    for name in names:
        checkpoint = find_model_checkpoint(paths.run_dir, name, config.profile)
        loaded = load_model(checkpoint, device)
        calibration = _calibration(config, loaded, paths, device)
        if calibration is not None and calibration not in loaded.calibrations:
            loaded = load_model(checkpoint, device)  # calibrated just now: the checkpoint may have gained a length model
        decoding = config.decoding.calibrated([calibration] if calibration else [])
        generation = generate(loaded.model, loaded.preprocessor, records, decoding, device, desc=f"decode {name}")
        scored = score(generation.hypotheses, records, config.seed, with_codebleu)
        stats[name] = scored["stats"]
        extra = {
            "split": split,
            "checkpoint": str(loaded.path.relative_to(paths.root) if loaded.path.is_relative_to(paths.root) else loaded.path),
            "config": config.to_dict(),
            "training_config": loaded.config,
            "decoding": vars(decoding),
            "calibration": calibration,
            "parameters": sum(p.numel() for p in loaded.model.parameters() if p.requires_grad),
            "train_seconds": loaded.train_seconds,
            "epochs": len(loaded.history),
            "sentences_per_second": len(records) / max(generation.seconds, 1e-9),
        }
        summaries.append(write_results(out_dir / name / "evaluation_results.json", name, scored, records, generation.hypotheses, extra))
        print(f"[evaluate] {name}: BLEU {scored['metrics']['bleu']:.2f} on {len(records)} {split} pairs")
    for system, hypotheses in (evaluate_baselines(config, records) if baselines else {}).items():
        scored = score(hypotheses, records, config.seed, with_codebleu)
        folder = system.split(" ")[0]
        summaries.append(write_results(out_dir / folder / "evaluation_results.json", system, scored, records, hypotheses, {"split": split}))
    significance = {
        f"{a} vs {b}": metrics.paired_bootstrap(stats[a], stats[b], n_resamples=BOOTSTRAP_RESAMPLES, seed=config.seed)
        for a, b in itertools.combinations(names, 2)
    }
    write_json(out_dir / f"significance_{split}.json", significance)
    write_json(out_dir / f"summary_{split}.json", summaries)
    table_dirs = [out_dir, paths.figures_dir] if out_dir == paths.results_dir else [out_dir]
    return write_table(_table_rows(summaries), table_dirs, stem="comparison" if split == "test" else f"comparison_{split}")


def load_summaries(results_dir: Path, split: str = "test") -> list[dict[str, Any]]:
    """The per-system summaries written by evaluate_models (for the comparison notebook)."""
    return read_json(results_dir / f"summary_{split}.json")


def _stored_outputs(results_path: Path) -> tuple[list[str], list[str], list[bool]]:
    """The generated functions, their references and whether each output parses, from a results file."""
    examples = read_json(results_path)["examples"]
    return [e["generated"] for e in examples], [e["reference"] for e in examples], [e["parses"] for e in examples]


def recompute_name_recall(results_path: Path) -> float:
    """`metrics.name_recall` of the examples stored in a results file."""
    hypotheses, references, _ = _stored_outputs(results_path)
    return metrics.name_recall(hypotheses, references)


def recompute_bleu(results_path: Path, parsing_only: bool = False) -> float:
    """Corpus BLEU recomputed from the examples stored in a results file; `parsing_only` scores unparsed outputs as empty."""
    hypotheses, references, parsed = _stored_outputs(results_path)
    if parsing_only:
        hypotheses = metrics.parsing_only(hypotheses, parsed)
    return metrics.corpus_bleu(hypotheses, references)

