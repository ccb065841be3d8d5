"""Tests for the attention statistics (hand-made matrices), the plotting helpers and visualize_attention."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from test_demo import tiny_checkpoint

from seq2seq_lib.config import PROJECT_ROOT, load_config
from seq2seq_lib.io_utils import read_json
from seq2seq_lib.course.plots import plot_by_length
from seq2seq_lib.course.visualize import attention_png, plot_attention, plot_learning_curves, save_figure, visualize_attention
from seq2seq_lib.lab.attention_stats import (
    attention_entropy,
    attention_summary,
    copied_steps,
    example_stats,
    max_weight,
    normalized_entropy,
    summarize_stats,
    uniform_entropy,
)

PNG = b"\x89PNG"


@pytest.mark.parametrize("src_len", [2, 5, 40])
def test_uniform_attention_has_maximal_entropy(src_len: int) -> None:
    matrix = np.full((3, src_len), 1.0 / src_len)
    np.testing.assert_allclose(attention_entropy(matrix), math.log(src_len))
    np.testing.assert_allclose(normalized_entropy(matrix), 1.0)
    np.testing.assert_allclose(max_weight(matrix), 1.0 / src_len)
    assert uniform_entropy(src_len) == pytest.approx(math.log(src_len))


def test_one_hot_attention_has_zero_entropy() -> None:
    matrix = np.eye(4)[[2, 0, 3]]  # 3 steps, each on one of 4 tokens
    np.testing.assert_allclose(attention_entropy(matrix), 0.0)
    np.testing.assert_allclose(normalized_entropy(matrix), 0.0)
    np.testing.assert_allclose(max_weight(matrix), 1.0)


def test_entropy_of_a_mixed_row_and_of_one_source_token() -> None:
    np.testing.assert_allclose(attention_entropy(np.array([[0.5, 0.5, 0.0, 0.0]])), math.log(2))
    np.testing.assert_allclose(normalized_entropy(np.array([[0.5, 0.5, 0.0, 0.0]])), 0.5)
    np.testing.assert_allclose(normalized_entropy(np.ones((2, 1))), 0.0)  # S = 1: nothing to spread over
    with pytest.raises(ValueError):
        attention_entropy(np.ones(3))


def test_copied_steps_compare_the_most_attended_token() -> None:
    src = ["return", "the", "user", "name", "a", ".", "<eos>"]
    tgt = ["return", "get", "##_user", "##Name", "data", "x", "pass"]
    top = [0, 1, 2, 3, 4, 5, 6]  # step t attends most to source token top[t]
    matrix = np.full((7, 7), 0.02)
    matrix[range(7), top] = 0.88
    assert copied_steps(matrix, src, tgt).tolist() == [True, False, True, True, False, False, False]
    stats = example_stats(matrix, src, tgt)
    assert stats["copy_rate"] == pytest.approx(3 / 7)
    assert stats["src_len"] == 7 and stats["tgt_len"] == 7 and stats["max_weight"] == pytest.approx(0.88)
    with pytest.raises(ValueError, match="code"):
        copied_steps(matrix, src[:-1], tgt)


def test_summary_groups_examples_by_docstring_length() -> None:
    rows = [example_stats(np.full((2, s), 1.0 / s), ["w"] * s, ["c", "d"]) for s in (4, 6, 12, 40)]
    summary = summarize_stats(rows)
    assert summary["overall"]["count"] == 4
    assert summary["overall"]["normalized_entropy"] == pytest.approx(1.0)
    assert [(r["bucket"], r["count"]) for r in summary["by_docstring_length"]] == [("<8", 2), ("8-15", 1), (">=32", 1)]
    assert summary["by_docstring_length"][-1]["max_weight"] == pytest.approx(1 / 40)


def test_long_heatmaps_stay_legible_and_saved_figures_have_the_footer(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    matrix = rng.dirichlet(np.ones(40), size=150)  # (T=150, S=40)
    src = [f"word{i}" for i in range(39)] + ["<eos>"]
    tgt = [f"##averyveryverylongpiece{i}" for i in range(150)]
    fig = plot_attention(matrix, src, tgt, "Attention (test)")
    ax = fig.axes[0]
    assert len(fig.axes) == 2  # the heatmap and its colour bar
    assert len(ax.get_xticklabels()) == 40 and len(ax.get_yticklabels()) == 150
    assert max(len(t.get_text()) for t in ax.get_yticklabels()) <= 14  # long pieces shortened
    assert ax.get_xlabel() and ax.get_ylabel() and fig.axes[1].get_ylabel()
    path = save_figure(fig, tmp_path / "attention" / "long.png", "quick", 1234)
    assert path.read_bytes().startswith(PNG)
    save_figure(fig, path, "quick", 1234)
    assert [t.get_text() for t in fig.texts] == ["profile=quick, seed=1234"]
    with pytest.raises(ValueError):
        plot_attention(matrix, src[:5], tgt)


def test_demo_heatmap_png_grows_with_its_rows_up_to_a_limit() -> None:
    def size(rows: int) -> tuple[int, int]:
        png = attention_png(np.full((rows, 21), 1 / 21), ["w"] * 20 + ["<eos>"], ["tok"] * rows)
        assert png.startswith(PNG)
        return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")

    # 80 dpi: 0.22 inch (17.6 px) per row between a 2.5 and a 9 inch floor and ceiling, plus 1.5 inch of margins
    assert size(5) == (600, round(80 * (2.5 + 1.5)))
    assert size(30) == (600, round(80 * (0.22 * 30 + 1.5)))
    assert size(150) == (600, round(80 * (9.0 + 1.5)))  # the demo draws at most 40 rows; longer inputs thin labels


def test_learning_curves_and_bleu_by_length(tmp_path: Path) -> None:
    history = [{"epoch": e, "train_loss": 3.0 / e, "valid_loss": 3.5 / e, "valid_token_acc": 0.1 * e} for e in (1, 2, 3)]
    fig = plot_learning_curves({"rnn": history, "attention": history}, metrics=("valid_loss", "valid_token_acc"))
    assert [ax.get_ylabel() for ax in fig.axes] == ["validation loss (nats / token)", "validation token accuracy (%)"]
    assert fig.axes[1].lines[0].get_ydata()[-1] == pytest.approx(30.0)
    save_figure(fig, tmp_path / "curves.png", "smoke", 1)
    rows = [{"bucket": "<8", "count": 10, "chrf_gain": 1.5}, {"bucket": "8-15", "count": 5, "chrf_gain": -0.5}]
    fig = plot_by_length({"rnn": rows, "attention": rows[:1]})
    ax = fig.axes[0]
    assert ax.get_ylabel() == "length-matched chrF docstring gain" and "(tokens)" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["<8\n(n=10)", "8-15\n(n=5)"]
    assert [p.get_height() for p in ax.patches] == [1.5, -0.5, 1.5, 0.0]
    assert save_figure(fig, tmp_path / "gain.png", "smoke", 1).read_bytes().startswith(PNG)


def test_visualize_attention_writes_heatmaps_and_summary(tmp_path: Path) -> None:
    config = load_config(PROJECT_ROOT / "configs" / "smoke.yaml", {"decoding.max_len": 12, "decoding.beam_width": 2})
    tiny_checkpoint(tmp_path / "runs" / "smoke-seed1234" / "attention" / "checkpoint.pt")
    heatmaps = visualize_attention(config, num_examples=2, random_examples=True, root=tmp_path)
    assert len(heatmaps) == 2
    assert all(p.parent == tmp_path / "figures" / "smoke" / "attention" and p.read_bytes().startswith(PNG) for p in heatmaps)
    assert attention_summary(config, max_examples=12, root=tmp_path) == read_json(
        tmp_path / "results" / "smoke" / "attention_summary.json")
    summary = read_json(tmp_path / "results" / "smoke" / "attention_summary.json")
    assert summary["examples"] == 12 and summary["split"] == "test"
    assert summary["checkpoint"] == "runs/smoke-seed1234/attention/checkpoint.pt"
    assert 0.0 <= summary["overall"]["normalized_entropy"] <= 1.0 and 0.0 <= summary["overall"]["copy_rate"] <= 1.0
    assert sum(r["count"] for r in summary["by_docstring_length"]) == 12
    assert (tmp_path / "figures" / "smoke" / "attention" / "attention_stats_by_length.png").is_file()
