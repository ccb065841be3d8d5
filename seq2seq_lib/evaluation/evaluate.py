"""Evaluate trained models and baselines on a split; write results JSON and the comparison table.

Every pair of the split is evaluated, also those longer than the training limits. Each model's
`results/<profile>/<model>/evaluation_results.json` holds the metrics with 95% bootstrap
confidence intervals, the config and checkpoint they came from, and every example.
"""

from __future__ import annotations

import csv
import io
import itertools
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import metrics
from .baselines import RetrievalBaseline
from ..data.batching import EncodedDataset, encode_records, make_loader
from ..training.checkpoints import LoadedModel, find_model_checkpoint, load_model
from ..config import Config, DecodingConfig
from ..decoding.search import decode
from ..errors import UserError
from .gain import GainScorer, best_constants, derangement, normalise_code
from ..paths import run_paths
from ..runtime import configure_threads, resolve_device
from ..data.records import load_records, sample_records, training_records
from ..io_utils import read_json, read_jsonl_gz, write_json, write_jsonl_gz, write_text
from ..training.losses import loss_by_position, position_labels
from ..models.base import Seq2Seq
from ..data.preprocess import Preprocessor
from ..progress import tqdm

DOC_LENGTH_EDGES = (8, 16, 32)  # docstring tokens: <8, 8-15, 16-31, >=32
CODE_LENGTH_EDGES = (50, 100, 200)  # reference code tokens
BOOTSTRAP_RESAMPLES = 1000
INTERVALS = ("chrf", "chrf_gain", "bleu", "bleu_gain")


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
        result = decode(model, batch.src, batch.src_lengths, decoding, preprocessor)
        for index, tokens in zip(batch.indices.tolist(), result.tokens):
            hypotheses[dataset.indices[index]] = preprocessor.decode_tgt(tokens)
    return Generation(hypotheses, time.perf_counter() - started)


def score(hypotheses: list[str], records: list[dict], scorer: GainScorer, seed: int) -> dict[str, Any]:
    """Scores and docstring gains with 95% bootstrap intervals, by-length breakdowns and per-example lengths.

    Every output is scored against the normalised reference (`gain.normalise_code`), as the models' targets are.
    """
    stats = scorer.stats(hypotheses)
    bleu = stats[:, scorer.layout.bleu(0)]  # (N, 10): ... output length, reference length in code tokens
    per_example = [
        {"hyp_len": int(h), "ref_len": int(r), "doc_len": len(record["func_documentation_tokens"]), "compiles": ok}
        for h, r, record, ok in zip(bleu[:, -2], bleu[:, -1], records, map(metrics.compiles, hypotheses))
    ]
    result = scorer.scores(stats)
    result.update(
        compiles=float(np.mean([e["compiles"] for e in per_example])), distinct_share=metrics.distinct_share(hypotheses),
        length_ratio=float(bleu[:, -2].sum() / max(bleu[:, -1].sum(), 1)),
    )
    return {
        "metrics": result,
        "ci95": scorer.intervals(stats, BOOTSTRAP_RESAMPLES, seed, names=INTERVALS),
        "by_docstring_length": by_length(stats, scorer, [e["doc_len"] for e in per_example], DOC_LENGTH_EDGES),
        "by_code_length": by_length(stats, scorer, [e["ref_len"] for e in per_example], CODE_LENGTH_EDGES),
        "per_example": per_example,
        "stats": stats,
    }


def by_length(stats: np.ndarray, scorer: GainScorer, lengths: list[int], edges: tuple[int, ...]) -> list[dict[str, Any]]:
    """chrF and its length-matched gain per length bucket (the examples' own rows of statistics); empty buckets left out."""
    buckets = metrics.length_buckets(lengths, edges)
    rows = []
    for bucket in range(len(edges) + 1):
        part = stats[buckets == bucket]
        if len(part):
            sums = part.sum(axis=0)
            rows.append({"bucket": metrics.bucket_label(bucket, edges), "count": len(part),
                         **{name: float(scorer.metrics[name](sums, len(part))) for name in ("chrf", "chrf_gain")}})
    return rows


def _examples(records: list[dict], hypotheses: list[str], per_example: list[dict]) -> list[dict]:
    """Every example: docstring, reference, generated code and its scores."""
    return [
        {"docstring": r["func_documentation_string"], "reference": r["func_code_string"], "generated": h,
         "repository": r["repository_name"], "func_name": r["func_name"], **scores}
        for r, h, scores in zip(records, hypotheses, per_example)
    ]


