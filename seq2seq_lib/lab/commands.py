"""The lab's commands on the command line: `python -m seq2seq_lib bench`, `seeds` and `ablate`.

`seq2seq_lib.cli` adds them to its parser; each imports its lab module only when it runs, so `--help` stays fast.
"""

from __future__ import annotations

import argparse

MODEL_NAMES = ("rnn", "lstm", "attention")  # as seq2seq_lib.models (not imported: it pulls in torch)


def cmd_bench(args: argparse.Namespace) -> None:
    """Benchmark the profile's models against plain tutorial-style references; prints the report."""
    from .bench import markdown_report, run_benchmark

    print(markdown_report(run_benchmark(quick=args.quick, out_dir=args.out, num_threads=args.threads, strict=args.strict)))


def cmd_seeds(args: argparse.Namespace) -> None:
    """Train and evaluate a profile with several seeds and report the spread."""
    from .seeds import run_seeds

    print(run_seeds(args.profile, args.seeds, split=args.split, max_examples=args.max_examples, models=args.models))


def cmd_ablate(args: argparse.Namespace) -> None:
    """One change at a time against a profile; writes results/<profile>/ablation.md."""
    from pathlib import Path

    from .ablation import run_ablation, write_ablation_summary

    print(write_ablation_summary() if args.summary else run_ablation(Path(args.spec), stage=args.stage, jobs=args.jobs))


def add_lab_commands(commands: argparse._SubParsersAction) -> None:
    """Add the bench, seeds and ablate subcommands to the command line's subparsers."""
    bench = commands.add_parser("bench", help="speed against plain reference implementations")
    bench.add_argument("--quick", action="store_true", help="a shorter run (a few minutes)")
    bench.add_argument("--out", default="results/bench", help="where the JSON and Markdown go")
    bench.add_argument("--threads", type=int, default=1, help="torch threads (the demo's and one evaluation worker's)")
    bench.add_argument("--strict", action="store_true", help="refuse to run on a busy machine instead of warning")
    bench.set_defaults(func=cmd_bench)

    seeds = commands.add_parser("seeds", help="the spread of the results over several seeds")
    seeds.add_argument("--profile", default="quick", choices=("smoke", "quick", "full"))
    seeds.add_argument("--seeds", type=int, nargs="+", default=[1234, 1, 2])
    seeds.add_argument("--split", default="test")
    seeds.add_argument("--models", nargs="+", choices=MODEL_NAMES, help="only these models (default: the profile's)")
    seeds.add_argument("--max-examples", type=int, help="evaluate a fixed random sample of N pairs (quick checks)")
    seeds.set_defaults(func=cmd_seeds)

    ablate = commands.add_parser("ablate", help="one change at a time against a profile, scored on validation")
    ablate.add_argument("--spec", default="seq2seq_lib/lab/specs/dropout.yaml", help="the variants to run")
    ablate.add_argument("--stage", default="all", choices=("all", "train", "score"),
                        help="train: only train the rows (e.g. on a GPU machine); score: only score trained rows")
    ablate.add_argument("--jobs", type=int, default=1, help="rows trained at once by --stage train (one process each)")
    ablate.add_argument("--summary", action="store_true", help="only write results/quick/ablation_summary.md from the tables")
    ablate.set_defaults(func=cmd_ablate)
