"""Figures for the course: attention heatmaps and statistics, learning curves, BLEU by length.

Every plot is built on a bare `matplotlib.figure.Figure` (no pyplot state, nothing to close, the
same in a notebook and headless) with large fonts for projection. `save_figure` stamps the footer
"profile=<p>, seed=<s>" on every saved figure. The attention statistics are pure functions of a
(T, S) matrix (row t: the weights of output step t over the S source tokens, summing to 1).
"""

from __future__ import annotations

import io
import itertools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ..config import Config
from ..io_utils import atomic_path, write_json

if TYPE_CHECKING:
    import torch

    from ..training.checkpoints import LoadedModel

STYLE = {
    "font.size": 14,
    "axes.titlesize": 16,
    "axes.labelsize": 15,
    "xtick.labelsize": 13,
    "ytick.labelsize": 13,
    "legend.fontsize": 13,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
LENGTH_EDGES = (8, 16, 32)  # docstring tokens: <8, 8-15, 16-31, >=32 (as in evaluation)
SUMMARY_CAP = {"smoke": 100, "quick": 500, "full": 1000}  # examples decoded for the statistics
MAX_LABEL_CHARS = 14
FOOTER_GID = "profile-seed-footer"
SRC_EOS = "<eos>"  # every encoded source ends with <eos>, so attention rows have S = tokens + 1
METRIC_LABELS = {
    "train_loss": "training loss (nats / token)",
    "valid_loss": "validation loss (nats / token)",
    "valid_ppl": "validation perplexity",
    "valid_token_acc": "validation token accuracy (%)",
    "tokens_per_second": "training speed (tokens / s)",
    "lr": "learning rate",
}
PERCENT_METRICS = ("valid_token_acc",)


# ------------------------------------------------------------------------------------------ figures


def new_figure(width: float, height: float) -> Figure:
    """A blank figure in the course style (large fonts, constrained layout)."""
    with matplotlib.rc_context(STYLE):
        return Figure(figsize=(width, height), layout="constrained")


def save_figure(fig: Figure, path: str | Path, profile: str, seed: int, dpi: int = 120) -> Path:
    """Save a figure atomically with the footer "profile=<p>, seed=<s>" below it; returns the path."""
    path = Path(path)
    for old in [t for t in fig.texts if t.get_gid() == FOOTER_GID]:  # saving twice keeps one footer
        old.remove()
    fig.text(0.995, -0.005, f"profile={profile}, seed={seed}", ha="right", va="top", fontsize=9, color="0.4", gid=FOOTER_GID)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=dpi, bbox_inches="tight")
    return path


def _label(token: str, max_chars: int = MAX_LABEL_CHARS) -> str:
    """A tick label: the token, shortened with an ellipsis when longer than max_chars."""
    return token if len(token) <= max_chars else token[: max_chars - 1] + "…"


def _set_ticks(ax: Any, axis: str, labels: Sequence[str], fontsize: float, max_labels: int) -> None:
    """Label every token of an axis, or every k-th one when there are more than max_labels."""
    step = max(1, math.ceil(len(labels) / max_labels))
    positions = list(range(0, len(labels), step))
    texts = [_label(labels[i]) for i in positions]
    if axis == "x":
        ax.set_xticks(positions, texts, rotation=90, fontsize=fontsize)
    else:
        ax.set_yticks(positions, texts, fontsize=fontsize)


def draw_attention(
    fig: Figure, ax: Any, matrix: np.ndarray, src_tokens: Sequence[str], tgt_tokens: Sequence[str],
    title: str | None = None, max_labels: int = 80, cax: Any = None,
) -> None:
    """Draw a (T, S) attention matrix on ax: docstring tokens across, code tokens down, a colour bar."""
    rows, cols = matrix.shape
    if (rows, cols) != (len(tgt_tokens), len(src_tokens)):
        raise ValueError(f"attention is {rows}x{cols} but there are {len(tgt_tokens)} code and {len(src_tokens)} docstring tokens")
    image = ax.imshow(matrix, aspect="auto", cmap="viridis", vmin=0.0, vmax=max(float(matrix.max(initial=0.0)), 1e-6),
                      interpolation="nearest")
    width_in, height_in = ax.get_position().width * fig.get_figwidth(), ax.get_position().height * fig.get_figheight()
    _set_ticks(ax, "x", src_tokens, float(np.clip(72 * 0.8 * width_in / max(cols, 1), 6, 13)), max_labels)
    _set_ticks(ax, "y", tgt_tokens, float(np.clip(72 * 0.8 * height_in / max(rows, 1), 6, 13)), max_labels)
    ax.set_xlabel("docstring tokens (source)")
    ax.set_ylabel("generated code tokens (output step)")
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title)
    colorbar = fig.colorbar(image, cax=cax) if cax is not None else fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    colorbar.set_label("attention weight (0-1)")


