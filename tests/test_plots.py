"""The notebook figures: each plot function draws hand-made data with the expected titles and labels."""

from collections import Counter

import pytest
from matplotlib.figure import Figure

from seq2seq_lib.course import plots
from seq2seq_lib.course.visualize import save_figure

SUMMARIES = [
    {"system": "rnn", "metrics": {"bleu": 5.0, "compiles": 0.10, "chrf": 12.0},
     "ci95": {"bleu": [4.0, 6.0], "chrf": [11.0, 13.0]}},
    {"system": "retrieval (TF-IDF)", "metrics": {"bleu": 8.0, "compiles": 0.05, "chrf": 14.0},
     "ci95": {"bleu": [7.0, 9.0], "chrf": [13.0, 15.0]}},
]


def _texts(fig: Figure) -> dict[str, list[str]]:
    """Titles, axis labels, tick labels and the suptitle of every axes of a figure."""
    axes = fig.get_axes()
    return {
        "titles": [ax.get_title() for ax in axes],
        "xlabels": [ax.get_xlabel() for ax in axes],
        "ylabels": [ax.get_ylabel() for ax in axes],
        "xticks": [t.get_text() for ax in axes for t in ax.get_xticklabels()],
        "yticks": [t.get_text() for ax in axes for t in ax.get_yticklabels()],
        "suptitle": [fig._suptitle.get_text()] if fig._suptitle else [],
    }


def test_split_sizes_labels_every_split():
    splits = {"train": {"pairs": 300, "packages": 6}, "valid": {"pairs": 40, "packages": 2}, "test": {"pairs": 50, "packages": 2}}
    fig = plots.plot_split_sizes(splits)
    texts = _texts(fig)
    assert isinstance(fig, Figure)
    assert texts["titles"] == ["Corpus size per split (pairs)"]
    assert texts["ylabels"] == ["(docstring, code) pairs"]
    assert texts["xticks"] == ["train", "valid", "test"]
    annotations = [t.get_text() for t in fig.get_axes()[0].texts]
    assert "300 pairs\n6 packages" in annotations


def test_package_sources_keeps_the_largest_packages_in_order():
    packages = {"train": {"a==1": 30, "b==1": 10}, "test": {"c==2": 20, "d==1": 1}}
    fig = plots.plot_package_sources(packages, top=3)
    texts = _texts(fig)
    assert texts["yticks"] == ["b==1", "c==2", "a==1"]  # largest at the top
    assert texts["xlabels"] == ["(docstring, code) pairs"]
    assert "3 largest" in texts["titles"][0]
    assert [t.get_text() for t in fig.get_axes()[0].get_legend().get_texts()] == ["train", "test"]


def test_length_distributions_one_panel_per_kind_with_limits():
    fig = plots.plot_length_distributions(
        {"docstring length (tokens)": [3, 5, 8, 13, 40], "code length (pieces)": [20, 50, 90, 400]},
        limits={"docstring length (tokens)": 32},
    )
    texts = _texts(fig)
    assert len(fig.get_axes()) == 2
    assert texts["xlabels"][0].startswith("docstring length (tokens)")
    assert texts["ylabels"] == ["pairs", "pairs"]
    legend = [t.get_text() for t in fig.get_axes()[0].get_legend().get_texts()]
    assert legend == ["median = 8", "training limit = 32"]
    assert texts["suptitle"] == ["Sequence lengths of the training pairs"]


def test_top_tokens_shows_the_most_common_first():
    fig = plots.plot_top_tokens({"docstring tokens": Counter("aaabbc"), "code pieces": Counter(["self", "self", "("])}, n=2)
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == ["docstring tokens", "code pieces"]
    assert [t.get_text() for t in axes[0].get_yticklabels()] == ["b", "a"]  # barh: last label on top
    assert axes[0].get_xlabel() == "share of all tokens (%)"
    assert axes[0].patches[-1].get_width() == pytest.approx(50.0)


