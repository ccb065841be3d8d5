"""Attention statistics over a split: how spread out each output step's attention is, and how often it copies.

    python -m seq2seq_lib.lab.attention_stats --profile quick

writes `results/<profile>/attention_summary.json` and two figures beside the heatmaps. The statistics are
pure functions of a (T, S) attention matrix (row t: the weights of output step t over the S source tokens).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ..config import PROJECT_ROOT, Config, load_config, profile_config_path
from ..course.visualize import SRC_EOS, STYLE, decode_examples, new_figure, save_figure
from ..data.records import load_records
from ..evaluation.metrics import bucket_label, length_buckets
from ..io_utils import write_json
from ..paths import run_paths
from ..runtime import resolve_device
from ..training.checkpoints import find_model_checkpoint, load_model

LENGTH_EDGES = (8, 16, 32)  # docstring tokens: <8, 8-15, 16-31, >=32 (as in evaluation)
SUMMARY_CAP = {"smoke": 100, "quick": 500, "full": 1000}  # examples decoded for the statistics


def _rows(matrix: np.ndarray) -> np.ndarray:
    """The matrix as a float (T, S) array with S >= 1."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        raise ValueError(f"attention must be a (T, S) matrix with S >= 1, got shape {matrix.shape}")
    return matrix


def attention_entropy(matrix: np.ndarray) -> np.ndarray:
    """Entropy in nats of each row of a (T, S) attention matrix -> (T,); 0 log 0 counts as 0."""
    p = _rows(matrix)
    logs = np.log(np.where(p > 0, p, 1.0))
    return -(p * logs).sum(axis=1)


def uniform_entropy(src_len: int) -> float:
    """Entropy of uniform attention over src_len tokens: log(S), the largest possible."""
    return math.log(src_len)


def normalized_entropy(matrix: np.ndarray) -> np.ndarray:
    """Row entropies divided by log(S) -> (T,) in [0, 1]: 1 = uniform, 0 = one token (0 when S = 1)."""
    p = _rows(matrix)
    top = uniform_entropy(p.shape[1])
    return attention_entropy(p) / top if top > 0 else np.zeros(p.shape[0])


def max_weight(matrix: np.ndarray) -> np.ndarray:
    """Largest weight of each row -> (T,): 1/S for uniform attention, 1 for one-hot."""
    return _rows(matrix).max(axis=1)


def _normalize_piece(token: str) -> str:
    """A token compared by its letters and digits only, lower case (`##_user` -> `user`, `"` -> ``)."""
    return "".join(ch for ch in token.lower() if ch.isalnum())


def copied_steps(matrix: np.ndarray, src_tokens: Sequence[str], tgt_tokens: Sequence[str]) -> np.ndarray:
    """(T,) bool: the code piece of step t equals or contains the docstring token it attends to most.

    Tokens are compared by their lower-cased letters and digits (so `##_user` matches `user` and
    `userName` contains `name`); a docstring token without letters or digits (punctuation, `<eos>`)
    is never copied, and containment needs at least 3 characters (`a` is not copied into `data`).
    """
    p = _rows(matrix)
    if p.shape != (len(tgt_tokens), len(src_tokens)):
        raise ValueError(f"attention is {p.shape} but there are {len(tgt_tokens)} code and {len(src_tokens)} docstring tokens")
    out = np.zeros(p.shape[0], dtype=bool)
    for t, s in enumerate(p.argmax(axis=1)):
        word = "" if src_tokens[s] in (SRC_EOS, "<unk>") else _normalize_piece(src_tokens[s])
        piece = _normalize_piece(tgt_tokens[t])
        out[t] = bool(word) and (piece == word or (len(word) >= 3 and word in piece))
    return out


def example_stats(matrix: np.ndarray, src_tokens: Sequence[str], tgt_tokens: Sequence[str]) -> dict[str, float]:
    """Per-example averages over output steps: entropy (nats), normalized entropy, max weight, copy rate."""
    p = _rows(matrix)
    if p.shape[0] == 0:
        raise ValueError("attention has no output steps")
    return {
        "src_len": p.shape[1],
        "tgt_len": p.shape[0],
        "entropy": float(attention_entropy(p).mean()),
        "uniform_entropy": uniform_entropy(p.shape[1]),
        "normalized_entropy": float(normalized_entropy(p).mean()),
        "max_weight": float(max_weight(p).mean()),
        "copy_rate": float(copied_steps(p, src_tokens, tgt_tokens).mean()),
    }


STAT_KEYS = ("entropy", "uniform_entropy", "normalized_entropy", "max_weight", "copy_rate")


