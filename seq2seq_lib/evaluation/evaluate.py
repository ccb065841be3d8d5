"""Evaluate trained models and baselines on a split: decode, score with the docstring gain, test every pair.

Every pair of the split is evaluated, also those longer than the training limits; `results.py` writes what
comes out.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import Config
from ..data.batching import EncodedDataset, encode_records
from ..data.records import load_records, sample_records, training_records
from ..decoding.search import decode_records
from ..errors import UserError
from ..io_utils import read_json, write_json
from ..models import MODEL_NAMES
from ..paths import project_relative, run_paths
from ..runtime import configure_threads, resolve_device, started_in_workers, worker_plan
from ..training.checkpoints import LoadedModel, find_model_checkpoint, load_model
from ..training.losses import loss_by_position, position_labels
from . import metrics
from .baselines import RetrievalBaseline
from .gain import GainScorer, best_constants, derangement, normalise_code
from .results import BASELINE_FOLDERS, table_rows, write_results, write_shipped_examples, write_table

DOC_LENGTH_EDGES = (8, 16, 32)  # docstring tokens: <8, 8-15, 16-31, >=32
CODE_LENGTH_EDGES = (50, 100, 200)  # reference code tokens
BOOTSTRAP_RESAMPLES = 1000
INTERVALS = ("chrf", "chrf_gain", "bleu", "bleu_gain")


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
        "by_docstring_length": by_length(stats, scorer, [e["doc_len"] for e in per_example], DOC_LENGTH_EDGES, seed),
        "by_code_length": by_length(stats, scorer, [e["ref_len"] for e in per_example], CODE_LENGTH_EDGES, seed),
        "per_example": per_example,
        "stats": stats,
    }


def by_length(stats: np.ndarray, scorer: GainScorer, lengths: list[int], edges: tuple[int, ...], seed: int) -> list[dict[str, Any]]:
    """chrF and its length-matched gain per length bucket, with 95% bootstrap intervals over the bucket's examples
    (their own rows of statistics); empty buckets left out."""
    buckets = metrics.length_buckets(lengths, edges)
    rows = []
    for bucket in range(len(edges) + 1):
        part = stats[buckets == bucket]
        if len(part):
            sums = part.sum(axis=0)
            rows.append({"bucket": metrics.bucket_label(bucket, edges), "count": len(part),
                         **{name: float(scorer.metrics[name](sums, len(part))) for name in ("chrf", "chrf_gain")},
                         "ci95": scorer.intervals(part, BOOTSTRAP_RESAMPLES, seed)})
    return rows


CONSTANT_CANDIDATES = 300


def choose_constants(config: Config, results_dir: Path, save: bool = True, train: list[dict] | None = None) -> dict[str, Any]:
    """The best constant outputs by chrF and by BLEU: a seeded sample of training functions, scored on validation alone.

    The choice is kept in `results_dir/constants.json` (`save`) and reused while the seed and the number of
    candidates match. `train`: the training records when the caller has them already.
    """
    path = results_dir / "constants.json"
    if path.is_file():
        saved = read_json(path)
        if saved.get("seed") == config.seed and saved.get("candidates") == CONSTANT_CANDIDATES:
            return saved
    train = training_records(config) if train is None else train
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
    constants = choose_constants(config, results_dir, save, train)
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


def decode_model(job: tuple[str, Path, Config, list[dict], str, bool]) -> tuple[list[str], dict[str, Any]]:
    """Decode the records with one trained model: (name, checkpoint, config, records, split, progress bar) -> its code
    strings in split order and what its results file records besides their scores (a worker process's job)."""
    name, checkpoint, config, records, split, progress = job
    paths, device = run_paths(config), resolve_device(config.device)
    loaded = load_model(checkpoint, device)
    started = time.perf_counter()
    decoded = decode_records(loaded.model, records, config.decoding, loaded.preprocessor, device,
                             desc=f"decode {name}" if progress else None)
    hypotheses = [loaded.preprocessor.decode_tgt(tokens) for tokens, _ in decoded]
    return hypotheses, {
        "split": split,
        "checkpoint": project_relative(loaded.path, paths.root),
        "config": config.to_dict(),
        "training_config": loaded.config,
        "decoding": asdict(config.decoding),
        "parameters": sum(p.numel() for p in loaded.model.parameters() if p.requires_grad),
        "train_seconds": loaded.train_seconds,
        "epochs": len(loaded.history),
        "sentences_per_second": len(records) / max(time.perf_counter() - started, 1e-9),  # decoding, detokenizing
        "threads": torch.get_num_threads(),
        **teacher_forced_losses(loaded, records, config, config.seed, device),
    }


Decoded = Iterator[tuple[str, tuple[list[str], dict[str, Any]]]]  # (model, what decode_model returns), in any order


@contextmanager
def _decoded_in_workers(config: Config, names: list[str], records: list[dict], split: str) -> Iterator[Decoded]:
    """Each model's `decode_model` result, decoded in worker processes (`worker_plan`) started on entry."""
    workers, threads = worker_plan(config, len(names))
    order = sorted(names, key=MODEL_NAMES.index, reverse=True)  # the costliest (attention) first
    # each checkpoint is found here: a model that is not trained stops the evaluation before any results are written
    paths = run_paths(config)
    jobs = [(n, find_model_checkpoint(paths.run_dir, n, config.profile), config, records, split, workers == 1) for n in order]
    with started_in_workers(decode_model, jobs, workers, threads) as decoded:  # the caller scores meanwhile
        yield zip(order, decoded)


def evaluate_models(
    config: Config, names: list[str], split: str = "test", max_examples: int | None = None,
    out_dir: Path | None = None, baselines: bool = True, records: list[dict] | None = None, decoded: Decoded | None = None,
) -> str:
    """Evaluate models (and baselines) on a split, or on `records` given; write results, tables and significance;
    return the Markdown table. The models are decoded here in worker processes, or by the caller (`decoded`)."""
    paths = run_paths(config)
    configure_threads(config)
    if records is None:
        records = sample_records(load_records(config, split), max_examples)  # the same pairs for every config
    out_dir = out_dir or (paths.results_dir if split == "test" else paths.results_dir / split)
    if len(records) < 2:
        raise UserError(f"{len(records)} pair(s) to evaluate; the docstring gain compares each output with other pairs' "
                        "code, so evaluate at least 2")
    summary_of, stats, examples = {}, {}, {}
    with nullcontext(decoded) if decoded is not None else _decoded_in_workers(config, names, records, split) as decoded:
        scorer = GainScorer([r["func_code_string"] for r in records], seed=config.seed)
        found = evaluate_baselines(config, records, paths.results_dir, save=out_dir == paths.results_dir) if baselines else {}
        # (system, outputs, results folder, extras): the baselines, then each model once its worker has returned it
        baseline_runs = ((b, outputs, BASELINE_FOLDERS[b], {"split": split}) for b, outputs in found.items())
        model_runs = ((name, hypotheses, name, extra) for name, (hypotheses, extra) in decoded)
        for system, hypotheses, folder, extra in itertools.chain(baseline_runs, model_runs):
            scored = score(hypotheses, records, scorer, config.seed)
            stats[system] = scored["stats"]
            summary_of[system], examples[system] = write_results(
                out_dir / folder / "evaluation_results.json", system, scored, records, hypotheses, extra)
            m = scored["metrics"]
            print(f"[evaluate] {system}: chrF {m['chrf']:.2f}, length-matched chrF gain {m['chrf_gain']:.2f}, "
                  f"BLEU {m['bleu']:.2f}, compiles {100 * m['compiles']:.1f}% on {len(records)} {split} pairs")
    systems = [*names, *found]  # the models in the order asked, then the baselines
    summaries = [summary_of[system] for system in systems]
    write_json(out_dir / f"significance_{split}.json", _significance({s: stats[s] for s in systems}, scorer, config.seed))
    write_json(out_dir / f"summary_{split}.json", summaries)
    write_shipped_examples(out_dir / f"examples_{split}.jsonl.gz", {system: examples[system] for system in systems})
    table_dirs = [out_dir, paths.figures_dir] if out_dir == paths.results_dir else [out_dir]
    return write_table(table_rows(summaries), table_dirs, stem="comparison" if split == "test" else f"comparison_{split}")
