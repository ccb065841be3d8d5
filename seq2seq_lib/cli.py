"""Command line: `python -m seq2seq_lib <command>`, mirroring what the notebooks do.

    data build                   build the corpus from pinned packages
    train                        train one model or all (--model rnn|lstm|attention|all)
    evaluate                     evaluate checkpoints and baselines on a split
    generate "DOCSTRING"         the code a trained model writes for a docstring (--attention: what it looked at)
    visualize                    attention heatmaps of a few examples
    bench                        speed against plain reference implementations
    ablate                       one change at a time against a profile, on the validation split
    seeds                        the spread of a profile's results over several seeds
    run-all                      the whole pipeline of a profile (what run_all.sh calls)

Bad input ends with one line on stderr naming the problem and the fix, and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .errors import UserError
from .lab.commands import add_lab_commands

MODEL_CHOICES = ("rnn", "lstm", "attention", "all")


def _add_config_args(parser: argparse.ArgumentParser) -> None:
    """--config / --profile / --seed, shared by the commands that read an experiment config."""
    parser.add_argument("--config", help="YAML config (default: configs/<profile>.yaml)")
    parser.add_argument("--profile", default="quick", help="smoke, quick or full (used when --config is absent)")
    parser.add_argument("--seed", type=int, help="override the config's seed")


def _config_from_args(args: argparse.Namespace):  # -> Config (import kept lazy for a fast --help)
    """Load the config named by --config or --profile, with --seed applied."""
    from .config import load_config, profile_config_path

    path = args.config or profile_config_path(args.profile)
    overrides = {"seed": args.seed} if args.seed is not None else {}
    return load_config(path, overrides)


def _model_names(choice: str, config) -> list[str]:
    """The models a --model argument names ('all' means the config's list)."""
    return list(config.models) if choice == "all" else [choice]


def cmd_data(args: argparse.Namespace) -> None:
    """`data build`: the corpus from the pinned packages (notebook 01 describes it)."""
    from .data import corpus

    corpus.build_corpus(args.packages, args.out, args.cache, jobs=args.jobs, manifest_path=corpus.committed_manifest(args.out),
                        training_packages_file=args.training_packages)


def cmd_train(args: argparse.Namespace) -> None:
    """Train the named models of a config."""
    from .pipeline import train_models

    config = _config_from_args(args)
    train_models(config, _model_names(args.model, config), force=args.force)


def cmd_evaluate(args: argparse.Namespace) -> None:
    """Evaluate models (and baselines) on a split and write results and the comparison table."""
    from dataclasses import replace

    from .data.pairs import check_out_dir, read_pairs
    from .evaluation.evaluate import evaluate_models

    config = _config_from_args(args)
    if args.beam is not None or args.greedy:  # other search options: a config of your own (--config)
        beam = {"beam_width": args.beam} if args.beam is not None else {}
        config.decoding = replace(config.decoding, method="greedy" if args.greedy else "beam", **beam)

    records = None
    out_dir = check_out_dir(args.out, config) if args.out is not None else None
    if args.pairs is not None:
        if args.out is None:
            raise UserError("--pairs needs --out DIR: where the results of your pairs go")
        records = read_pairs(args.pairs)
    table = evaluate_models(
        config, _model_names(args.model, config), split="pairs" if records is not None else args.split,
        max_examples=args.max_examples, records=records, out_dir=out_dir,
    )
    print(table)


def cmd_generate(args: argparse.Namespace) -> None:
    """Print the code a model writes for a docstring, the demo's notes and, on request, the attention as text."""
    from .course.demo import generate_code

    result = generate_code(args.docstring, model_name=args.model, beam_width=args.beam, profile=args.profile)
    print(result.code)
    for note in result.notes():
        print(f"# note: {note}")
    if args.attention and result.attention is not None:
        for piece, weights in zip(result.tgt_tokens, result.attention):  # (S,) per generated piece
            top = weights.argsort()[::-1][:3]
            print(f"# {piece!r:>16} <- " + ", ".join(f"{result.src_tokens[s]} {weights[s]:.2f}" for s in top))
    elif args.attention:
        print(f"# note: the {result.model_name} model has no attention; use --model attention")


def cmd_visualize(args: argparse.Namespace) -> None:
    """Attention heatmaps of a few examples of a split."""
    from .course.visualize import visualize_attention

    config = _config_from_args(args)
    visualize_attention(config, num_examples=args.num_examples, split=args.split)


def cmd_run_all(args: argparse.Namespace) -> None:
    """The whole pipeline of a profile."""
    from .pipeline import run_all

    run_all(args.profile, force=args.force, skip_notebooks=args.skip_notebooks)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(prog="python -m seq2seq_lib", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="build the corpus")
    data.add_argument("action", choices=("build",))
    data.add_argument("--packages", default="data/packages.txt", help="pinned package list")
    data.add_argument("--training-packages", help="more pinned packages, for the training split only (data/packages_full.txt)")
    data.add_argument("--out", default="data/corpus", help="where the splits are written (the manifest goes beside it)")
    data.add_argument("--cache", default="data/cache", help="download cache")
    data.add_argument("--jobs", type=int, default=2, help="parallel processes")
    data.set_defaults(func=cmd_data)

    train = commands.add_parser("train", help="train one model or all")
    _add_config_args(train)
    train.add_argument("--model", default="all", choices=MODEL_CHOICES)
    train.add_argument("--force", action="store_true", help="retrain from scratch instead of resuming")
    train.set_defaults(func=cmd_train)

    evaluate = commands.add_parser("evaluate", help="evaluate trained models and baselines")
    _add_config_args(evaluate)
    evaluate.add_argument("--model", default="all", choices=MODEL_CHOICES)
    evaluate.add_argument("--split", default="test", help="train, valid or test")
    evaluate.add_argument("--beam", type=int, help="beam width (default: the config's decoding)")
    evaluate.add_argument("--greedy", action="store_true", help="greedy decoding")
    evaluate.add_argument("--max-examples", type=int, help="evaluate a fixed random sample of N pairs (quick checks)")
    evaluate.add_argument("--pairs", help="score your own pairs: a JSONL file of {\"docstring\": ..., \"code\": ...} rows")
    evaluate.add_argument("--out", help="write the results here instead of results/<profile>/ (needed with --pairs)")
    evaluate.set_defaults(func=cmd_evaluate)

    generate = commands.add_parser("generate", help="the code a trained model writes for a docstring")
    generate.add_argument("docstring", help='what the function should do, e.g. "Return the maximum value in a list."')
    generate.add_argument("--model", default="attention", choices=MODEL_CHOICES[:-1])
    generate.add_argument("--beam", type=int, default=5, help="beam width (1: greedy)")
    generate.add_argument("--profile", default="quick", help="whose trained weights: smoke, quick or full")
    generate.add_argument("--attention", action="store_true", help="also the three docstring tokens each piece attended to most")
    generate.set_defaults(func=cmd_generate)

    visualize = commands.add_parser("visualize", help="attention heatmaps of a few examples")
    _add_config_args(visualize)
    visualize.add_argument("--num-examples", type=int, default=5)
    visualize.add_argument("--split", default="test")
    visualize.set_defaults(func=cmd_visualize)

    add_lab_commands(commands)  # bench, seeds, ablate: seq2seq_lib/lab/commands.py

    run_all = commands.add_parser("run-all", help="corpus, training, evaluation, notebooks")
    run_all.add_argument("--profile", default="quick", choices=("smoke", "quick", "full"))
    run_all.add_argument("--force", action="store_true", help="retrain models that are already trained")
    run_all.add_argument("--skip-notebooks", action="store_true", help="stop after evaluation")
    run_all.set_defaults(func=cmd_run_all)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; a UserError becomes one line on stderr and exit status 2."""
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished epochs are checkpointed; run the same command again to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
