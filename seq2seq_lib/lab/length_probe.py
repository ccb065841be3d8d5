"""Why are some models' outputs short? Decode a seeded validation sample under one search change at a time.

    python -m seq2seq_lib.lab.length_probe --profile quick
    python -m seq2seq_lib.lab.length_probe --variants min-length --sample 1000 --run-dir /path/to/runs/quick-seed1234

For each model and each variant of the profile's decoding in the chosen set (`one-change`: the profile itself,
greedy, no n-gram blocking, no length penalty, `<eos>` forbidden until the predicted length, no syntax guard;
`min-length`: `<eos>` forbidden before a fraction of the predicted length; `eos-penalty`: greedy and several
`<eos>` penalties), it records how long the outputs
are against the references and the length model's targets, how many end within 2 pieces of their target,
chrF with its length-matched docstring gain, and how many compile. Writes `results/<profile>/length_probe.{json,md}`. Validation only:
the test split is never read.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import Config, DecodingConfig, load_config, profile_config_path
from ..data.batching import encode_records, make_loader
from ..data.preprocess import record_fields
from ..data.records import load_records, sample_records
from ..decoding.search import decode_records
from ..errors import UserError
from ..evaluation.gain import GainScorer
from ..evaluation.metrics import compiles
from ..evaluation.results import format_markdown
from ..io_utils import write_json, write_text
from ..models import MODEL_NAMES
from ..paths import project_relative, run_paths
from ..training.checkpoints import LoadedModel, find_model_checkpoint, load_model

SAMPLE = 300
NEAR_TARGET = 2  # pieces: an output this close to its length target "ended at the target"
FORBIDDEN = 1e9  # an <eos> penalty no hypothesis can pay
MIN_LENGTH_FRACTIONS = (0.5, 0.7, 0.85, 1.0)
EOS_PENALTIES = (2.0, 4.0, 6.0, 8.0)


def variants(decoding: DecodingConfig) -> dict[str, DecodingConfig]:
    """The profile's decoding and one change to it per entry."""
    return {
        "profile": decoding,
        "greedy": replace(decoding, method="greedy"),
        "no n-gram blocking": replace(decoding, no_repeat_ngram=0),
        "no length penalty (alpha 0)": replace(decoding, length_penalty=0.0),
        "length penalty alpha 1": replace(decoding, length_penalty=1.0),
        "<eos> forbidden before the target": replace(decoding, eos_penalty=FORBIDDEN),
        "no syntax guard": replace(decoding, syntax_guard=False),
    }


def min_length_variants(decoding: DecodingConfig) -> dict[str, DecodingConfig]:
    """The profile's decoding and a hard minimum length instead: `<eos>` forbidden before a fraction of the target."""
    found = {"profile": decoding}
    for fraction in MIN_LENGTH_FRACTIONS:
        found[f"<eos> forbidden before {fraction:g} x target"] = replace(
            decoding, eos_penalty=FORBIDDEN, length_target=True, target_scale=fraction)
    return found


def eos_penalty_variants(decoding: DecodingConfig) -> dict[str, DecodingConfig]:
    """Greedy search and the profile's beam search under several `<eos>` penalties before the target."""
    found = {"greedy": replace(decoding, method="greedy")}
    for penalty in EOS_PENALTIES:
        found[f"<eos> penalty {penalty:g} before the target"] = replace(decoding, eos_penalty=penalty)
    return found


VARIANT_SETS = {"one-change": variants, "min-length": min_length_variants, "eos-penalty": eos_penalty_variants}


def targets(loaded: LoadedModel, records: list[dict]) -> np.ndarray:
    """The length model's predicted output length (target pieces) per record, in record order."""
    pre = loaded.preprocessor
    dataset, _ = encode_records(records, pre)
    predicted = np.zeros(len(records))
    for batch in make_loader(dataset, 64, shuffle=False, seed=0):
        values = pre.length_model.predict(batch.src, batch.src_lengths)  # (B,)
        for position, value in zip(batch.indices.tolist(), values.tolist()):
            predicted[dataset.indices[position]] = value
    return predicted