def write_results(path: Path, system: str, scored: dict[str, Any], records: list[dict], hypotheses: list[str], extra: dict[str, Any]) -> tuple[dict[str, Any], list[dict]]:
    """Write one system's evaluation_results.json (atomically); return the summary part and the examples."""
    summary = {"system": system, **extra, "metrics": scored["metrics"], "ci95": scored["ci95"],
               "by_docstring_length": scored["by_docstring_length"], "by_code_length": scored["by_code_length"]}
    examples = _examples(records, hypotheses, scored["per_example"])
    write_json(path, {**summary, "examples": examples})
    return summary, examples


SHIPPED_FIELDS = ("docstring", "reference", "func_name", "repository", "ref_len")  # the same for every system


def write_shipped_examples(path: Path, examples: dict[str, list[dict]]) -> None:
    """The examples every notebook shows, compact enough to commit: per pair the docstring, reference and
    each system's output and length (`load_shipped_results` rebuilds the results files from it)."""
    systems = list(examples)
    rows = [
        {**{f: first[f] for f in SHIPPED_FIELDS},
         "generated": {s: examples[s][i]["generated"] for s in systems}, "hyp_len": {s: examples[s][i]["hyp_len"] for s in systems}}
        for i, first in enumerate(examples[systems[0]])
    ]
    write_jsonl_gz(path, rows)


def load_shipped_results(results_dir: Path, folder: str, split: str = "test") -> dict[str, Any] | None:
    """A system's results (summary and examples) from the committed summary and shipped examples, or None."""
    summaries, shipped = results_dir / f"summary_{split}.json", results_dir / f"examples_{split}.jsonl.gz"
    if not (summaries.is_file() and shipped.is_file()):
        return None
    system = {v: k for k, v in BASELINE_FOLDERS.items()}.get(folder, folder)
    summary = next((s for s in read_json(summaries) if s["system"] == system), None)
    rows = read_jsonl_gz(shipped)
    if summary is None or not rows or system not in rows[0]["generated"]:
        return None
    examples = [{**{f: r[f] for f in SHIPPED_FIELDS}, "generated": r["generated"][system], "hyp_len": r["hyp_len"][system]}
                for r in rows]
    return {**summary, "examples": examples}


# The comparison table's columns: scores 0-100, shares in percent, losses in nats per code piece ("" where none).
TABLE_COLUMNS = (
    "system", "chrf", "chrf_lo", "chrf_hi", "chrf_gain", "chrf_gain_lo", "chrf_gain_hi", "chrf_gain_plain",
    "bleu", "bleu_gain", "bleu_gain_plain", "bleu_no_layout", "compiles", "distinct", "length_ratio", "loss_true",
    "loss_shuffled",
)
MARKDOWN_HEADERS = {
    "chrf": "chrF [95% CI]", "chrf_gain": "chrF gain, length-matched [95% CI]", "chrf_gain_plain": "chrF gain",
    "bleu": "BLEU", "bleu_gain": "BLEU gain, length-matched", "bleu_gain_plain": "BLEU gain",
    "bleu_no_layout": "BLEU without layout", "compiles": "compiles %", "distinct": "distinct %",
    "length_ratio": "length ratio", "loss_true": "loss (nats)",
    "loss_shuffled": "loss, docstrings shuffled",
}


