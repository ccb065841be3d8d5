"""Figures of the course notebooks: the corpus (01) and the model comparison (05).

Each function takes plain data (dicts, lists, Counters), returns a bare `matplotlib.figure.Figure`
in the course style (large fonts, labelled axes, units in titles) and never touches pyplot state.
Learning curves and attention heatmaps live in `visualize.py`, as does
`save_figure(fig, path, profile, seed)`, which stamps the "profile=..., seed=..." footer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .visualize import STYLE, new_figure


SPLIT_COLORS = {"train": "tab:blue", "valid": "tab:orange", "test": "tab:green"}
METRIC_AXIS_LABELS = {  # metric -> (short name, scale, axis label)
    "bleu": ("BLEU", 1.0, "corpus BLEU (0-100)"),
    "chrf": ("chrF", 1.0, "corpus chrF (0-100)"),
    "chrf_gain": ("chrF gain", 1.0, "length-matched chrF docstring gain"),
    "compiles": ("compiles", 100.0, "outputs that compile (%)"),
}


def plot_split_sizes(splits: Mapping[str, Mapping[str, Any]], title: str = "Corpus size per split (pairs)") -> Figure:
    """Bars of (docstring, code) pairs per split, annotated with the pair and package counts."""
    names = list(splits)
    pairs = [splits[name]["pairs"] for name in names]
    fig = new_figure(8.0, 5.0)
    with matplotlib.rc_context(STYLE):
        ax = fig.add_subplot()
        bars = ax.bar(names, pairs, color=[SPLIT_COLORS.get(name, "tab:gray") for name in names])
        labels = [f"{splits[name]['pairs']:,} pairs\n{splits[name].get('packages', 0)} packages" for name in names]
        ax.bar_label(bars, labels, padding=3)
        ax.set_ylim(0, 1.25 * max(pairs, default=1))
        ax.set_xlabel("split")
        ax.set_ylabel("(docstring, code) pairs")
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    return fig


def plot_package_sources(
    packages: Mapping[str, Mapping[str, int]], top: int = 20, title: str | None = None
) -> Figure:
    """Horizontal bars of the `top` packages by pairs, coloured by the split each package belongs to."""
    rows = sorted(((n, pkg, split) for split, counts in packages.items() for pkg, n in counts.items()), key=lambda r: (-r[0], r[1]))
    rows = rows[:top][::-1]  # largest at the top
    fig = new_figure(10.0, max(4.0, 0.38 * len(rows) + 1.8))
    with matplotlib.rc_context(STYLE):
        ax = fig.add_subplot()
        ax.barh(range(len(rows)), [n for n, _, _ in rows], color=[SPLIT_COLORS.get(s, "tab:gray") for _, _, s in rows])
        ax.set_yticks(range(len(rows)), [pkg for _, pkg, _ in rows], fontsize=STYLE["ytick.labelsize"] - 2)
        handles = [Patch(color=SPLIT_COLORS.get(split, "tab:gray"), label=split) for split in packages]
        ax.legend(handles=handles, title="split", loc="lower right")
        ax.set_xlabel("(docstring, code) pairs")
        ax.set_ylabel("package (pinned version)")
        ax.set_title(title or f"The {len(rows)} largest source packages (pairs per package)")
        ax.grid(axis="x", alpha=0.3)
    return fig


def plot_length_distributions(
    lengths: Mapping[str, Sequence[int]],
    limits: Mapping[str, int | None] | None = None,
    clip_percentile: float = 99.0,
    title: str = "Sequence lengths of the training pairs",
) -> Figure:
    """One histogram panel per sequence kind (e.g. docstring tokens, code pieces), with median and limit lines.

    Keys of `lengths` become the x labels; values above the `clip_percentile` are gathered in the
    last bin so that a long tail does not squash the plot. `limits` draws a dashed line per panel.
    """
    limits = limits or {}
    fig = new_figure(7.0 * len(lengths), 5.0)
    with matplotlib.rc_context(STYLE):
        axes = fig.subplots(1, len(lengths), squeeze=False)[0]
        for ax, (label, values) in zip(axes, lengths.items()):
            values = np.asarray(values)
            cap = max(float(np.percentile(values, clip_percentile)), 1.0)
            ax.hist(np.minimum(values, cap), bins=min(40, int(cap) + 1), color="tab:blue", alpha=0.8)
            median = float(np.median(values))
            ax.axvline(median, color="black", linewidth=2, label=f"median = {median:g}")
            if limits.get(label) is not None:
                ax.axvline(limits[label], color="tab:red", linestyle="--", linewidth=2, label=f"training limit = {limits[label]}")
            ax.set_xlabel(f"{label} (last bin: >= p{clip_percentile:g} = {cap:.0f})")
            ax.set_ylabel("pairs")
            ax.grid(axis="y", alpha=0.3)
            ax.legend()
        fig.suptitle(title, fontsize=STYLE["axes.titlesize"] + 2)
    return fig


def plot_top_tokens(counts: Mapping[str, Counter], n: int = 20, title: str | None = None) -> Figure:
    """One panel of horizontal bars per vocabulary (e.g. docstring, code): its `n` most common tokens."""
    fig = new_figure(7.0 * len(counts), max(5.0, 0.32 * n + 1.8))
    with matplotlib.rc_context(STYLE):
        axes = fig.subplots(1, len(counts), squeeze=False)[0]
        for ax, (label, counter) in zip(axes, counts.items()):
            common = counter.most_common(n)[::-1]
            total = max(sum(counter.values()), 1)
            ax.barh(range(len(common)), [100.0 * c / total for _, c in common], color="tab:blue")
            ax.set_yticks(range(len(common)), [repr(tok)[1:-1] for tok, _ in common], fontsize=STYLE["ytick.labelsize"] - 1)
            ax.set_xlabel("share of all tokens (%)")
            ax.set_title(label)
            ax.grid(axis="x", alpha=0.3)
        fig.suptitle(title or f"The {n} most common tokens", fontsize=STYLE["axes.titlesize"] + 2)
    return fig


def plot_vocab_coverage(
    sizes: Sequence[int],
    curves: Mapping[str, Sequence[float]],
    marks: Mapping[str, int] | None = None,
    title: str = "Test tokens covered by the most frequent training tokens",
) -> Figure:
    """Coverage (share of test-token occurrences in the vocabulary, 0-1) against vocabulary size, log x axis.

    `curves` maps a label to one coverage value per size; `marks` maps a label to a vocabulary size
    to mark with a dotted vertical line (e.g. the configured sizes).
    """
    fig = new_figure(9.0, 5.5)
    with matplotlib.rc_context(STYLE):
        ax = fig.add_subplot()
        for label, values in curves.items():
            ax.plot(sizes, [100.0 * v for v in values], marker="o", linewidth=2.5, label=label)
        for i, (label, size) in enumerate((marks or {}).items()):
            ax.axvline(size, color=f"C{i + len(curves)}", linestyle=":", linewidth=2, label=f"{label} = {size:,}")
        ax.set_xscale("log")
        ax.set_xlabel("vocabulary size (most frequent training tokens, log scale)")
        ax.set_ylabel("test tokens covered (%)")
        ax.set_ylim(0, 100)
        ax.set_title(title)
        ax.grid(alpha=0.3, which="both")
        ax.legend(loc="lower right")
    return fig


def plot_comparison(
    summaries: Sequence[Mapping[str, Any]],
    metrics: Sequence[str] = ("chrf", "chrf_gain", "compiles"),
    title: str = "Test-set metrics with 95% bootstrap intervals",
) -> Figure:
    """One bar panel per metric, one bar per system, with its 95% CI as an error bar (evaluation summaries)."""
    systems = [s["system"] for s in summaries]
    fig = new_figure(max(6.0, 0.9 * len(systems) + 2.5) * len(metrics), 5.8)
    with matplotlib.rc_context(STYLE):
        axes = fig.subplots(1, len(metrics), squeeze=False)[0]
        for ax, metric in zip(axes, metrics):
            _, scale, ylabel = METRIC_AXIS_LABELS.get(metric, (metric, 1.0, metric))
            values = np.array([scale * s["metrics"][metric] for s in summaries])
            cis = [s.get("ci95", {}).get(metric) for s in summaries]
            low = np.array([values[i] - scale * ci[0] if ci else 0.0 for i, ci in enumerate(cis)])
            high = np.array([scale * ci[1] - values[i] if ci else 0.0 for i, ci in enumerate(cis)])
            bars = ax.bar(range(len(systems)), values, yerr=np.clip([low, high], 0, None), capsize=6,
                          color=[f"C{i}" for i in range(len(systems))])
            ax.bar_label(bars, [f"{v:.1f}" for v in values], padding=3, fontsize=STYLE["xtick.labelsize"] - 1)
            ax.set_xticks(range(len(systems)), systems, rotation=30, ha="right")
            ax.set_xlabel("system")
            ax.set_ylabel(ylabel)
            bottom = min(0.0, 1.2 * float((values - low).min(initial=0.0)))  # a gain's interval can reach below 0
            ax.set_ylim(bottom, max(1.0, 1.2 * float((values + high).max(initial=0.0))))
            ax.axhline(0, color="black", linewidth=0.8)
            ax.grid(axis="y", alpha=0.3)
        fig.suptitle(title, fontsize=STYLE["axes.titlesize"] + 2)
    return fig


def plot_output_lengths(
    systems: Mapping[str, Sequence[Mapping[str, Any]]],
    predicted: tuple[Sequence[float], Sequence[float]] | None = None,
    bins: int = 8,
    title: str = "How long the outputs are, by reference length",
) -> Figure:
    """Mean output length per reference-length bin (log bins, code tokens), one line per system; y = x is right.

    `systems` maps a name to its per-example scores (`hyp_len`, `ref_len`); `predicted`, if given, is
    (true, predicted) lengths in target pieces, drawn the same way in a first panel.
    """
    generated = {name: [(e["ref_len"], e["hyp_len"]) for e in examples] for name, examples in systems.items()}
    panels = [("generated code (code tokens)", generated)]
    if predicted:
        panels.insert(0, ("length model (target pieces)", {"predicted": list(zip(*predicted))}))
    fig = new_figure(7.0 * len(panels), 5.8)
    with matplotlib.rc_context(STYLE):
        for ax, (label, lines) in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels):
            pairs = np.array([p for points in lines.values() for p in points], dtype=float)
            edges = np.geomspace(max(1.0, pairs[:, 0].min()), pairs[:, 0].max() + 1, bins + 1)
            centres = np.sqrt(edges[:-1] * edges[1:])
            for i, (name, points) in enumerate(lines.items()):
                ref, out = np.array(points, dtype=float).T
                which = np.clip(np.digitize(ref, edges) - 1, 0, bins - 1)
                means = [out[which == b].mean() if (which == b).any() else np.nan for b in range(bins)]
                ax.plot(centres, means, marker="o", color=f"C{i}", label=_short(name))
            ax.plot(edges[[0, -1]], edges[[0, -1]], color="0.5", linestyle="--", label="y = x")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel(f"reference length, {label.split('(')[1].rstrip(')')}")
            ax.set_ylabel("mean output length (same unit)")
            ax.set_title(label.split(" (")[0])
            ax.grid(alpha=0.3, which="both")
            ax.legend()
        fig.suptitle(title, fontsize=STYLE["axes.titlesize"] + 2)
    return fig


def _short(system: str) -> str:
    """A system name without its parenthesised explanation ('retrieval (TF-IDF)' -> 'retrieval')."""
    return system.split(" (")[0]


def plot_by_length(
    breakdowns: Mapping[str, Sequence[Mapping[str, Any]]], metric: str = "chrf_gain",
    xlabel: str = "docstring length (tokens)", title: str = "Length-matched chrF gain by docstring length",
) -> Figure:
    """Grouped bars of a metric per length bucket with their 95% intervals, one colour per system
    (rows: bucket, count, metric, ci95)."""
    buckets = list(dict.fromkeys(row["bucket"] for rows in breakdowns.values() for row in rows))
    fig = new_figure(max(9.0, 2.2 * len(buckets) + 5), 5.5)
    with matplotlib.rc_context(STYLE):
        ax = fig.add_subplot()
        width = 0.8 / max(len(breakdowns), 1)
        for i, (system, rows) in enumerate(breakdowns.items()):
            by_bucket = {row["bucket"]: row for row in rows}
            xs = [b + (i - (len(breakdowns) - 1) / 2) * width for b in range(len(buckets))]
            values = [by_bucket[b][metric] if b in by_bucket else 0.0 for b in buckets]
            low, high = zip(*(by_bucket[b].get("ci95", {}).get(metric, [v, v]) if b in by_bucket else [v, v]
                              for b, v in zip(buckets, values)))
            errors = [[v - lo for v, lo in zip(values, low)], [hi - v for v, hi in zip(values, high)]]  # (2, buckets)
            ax.bar(xs, values, width * 0.95, yerr=errors, capsize=2, label=system)
        counts = {b: max(row["count"] for rows in breakdowns.values() for row in rows if row["bucket"] == b) for b in buckets}
        ax.set_xticks(range(len(buckets)), [f"{b}\n(n={counts[b]})" for b in buckets])
        ax.set_xlabel(xlabel)
        ax.set_ylabel(METRIC_AXIS_LABELS.get(metric, (metric, 1.0, metric))[2])
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_title(f"{title}\n(whiskers: 95% bootstrap intervals)")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the bars, never over them
    return fig