def plot_attention(
    matrix: np.ndarray, src_tokens: Sequence[str], tgt_tokens: Sequence[str], title: str | None = None
) -> Figure:
    """Heatmap figure of one example, sized so every token label stays legible (for saving)."""
    rows, cols = matrix.shape
    width = float(np.clip(3.5 + 0.24 * cols, 7, 22))
    height = float(np.clip(2.5 + 0.2 * rows, 5, 34))
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(width, height), layout="constrained")
        draw_attention(fig, fig.add_subplot(), matrix, src_tokens, tgt_tokens, title, max_labels=200)
    return fig


def attention_png(
    matrix: np.ndarray, src_tokens: Sequence[str], tgt_tokens: Sequence[str],
    size: tuple[float, float] = (7.5, 6.0), dpi: int = 80,
) -> bytes:
    """PNG bytes of a fixed-size heatmap with fixed margins (fast: for the interactive demo)."""
    with matplotlib.rc_context({**STYLE, "font.size": 11, "axes.labelsize": 12}):
        fig = Figure(figsize=size)
        ax = fig.add_axes((0.2, 0.2, 0.66, 0.77))  # room for the rotated docstring tokens and the code pieces
        draw_attention(fig, ax, matrix, src_tokens, tgt_tokens, max_labels=40, cax=fig.add_axes((0.88, 0.2, 0.025, 0.77)))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def plot_learning_curves(
    histories: Mapping[str, Sequence[Mapping[str, float]]], metrics: Sequence[str] = ("train_loss", "valid_loss"),
    title: str | None = "Learning curves",
) -> Figure:
    """One panel per metric, one line per model, from per-epoch history dicts (training.py's history)."""
    fig = new_figure(6.5 * len(metrics), 5.0)
    with matplotlib.rc_context(STYLE):
        axes = fig.subplots(1, len(metrics), squeeze=False)[0]
        for ax, metric in zip(axes, metrics):
            scale = 100.0 if metric in PERCENT_METRICS else 1.0
            for name, history in histories.items():
                epochs = [row["epoch"] for row in history]
                ax.plot(epochs, [scale * row[metric] for row in history], marker="o", linewidth=2.5, label=name)
            ax.set_xlabel("epoch")
            ax.set_ylabel(METRIC_LABELS.get(metric, metric))
            ax.xaxis.get_major_locator().set_params(integer=True)
            ax.grid(alpha=0.3)
        axes[0].legend()
        if title:
            fig.suptitle(title, fontsize=STYLE["axes.titlesize"] + 2)
    return fig


# ------------------------------------------------------------------------------- attention statistics


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


def length_bucket(length: int, edges: Sequence[int] = LENGTH_EDGES) -> str:
    """Bucket label of a length: '<8', '8-15', ..., '>=32' for edges (8, 16, 32)."""
    if length < edges[0]:
        return f"<{edges[0]}"
    for low, high in itertools.pairwise(edges):
        if length < high:
            return f"{low}-{high - 1}"
    return f">={edges[-1]}"


STAT_KEYS = ("entropy", "uniform_entropy", "normalized_entropy", "max_weight", "copy_rate")