def _means(rows: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Mean of every statistic over rows, with their count."""
    return {"count": len(rows), **{key: float(np.mean([r[key] for r in rows])) for key in STAT_KEYS}}


def summarize_stats(per_example: Sequence[Mapping[str, float]], edges: Sequence[int] = LENGTH_EDGES) -> dict[str, Any]:
    """Overall means and means per docstring-length bucket (docstring length = src_len without <eos>)."""
    if not per_example:
        raise ValueError("no examples to summarize")
    buckets: dict[str, list[Mapping[str, float]]] = {}
    order = [bucket_label(b, edges) for b in range(len(edges) + 1)]
    for row, bucket in zip(per_example, length_buckets([int(r["src_len"]) - 1 for r in per_example], edges)):
        buckets.setdefault(bucket_label(bucket, edges), []).append(row)
    return {
        "overall": _means(per_example),
        "by_docstring_length": [{"bucket": b, **_means(buckets[b])} for b in order if b in buckets],
    }


def plot_entropy_vs_length(per_example: Sequence[Mapping[str, float]], title: str = "Attention entropy vs docstring length") -> Figure:
    """Scatter of each example's mean attention entropy against its source length, with log(S) for reference."""
    lengths = np.array([r["src_len"] for r in per_example])
    fig = new_figure(9.0, 6.0)
    with matplotlib.rc_context(STYLE):
        ax = fig.add_subplot()
        ax.scatter(lengths, [r["entropy"] for r in per_example], s=22, alpha=0.5, label="mean over output steps")
        grid = np.arange(1, lengths.max() + 1)
        ax.plot(grid, np.log(grid), color="black", linestyle="--", linewidth=2, label="uniform attention, log(S)")
        ax.set_xlabel("source length S (docstring tokens + <eos>)")
        ax.set_ylabel("attention entropy (nats)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


def plot_stats_by_length(summary: Mapping[str, Any], title: str = "Attention statistics by docstring length") -> Figure:
    """Three panels of bars per length bucket: normalized entropy, mean max weight, copy rate (%)."""
    rows = summary["by_docstring_length"]
    labels = [f"{r['bucket']}\n(n={r['count']})" for r in rows]
    panels = (
        ("normalized_entropy", 1.0, "entropy / log(S)  (1 = uniform)"),
        ("max_weight", 1.0, "mean maximum weight (0-1)"),
        ("copy_rate", 100.0, "steps copying the top token (%)"),
    )
    fig = new_figure(17.0, 5.5)
    with matplotlib.rc_context(STYLE):
        for ax, (key, scale, ylabel) in zip(fig.subplots(1, 3), panels):
            ax.bar(range(len(rows)), [scale * r[key] for r in rows], color="tab:blue")
            ax.set_xticks(range(len(rows)), labels)
            ax.set_xlabel("docstring length (tokens)")
            ax.set_ylabel(ylabel)
            ax.set_ylim(0, scale)
            ax.grid(axis="y", alpha=0.3)
        fig.suptitle(title, fontsize=STYLE["axes.titlesize"] + 2)
    return fig


def attention_summary(config: Config, split: str = "test", max_examples: int | None = None, root: Path | None = None) -> dict:
    """Statistics of the attention model's first `max_examples` outputs on a split (default SUMMARY_CAP[profile]):
    written to <results_dir>/attention_summary.json, plotted beside the heatmaps; returns the summary."""
    paths = run_paths(config, root or PROJECT_ROOT)
    device = resolve_device(config.device)
    loaded = load_model(find_model_checkpoint(paths.run_dir, "attention", config.profile), device)
    cap = max_examples if max_examples is not None else SUMMARY_CAP.get(config.profile, 500)
    decoded = [e for e in decode_examples(loaded, load_records(config, split)[:cap], config, device) if e.tgt_tokens]
    per_example = [example_stats(e.attention, e.src_tokens, e.tgt_tokens) for e in decoded]
    checkpoint = loaded.path.relative_to(paths.root) if loaded.path.is_relative_to(paths.root) else loaded.path
    summary = {"split": split, "examples": len(per_example), "decoding": asdict(config.decoding),
               "checkpoint": str(checkpoint), **summarize_stats(per_example)}
    write_json(paths.results_dir / "attention_summary.json", summary)
    out_dir = paths.figures_dir / "attention"
    save_figure(plot_entropy_vs_length(per_example), out_dir / "attention_entropy_vs_length.png", config.profile, config.seed)
    save_figure(plot_stats_by_length(summary), out_dir / "attention_stats_by_length.png", config.profile, config.seed)
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick", choices=("smoke", "quick", "full"))
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    print(attention_summary(load_config(profile_config_path(args.profile)), args.split)["overall"])