def table_rows(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per system with the plain numeric columns of `TABLE_COLUMNS` (what comparison.csv holds)."""
    rows = []
    for s in summaries:
        m, ci = s["metrics"], s["ci95"]
        rows.append({
            "system": s["system"],
            "chrf": round(m["chrf"], 2), "chrf_lo": round(ci["chrf"][0], 2), "chrf_hi": round(ci["chrf"][1], 2),
            "chrf_gain": round(m["chrf_gain"], 2), "chrf_gain_lo": round(ci["chrf_gain"][0], 2),
            "chrf_gain_hi": round(ci["chrf_gain"][1], 2), "chrf_gain_plain": round(m["chrf_gain_plain"], 2),
            "bleu": round(m["bleu"], 2), "bleu_gain": round(m["bleu_gain"], 2),
            "bleu_gain_plain": round(m["bleu_gain_plain"], 2), "bleu_no_layout": round(m["bleu_no_layout"], 2),
            "compiles": round(100 * m["compiles"], 1), "distinct": round(100 * m["distinct_share"], 1),
            "length_ratio": round(m["length_ratio"], 2),
            "loss_true": round(s["loss_true"], 3) if s.get("loss_true") is not None else "",
            "loss_shuffled": round(s["loss_shuffled"], 3) if s.get("loss_shuffled") is not None else "",
        })
    return rows


def markdown_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The comparison rows for reading: intervals joined to their values, readable headers."""
    out = []
    for row in rows:
        readable = {"system": row["system"]}
        for column in TABLE_COLUMNS[1:]:
            if column.endswith(("_lo", "_hi")):
                continue
            value = row[column]
            if f"{column}_lo" in row:
                value = f"{value:.2f} [{row[f'{column}_lo']:.2f}, {row[f'{column}_hi']:.2f}]"
            readable[MARKDOWN_HEADERS[column]] = value
        out.append(readable)
    return out


README_COLUMNS = ("chrf", "chrf_gain", "bleu", "bleu_no_layout", "compiles", "loss_true", "loss_shuffled")


def readme_table(csv_path: Path) -> str:
    """The README's short comparison table, from a comparison.csv: the headline columns only."""
    with csv_path.open(encoding="utf-8") as lines:
        rows = [{k: (float(v) if v not in ("", None) and k != "system" else v) for k, v in row.items()}
                for row in csv.DictReader(lines)]
    readable = markdown_rows(rows)
    keep = ["system", *(MARKDOWN_HEADERS[c] for c in README_COLUMNS)]
    return format_markdown([{k: row[k] for k in keep} for row in readable])


def format_markdown(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of the comparison rows."""
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(row[h]) for h in header) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_table(rows: list[dict[str, Any]], out_dirs: list[Path], stem: str = "comparison") -> str:
    """Write the comparison rows as CSV and (readable) Markdown into each folder; returns the Markdown."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    markdown = format_markdown(markdown_rows(rows))
    for out in out_dirs:
        write_text(out / f"{stem}.csv", buffer.getvalue())
        write_text(out / f"{stem}.md", markdown)
    return markdown


CONSTANT_CANDIDATES = 300
BASELINE_FOLDERS = {"retrieval": "retrieval", "constant (chrF)": "constant-chrf", "constant (BLEU)": "constant-bleu"}


def choose_constants(config: Config, results_dir: Path, save: bool = True) -> dict[str, Any]:
    """The best constant outputs by chrF and by BLEU: a seeded sample of training functions, scored on validation alone.

    The choice is kept in `results_dir/constants.json` (`save`) and reused while the seed and the number of
    candidates match.
    """
    path = results_dir / "constants.json"
    if path.is_file():
        saved = read_json(path)
        if saved.get("seed") == config.seed and saved.get("candidates") == CONSTANT_CANDIDATES:
            return saved
    train = training_records(config)
    picked = random.Random(config.seed).sample(range(len(train)), min(CONSTANT_CANDIDATES, len(train)))
    valid = load_records(config, "valid")
    print(f"[evaluate] choosing the best constant outputs: {len(picked)} training functions on {len(valid)} validation pairs")
    chosen = best_constants([train[i]["func_code_string"] for i in picked], [r["func_code_string"] for r in valid])
    saved = {
        "seed": config.seed, "candidates": len(picked), "validation_pairs": len(valid),
        **{metric: {"code": c["code"], "train_index": picked[c["index"]], "func_name": train[picked[c["index"]]]["func_name"],
                    "valid_score": c["score"]} for metric, c in chosen.items()},
    }
    if save:
        write_json(path, saved)
    return saved


def evaluate_baselines(config: Config, records: list[dict], results_dir: Path, save: bool = True) -> dict[str, list[str]]:
    """Retrieval and the two best constants' outputs for the records (training code as the models' targets see it)."""
    train = training_records(config)
    docs, codes = [r["func_documentation_string"] for r in train], [r["func_code_string"] for r in train]
    queries = [r["func_documentation_string"] for r in records]
    constants = choose_constants(config, results_dir, save)
    return {
        "retrieval": [normalise_code(code) for code in RetrievalBaseline.fit(docs, codes).predict(queries)],
        "constant (chrF)": [constants["chrf"]["code"]] * len(records),
        "constant (BLEU)": [constants["bleu"]["code"]] * len(records),
    }


def teacher_forced_losses(loaded: LoadedModel, records: list[dict], config: Config, seed: int, device: torch.device) -> dict[str, Any]:
    """Mean teacher-forced loss (nats per code piece) of the records with their own docstrings and with the docstrings
    deranged (each code after another pair's docstring), within the training length limits: how much the model
    uses its input, whatever the search; also the rise by target position (how long the docstring keeps mattering).
    Empty when fewer than 2 pairs fit the limits."""
    dataset, _ = encode_records(records, loaded.preprocessor, config.data.max_src_len, config.data.max_tgt_len)
    if len(dataset) < 2:
        return {}
    batch = config.training.batch_size
    true, true_by_position = loss_by_position(loaded.model, dataset, batch, device)
    perm = derangement(len(dataset), np.random.default_rng(seed))
    shuffled = EncodedDataset([(dataset.pairs[j][0], dataset.pairs[i][1]) for i, j in enumerate(perm)], dataset.indices)
    other, other_by_position = loss_by_position(loaded.model, shuffled, batch, device)
    rise = {label: b - a for label, a, b in zip(position_labels(), true_by_position, other_by_position)}
    return {"loss_true": true, "loss_shuffled": other, "loss_rise_by_position": rise}


def _significance(systems: dict[str, np.ndarray], scorer: GainScorer, seed: int) -> dict[str, dict[str, Any]]:
    """Paired bootstrap tests of every pair of systems on chrF and on length-matched chrF gain."""
    return {
        f"{a} vs {b}": {
            metric: metrics.paired_bootstrap(systems[a], systems[b], scorer.metrics[metric], BOOTSTRAP_RESAMPLES, seed)
            for metric in ("chrf", "chrf_gain")
        }
        for a, b in itertools.combinations(systems, 2)
    }


def evaluate_models(
    config: Config, names: list[str], split: str = "test", max_examples: int | None = None,
    out_dir: Path | None = None, baselines: bool = True, records: list[dict] | None = None,
) -> str:
    """Evaluate models (and baselines) on a split, or on `records` given; write results, tables and significance;
    return the Markdown table."""
    paths = run_paths(config)
    configure_threads(config)
    device = resolve_device(config.device)
    if records is None:
        records = sample_records(load_records(config, split), max_examples)  # the same pairs for every config
    out_dir = out_dir or (paths.results_dir if split == "test" else paths.results_dir / split)
    if len(records) < 2:
        raise UserError(f"{len(records)} pair(s) to evaluate; the docstring gain compares each output with other pairs' "
                        "code, so evaluate at least 2")
    scorer = GainScorer([r["func_code_string"] for r in records], seed=config.seed)
    summaries, stats, examples = [], {}, {}
    for name in names:
        checkpoint = find_model_checkpoint(paths.run_dir, name, config.profile)
        loaded = load_model(checkpoint, device)
        generation = generate(loaded.model, loaded.preprocessor, records, config.decoding, device, desc=f"decode {name}")
        scored = score(generation.hypotheses, records, scorer, config.seed)
        stats[name] = scored["stats"]
        extra = {
            "split": split,
            "checkpoint": str(loaded.path.relative_to(paths.root) if loaded.path.is_relative_to(paths.root) else loaded.path),
            "config": config.to_dict(),
            "training_config": loaded.config,
            "decoding": asdict(config.decoding),
            "parameters": sum(p.numel() for p in loaded.model.parameters() if p.requires_grad),
            "train_seconds": loaded.train_seconds,
            "epochs": len(loaded.history),
            "sentences_per_second": len(records) / max(generation.seconds, 1e-9),
            **teacher_forced_losses(loaded, records, config, config.seed, device),
        }
        summary, examples[name] = write_results(out_dir / name / "evaluation_results.json", name, scored, records, generation.hypotheses, extra)
        summaries.append(summary)
        m = scored["metrics"]
        print(f"[evaluate] {name}: chrF {m['chrf']:.2f}, length-matched chrF gain {m['chrf_gain']:.2f}, "
              f"BLEU {m['bleu']:.2f}, compiles {100 * m['compiles']:.1f}% on {len(records)} {split} pairs")
    for system, hypotheses in (evaluate_baselines(config, records, paths.results_dir, save=out_dir == paths.results_dir) if baselines else {}).items():
        scored = score(hypotheses, records, scorer, config.seed)
        stats[system] = scored["stats"]
        folder = BASELINE_FOLDERS[system]
        summary, examples[system] = write_results(out_dir / folder / "evaluation_results.json", system, scored, records, hypotheses, {"split": split})
        summaries.append(summary)
    write_json(out_dir / f"significance_{split}.json", _significance(stats, scorer, config.seed))
    write_json(out_dir / f"summary_{split}.json", summaries)
    write_shipped_examples(out_dir / f"examples_{split}.jsonl.gz", examples)
    table_dirs = [out_dir, paths.figures_dir] if out_dir == paths.results_dir else [out_dir]
    return write_table(table_rows(summaries), table_dirs, stem="comparison" if split == "test" else f"comparison_{split}")


def load_summaries(results_dir: Path, split: str = "test") -> list[dict[str, Any]]:
    """The per-system summaries written by evaluate_models (for the comparison notebook)."""
    return read_json(results_dir / f"summary_{split}.json")
