"""Figures for the course: attention heatmaps and learning curves.

Every plot is built on a bare `matplotlib.figure.Figure` (no pyplot state, nothing to close, the
same in a notebook and headless) with large fonts for projection. `save_figure` stamps the footer
"profile=<p>, seed=<s>" on every saved figure. An attention matrix is (T, S): row t holds the weights
of output step t over the S source tokens, summing to 1.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ..config import Config
from ..io_utils import atomic_path

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


ROW_INCHES = 0.22  # the demo heatmap's height per output row: an 11-point label fits


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
    matrix: np.ndarray, src_tokens: Sequence[str], tgt_tokens: Sequence[str], width: float = 7.5, dpi: int = 80,
) -> bytes:
    """PNG bytes of a heatmap with fixed margins, a fixed height per output row so its label stays legible
    (fast: for the interactive demo)."""
    height = float(np.clip(ROW_INCHES * len(tgt_tokens), 2.5, 9.0)) + 1.5  # the rows, then the docstring labels
    bottom, top = 1.4 / height, 0.1 / height
    with matplotlib.rc_context({**STYLE, "font.size": 11, "axes.labelsize": 12}):
        fig = Figure(figsize=(width, height))
        ax = fig.add_axes((0.2, bottom, 0.66, 1 - bottom - top))  # room for the rotated docstring tokens and the code pieces
        cax = fig.add_axes((0.88, bottom, 0.025, 1 - bottom - top))
        draw_attention(fig, ax, matrix, src_tokens, tgt_tokens, max_labels=40, cax=cax)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def plot_learning_curves(
    histories: Mapping[str, Sequence[Mapping[str, float]]], metrics: Sequence[str] = ("train_loss", "valid_loss"),
    title: str | None = "Learning curves",
) -> Figure:
    """One panel per metric, one line per model, from per-epoch history dicts (the training loop's history)."""
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


# ------------------------------------------------------------------------------------ the command


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
    from ..decoding.search import decode_records

    pre = loaded.preprocessor
    decoded = decode_records(loaded.model, records, config.decoding, pre, device, batch_size)
    return [
        DecodedExample(index, [*pre.src_tokens(record["func_documentation_string"]), SRC_EOS],
                       pre.tgt_vocab.decode(tokens, strip_special=False), attn.float().cpu().numpy())
        for index, (record, (tokens, attn)) in enumerate(zip(records, decoded)) if attn is not None
    ]


def visualize_attention(
    config: Config, num_examples: int = 5, split: str = "test", random_examples: bool = False, root: Path | None = None,
) -> list[Path]:
    """Heatmaps of N examples of a split (the first, or seeded-random) in <figures_dir>/attention/; returns the files.

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
    heatmaps = []
    for example in decode_examples(loaded, [records[i] for i in picked], config, device):
        if not example.tgt_tokens:
            continue
        index = picked[example.index]
        title = f"Attention, {split} example {index} ({len(example.src_tokens) - 1} docstring tokens)"
        fig = plot_attention(example.attention, example.src_tokens, example.tgt_tokens, title)
        heatmaps.append(save_figure(fig, out_dir / f"attention_{split}_{index:04d}.png", config.profile, config.seed))
    print(f"[visualize] {len(heatmaps)} heatmaps in {out_dir}")
    return heatmaps
