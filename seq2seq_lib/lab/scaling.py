"""How the quick models' training step scales: one thread, two threads, or two processes of one thread side by side.

`python -m seq2seq_lib.lab.scaling` times the recipe's training step (the bench's `train_step` with our loss) on
8 real bucketed batches per model, shipped weights, and writes `results/bench/scaling.{json,md}`: target pieces
per second at 1 and at 2 torch threads in this process, and per process while two processes of one thread each
train at once (the attention model in one, the RNN then the LSTM in the other, as `training.workers` runs them).
`--end-to-end PAIRS` also times `train_models` itself on PAIRS training pairs for one epoch, alternating the three
models one after the other in one process and side by side. What it measures decides `worker_plan`'s default: a
process per core when two of them beat one process of two threads.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch

from ..config import PROJECT_ROOT, load_config, profile_config_path
from ..io_utils import write_json, write_text
from ..paths import git_commit
from ..runtime import run_in_workers, use_bf16_output
from .bench import bench_records, ours_loss, real_batches, recipe_models, target_pieces, train_step

BATCHES = 8


def pieces_per_second(job: tuple[list[str], int]) -> dict[str, float]:
    """Median target pieces per second of each named model's training step over `rounds` passes of its batches."""
    names, rounds = job
    config = load_config(profile_config_path("quick"))
    records, speeds = bench_records(None), {}
    for name, loaded in recipe_models(config).items():
        if name not in names:
            continue
        model = loaded.model.float().train()
        batches = real_batches(records, loaded.preprocessor, config, BATCHES, seed=0)
        bf16 = use_bf16_output(config.training.bf16_output, torch.device("cpu"))
        loss, optimizer = ours_loss(model, bf16), torch.optim.Adam(model.parameters(), lr=1e-4)
        train_step(loss, optimizer, batches[0])  # warm-up
        pieces = sum(target_pieces(b) for b in batches)
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            for batch in batches:
                train_step(loss, optimizer, batch)
            times.append(time.perf_counter() - started)
        speeds[name] = pieces / statistics.median(times)
    return speeds


def measure(rounds: int) -> dict[str, object]:
    """Pieces/s per model at 1 and 2 threads, and per process with two one-thread processes training at once."""
    results: dict[str, object] = {"commit": git_commit(), "cpus": os.cpu_count(), "rounds": rounds,
                                  "load_at_start": os.getloadavg()[0], "torch": torch.__version__}
    names = ["rnn", "lstm", "attention"]
    previous = torch.get_num_threads()
    for threads in (1, 2):
        torch.set_num_threads(threads)
        results[f"{threads}_thread"] = pieces_per_second((names, rounds))
    torch.set_num_threads(previous)
    side_by_side = run_in_workers(pieces_per_second, [(["attention"], rounds), (["rnn", "lstm"], rounds)], 2, 1)
    results["2_processes_1_thread"] = {**side_by_side[1], **side_by_side[0]}
    return results


def end_to_end(order: list[str], pairs: int) -> list[dict[str, object]]:
    """`train_models` on `pairs` quick training pairs for one epoch, the three models one after the other in this
    process ("one", torch's threads) or side by side ("side", `training.workers` 0), in the given order of runs; a
    mode ending in "-bf16" trains with `training.bf16_output` true."""
    from ..pipeline import train_models  # the training loop only when asked

    runs = []
    for mode in order:
        config = load_config(profile_config_path("quick"), {
            "profile": "scaling", "data.max_train_pairs": pairs, "training.epochs": 1,
            "training.workers": 1 if mode.startswith("one") else 0, "training.bf16_output": mode.endswith("-bf16")})
        started = time.perf_counter()
        trained = train_models(config, ["rnn", "lstm", "attention"], force=True, progress=False)
        runs.append({"mode": mode, "wall_s": round(time.perf_counter() - started, 1),
                     "train_s": {n: round(r.train_seconds, 1) for n, r in trained.items()},
                     "valid_loss": {n: round(r.best_valid_loss, 4) for n, r in trained.items()}})
    return runs


def markdown(results: dict[str, object]) -> str:
    """The measurements as a table, with what they imply for one epoch of the three models."""
    one, two, procs = results["1_thread"], results["2_thread"], results["2_processes_1_thread"]
    lines = [f"# Training-step scaling (quick models, shipped weights, commit {results['commit']}, {results['cpus']} CPUs, "
             f"load {results['load_at_start']:.2f} at the start, medians of {results['rounds']} rounds of {BATCHES} batches)",
             "", "| model | 1 thread (pieces/s) | 2 threads | 2 threads / 1 | one of 2 processes, 1 thread each |",
             "|---|---:|---:|---:|---:|"]
    lines += [f"| {m} | {one[m]:.0f} | {two[m]:.0f} | {two[m] / one[m]:.2f}x | {procs[m]:.0f} |" for m in one]
    sequential = sum(1 / two[m] for m in two)  # seconds per piece of each model, one after the other at 2 threads
    parallel = max(1 / procs["attention"], 1 / procs["rnn"] + 1 / procs["lstm"])  # attention beside RNN then LSTM
    lines += ["", f"Time for the same pieces of all three models: one process of 2 threads, one model after the other, "
              f"against attention in one process beside the RNN then the LSTM in another: {sequential / parallel:.2f}x "
              "faster side by side."]
    if results.get("end_to_end"):
        lines += ["", "End to end (`train_models`, one epoch, data preparation and validation included; the first run also "
                  "fits the preprocessor):", "", "| run | models | wall (s) | training s (rnn / lstm / attention) |",
                  "|---|---|---:|---|"]
        lines += [f"| {i + 1} | {'one after the other' if r['mode'].startswith('one') else 'side by side'}"
                  f"{', bfloat16 output layer' if r['mode'].endswith('-bf16') else ''} | {r['wall_s']} | "
                  f"{' / '.join(str(r['train_s'][m]) for m in ('rnn', 'lstm', 'attention'))} |"
                  for i, r in enumerate(results["end_to_end"])]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Measure and write results/bench/scaling.{json,md}; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--end-to-end", type=int, metavar="PAIRS", help="also train on PAIRS pairs, side by side and not")
    parser.add_argument("--bf16", action="store_true", help="end to end: side by side in float32 against bfloat16 "
                        "output products (training.bf16_output) instead of side by side against one after the other")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "results" / "bench")
    args = parser.parse_args()
    results = measure(args.rounds)
    if args.end_to_end:
        other = "side-bf16" if args.bf16 else "one"
        results["end_to_end"] = end_to_end(["side", other, "side", other], args.end_to_end)
    stem = "scaling_bf16" if args.bf16 else "scaling"
    write_json(args.out / f"{stem}.json", results)
    write_text(args.out / f"{stem}.md", markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