def test_vocab_coverage_curves_and_marks():
    fig = plots.plot_vocab_coverage([10, 100, 1000], {"docstring tokens": [0.5, 0.8, 0.95]}, {"src_vocab_size": 500})
    ax = fig.get_axes()[0]
    assert ax.get_xscale() == "log"
    assert ax.get_ylabel() == "test tokens covered (%)"
    assert list(ax.get_lines()[0].get_ydata()) == pytest.approx([50.0, 80.0, 95.0])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["docstring tokens", "src_vocab_size = 500"]


def test_comparison_bars_carry_their_confidence_intervals():
    fig = plots.plot_comparison(SUMMARIES, metrics=("bleu", "compiles"))
    axes = fig.get_axes()
    assert [ax.get_ylabel() for ax in axes] == ["corpus BLEU (0-100)", "outputs that compile (%)"]
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["rnn", "retrieval (TF-IDF)"]  # names as given
    assert [p.get_height() for p in axes[1].patches] == pytest.approx([10.0, 5.0])
    error_bar = axes[0].collections[0].get_segments()[0]  # the rnn bar's interval, from low to high
    assert [error_bar[0][1], error_bar[1][1]] == pytest.approx([4.0, 6.0])
    assert "95%" in _texts(fig)["suptitle"][0]


def test_save_figure_writes_a_png_with_the_footer(tmp_path):
    fig = plots.plot_vocab_coverage([10, 100], {"code pieces": [0.2, 0.4]})
    path = save_figure(fig, tmp_path / "sub" / "coverage.png", "smoke", 7)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "profile=smoke, seed=7" in [t.get_text() for t in fig.texts]


def test_output_lengths_are_bin_means_against_the_diagonal():
    short_then_long = [{"ref_len": 10, "hyp_len": 20}, {"ref_len": 11, "hyp_len": 40}, {"ref_len": 1000, "hyp_len": 100}]
    fig = plots.plot_output_lengths({"attention": short_then_long, "retrieval (TF-IDF)": short_then_long},
                                    predicted=([5, 500], [50, 60]), bins=2)
    first, second = fig.get_axes()
    assert [line.get_label() for line in second.get_lines()] == ["attention", "retrieval", "y = x"]
    assert list(second.get_lines()[0].get_ydata()) == pytest.approx([30.0, 100.0])  # mean per bin
    assert list(first.get_lines()[0].get_ydata()) == pytest.approx([50.0, 60.0])
    assert _texts(fig)["titles"] == ["length model", "generated code"]
    assert second.get_xlabel() == "reference length, code tokens" and second.get_xscale() == "log"
    assert len(plots.plot_output_lengths({"rnn": short_then_long}).get_axes()) == 1


def test_plot_by_length_draws_each_buckets_interval():
    rows = {"attention": [{"bucket": "<10", "count": 40, "chrf_gain": 3.0, "ci95": {"chrf_gain": [2.0, 4.5]}},
                          {"bucket": ">=10", "count": 9, "chrf_gain": 1.0, "ci95": {"chrf_gain": [-1.0, 3.0]}}],
            "rnn": [{"bucket": "<10", "count": 40, "chrf_gain": 0.5, "ci95": {"chrf_gain": [0.0, 1.0]}}]}
    fig = plots.plot_by_length(rows)
    ax = fig.get_axes()[0]
    bars = [c for c in ax.containers if hasattr(c, "errorbar")]
    assert [len(c.patches) for c in bars] == [2, 2]  # the rnn has no ">=10" row: an empty bar, no whisker
    whiskers = bars[0].errorbar.lines[2][0].get_segments()
    assert [(seg[0][1], seg[1][1]) for seg in whiskers] == [(2.0, 4.5), (-1.0, 3.0)]
    assert _texts(fig)["xticks"] == ["<10\n(n=40)", ">=10\n(n=9)"]