def probe(loaded: LoadedModel, options: DecodingConfig, records: list[dict], scorer: GainScorer,
          predicted: np.ndarray) -> dict[str, Any]:
    """Lengths and scores of one model under one decoding on the sample."""
    pre = loaded.preprocessor
    started = time.perf_counter()
    decoded = decode_records(loaded.model, records, options, pre, torch.device("cpu"))
    seconds = time.perf_counter() - started
    lengths = np.array([len(tokens) for tokens, _ in decoded])
    references = np.array([len(pre.encode_tgt(record_fields(r)[1])) for r in records])
    outputs = [pre.decode_tgt(tokens) for tokens, _ in decoded]
    scores = scorer.scores(scorer.stats(outputs))
    return {
        "mean pieces": round(float(lengths.mean()), 1),
        "length ratio": round(float(lengths.sum() / references.sum()), 2),
        "vs target": round(float(lengths.sum() / predicted.sum()), 2),
        "ended at target %": round(100 * float(np.mean(np.abs(lengths - predicted) <= NEAR_TARGET)), 1),
        "at max_len %": round(100 * float(np.mean(lengths >= options.max_len)), 1),
        "chrF": round(scores["chrf"], 2),
        "chrF gain": round(scores["chrf_gain"], 2),
        "compiles %": round(100 * float(np.mean([compiles(code) for code in outputs])), 1),
        "seconds": round(seconds, 1),
    }


def probed_checkpoint(config: Config, name: str, run_dir: str | None) -> Path:
    """The checkpoint a model is probed from: `run_dir`/<name>/checkpoint.pt, else the profile's run or shipped weights."""
    if run_dir is None:
        return find_model_checkpoint(run_paths(config).run_dir, name, config.profile)
    checkpoint = Path(run_dir) / name / "checkpoint.pt"
    if not checkpoint.is_file():  # a given folder is never silently replaced by the shipped weights
        raise UserError(f"no {checkpoint}: --run-dir needs <model>/checkpoint.pt for every model probed")
    return checkpoint


def run_probe(profile: str = "quick", sample: int = SAMPLE, models: tuple[str, ...] = MODEL_NAMES,
              variant_set: str = "one-change", run_dir: str | None = None, out_name: str = "length_probe") -> str:
    """Decode a seeded validation sample with every model and variant; write and return the table."""
    config = load_config(profile_config_path(profile))
    source = run_dir or "the profile's run or its shipped weights"
    checkpoints = {name: probed_checkpoint(config, name, run_dir) for name in models}  # checked before any work
    records = sample_records(load_records(config, "valid"), sample, config.seed)
    scorer = GainScorer([record_fields(r)[1] for r in records], seed=config.seed)
    rows = []
    for name, checkpoint in checkpoints.items():
        print(f"{name}: {project_relative(checkpoint)}", flush=True)
        loaded = load_model(checkpoint)
        predicted = targets(loaded, records)
        reference_pieces = np.array([len(loaded.preprocessor.encode_tgt(record_fields(r)[1])) for r in records])
        for label, options in VARIANT_SETS[variant_set](config.decoding).items():
            row = {"model": name, "decoding": label, **probe(loaded, options, records, scorer, predicted)}
            rows.append(row)
            print(row, flush=True)
    table = format_markdown(rows)
    header = (f"Output lengths under the decodings of the '{variant_set}' set ({profile} models from {source}, "
              f"seed {config.seed}, {len(records)} seeded validation pairs). Reference mean "
              f"{reference_pieces.mean():.1f} pieces, length model's mean target {predicted.mean():.1f}. "
              f"*vs target*: output pieces over the predicted lengths; *ended at target*: within {NEAR_TARGET} pieces "
              "of it; chrF gain: length-matched, on this sample.\n\n")
    out = run_paths(config).results_dir
    write_json(out / f"{out_name}.json", {"profile": profile, "seed": config.seed, "pairs": len(records),
                                          "variants": variant_set,
                                          "checkpoints": {n: project_relative(c) for n, c in checkpoints.items()},
                                          "rows": rows})
    write_text(out / f"{out_name}.md", header + table)
    return header + table


def main() -> None:
    """Command line: --profile, --sample, --models, --variants, --run-dir, --out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--sample", type=int, default=SAMPLE)
    parser.add_argument("--models", nargs="+", default=list(MODEL_NAMES), choices=MODEL_NAMES)
    parser.add_argument("--variants", default="one-change", choices=sorted(VARIANT_SETS))
    parser.add_argument("--run-dir", default=None, help="folder of <model>/checkpoint.pt (default: the profile's run)")
    parser.add_argument("--out", default="length_probe", help="results/<profile>/<out>.{json,md}")
    args = parser.parse_args()
    print(run_probe(args.profile, args.sample, tuple(args.models), args.variants, args.run_dir, args.out))


if __name__ == "__main__":
    main()