def _means(rows: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Mean of every statistic over rows, with their count."""
    return {"count": len(rows), **{key: float(np.mean([r[key] for r in rows])) for key in STAT_KEYS}}


def summarize_stats(per_example: Sequence[Mapping[str, float]], edges: Sequence[int] = LENGTH_EDGES) -> dict[str, Any]:
    """Overall means and means per docstring-length bucket (docstring length = src_len without <eos>)."""
    if not per_example:
        raise ValueError("no examples to summarize")
    buckets: dict[str, list[Mapping[str, float]]] = {}
    order = [length_bucket(n, edges) for n in [0, *edges]]
    for row in per_example:
        buckets.setdefault(length_bucket(int(row["src_len"]) - 1, edges), []).append(row)
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


# ------------------------------------------------------------------------------------ the command


def _relative(path: Path, root: Path) -> str:
    """path relative to root when inside it (no machine-specific prefixes in result files)."""
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


@dataclass
class AttentionReport:
    """What visualize_attention wrote: heatmap files and, with summary, the statistics and their files."""

    heatmaps: list[Path]
    summary: dict[str, Any] | None = None
    files: list[Path] = field(default_factory=list)


@dataclass
class DecodedExample:
    """One decoded example: record position in the split, tokens on both sides and the (T, S) attention."""

    index: int
    src_tokens: list[str]
    tgt_tokens: list[str]
    attention: np.ndarray


def decode_examples(
    loaded: LoadedModel, records: Sequence[Mapping[str, Any]], config: Config, device: torch.device, batch_size: int = 32
) -> list[DecodedExample]:
    """Decode records with an attention model (config.decoding) -> DecodedExample per record, in order."""
    from ..data.batching import encode_records, make_loader
    from ..decoding.search import decode

    pre = loaded.preprocessor
    dataset, _ = encode_records(records, pre)
    out: list[DecodedExample] = []
    for batch in make_loader(dataset, batch_size, shuffle=False, seed=0):
        result = decode(loaded.model, batch.src.to(device), batch.src_lengths, config.decoding, pre)
        for pos, tokens, attn in zip(batch.indices.tolist(), result.tokens, result.attention or []):
            index = dataset.indices[pos]
            src = [*pre.src_tokens(records[index]["func_documentation_string"]), SRC_EOS]
            out.append(DecodedExample(index, src, pre.tgt_vocab.decode(tokens, strip_special=False), attn.float().cpu().numpy()))
    return sorted(out, key=lambda e: e.index)


def visualize_attention(
    config: Config, num_examples: int = 5, summary: bool = False, split: str = "test",
    random_examples: bool = False, max_summary_examples: int | None = None, root: Path | None = None,
) -> AttentionReport:
    """Heatmaps of N examples of a split (the first, or seeded-random) and, with summary, statistics over it.

    Heatmaps go to <figures_dir>/attention/; the statistics (of at most max_summary_examples examples,
    default SUMMARY_CAP[profile]) to <results_dir>/attention_summary.json plus two plots beside the heatmaps;
    `root` (default: the project) holds runs/, figures/ and results/.
    """
    from ..training.checkpoints import find_model_checkpoint, load_model
    from ..config import PROJECT_ROOT
    from ..data.records import load_records
    from ..runtime import resolve_device
    from ..paths import run_paths

    paths = run_paths(config, root or PROJECT_ROOT)
    device = resolve_device(config.device)
    loaded = load_model(find_model_checkpoint(paths.run_dir, "attention", config.profile), device)
    records = load_records(config, split)
    out_dir = paths.figures_dir / "attention"
    count = min(num_examples, len(records))
    picked = sorted(random.Random(config.seed).sample(range(len(records)), count)) if random_examples else list(range(count))
    report = AttentionReport([])
    for example in decode_examples(loaded, [records[i] for i in picked], config, device):
        if not example.tgt_tokens:
            continue
        index = picked[example.index]
        title = f"Attention, {split} example {index} ({len(example.src_tokens) - 1} docstring tokens)"
        fig = plot_attention(example.attention, example.src_tokens, example.tgt_tokens, title)
        report.heatmaps.append(save_figure(fig, out_dir / f"attention_{split}_{index:04d}.png", config.profile, config.seed))
    if summary:
        cap = max_summary_examples if max_summary_examples is not None else SUMMARY_CAP.get(config.profile, 500)
        decoded = [e for e in decode_examples(loaded, records[:cap], config, device) if e.tgt_tokens]
        per_example = [example_stats(e.attention, e.src_tokens, e.tgt_tokens) for e in decoded]
        report.summary = {"split": split, "examples": len(per_example), "decoding": asdict(config.decoding),
                          "checkpoint": _relative(loaded.path, paths.root), **summarize_stats(per_example)}
        json_path = paths.results_dir / "attention_summary.json"
        write_json(json_path, report.summary)
        report.files = [
            json_path,
            save_figure(plot_entropy_vs_length(per_example), out_dir / "attention_entropy_vs_length.png", config.profile, config.seed),
            save_figure(plot_stats_by_length(report.summary), out_dir / "attention_stats_by_length.png", config.profile, config.seed),
        ]
    print(f"[visualize] {len(report.heatmaps)} heatmaps in {out_dir}" + (f"; statistics in {report.files[0]}" if summary else ""))
    return report
