"""What the course notebooks share: setup, saving figures and tables, reading results, computed prose.

The notebooks keep the story (equations, shape checks, plots); the bookkeeping lives here so that
each notebook cell stays a few lines long. Every sentence built here is computed from the numbers
it describes, so the text stays true when a notebook is re-run with another profile or seed.
"""

from __future__ import annotations

import html
import inspect
import os
import random
import textwrap
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd
import torch
from IPython import get_ipython
from matplotlib.figure import Figure
from pandas.io.formats.style import Styler
from torch.nn.utils.rnn import pad_sequence

from ..config import PROJECT_ROOT, Config, load_config, profile_config_path
from ..data.preprocess import Preprocessor
from ..data.tokenization import DEDENT, INDENT, NEWLINE
from ..data.vocab import PAD_ID
from ..errors import UserError
from ..evaluation.results import format_markdown, load_shipped_results, markdown_rows, table_rows
from ..io_utils import read_json, write_text
from ..models import MODEL_NAMES, build_model, count_parameters
from ..paths import RunPaths, project_relative, run_paths
from ..runtime import configure_threads
from ..training.checkpoints import LoadedModel, find_model_checkpoint, load_model
from .visualize import STYLE, save_figure

INLINE_DPI = 100  # figures shown in the notebook: sharp enough, small enough to keep notebooks light


@dataclass(frozen=True)
class NotebookContext:
    """The config and folders of the notebook's profile and seed, and where figures and tables go."""

    config: Config
    paths: RunPaths

    def show(self, fig: Figure, name: str) -> Figure:
        """Save fig as <figures_dir>/<name>.png (with the profile/seed footer); return it for display."""
        save_figure(fig, self.paths.figures_dir / f"{name}.png", self.config.profile, self.config.seed)
        return fig

    def table(self, frame: pd.DataFrame, name: str) -> Styler:
        """Write frame as <figures_dir>/<name>.csv and .md; return it for display: no row numbers, numbers as
        rounded (not padded to six decimals), text HTML-escaped (so pieces like `<newline>` show)."""
        write_text(self.paths.figures_dir / f"{name}.csv", frame.to_csv(index=False))
        cells = frame.map(lambda v: v.replace("|", "\\|").replace("\n", "<br>") if isinstance(v, str) else v)
        write_text(self.paths.figures_dir / f"{name}.md", format_markdown(cells.to_dict("records")))
        return frame.style.hide(axis="index").format(lambda v: str(v) if isinstance(v, float) else v, escape="html")

    def relative(self, path: str | Path) -> str:
        """A path as the reader sees it: relative to the project root when inside it."""
        return project_relative(path, self.paths.root)


def setup_notebook(profile: str, seed: int) -> NotebookContext:
    """chdir to the project root, load the profile's config with `seed`, set threads and the plot style."""
    os.chdir(PROJECT_ROOT)
    config = load_config(profile_config_path(profile), {"seed": seed})
    configure_threads(config)
    shell = get_ipython()  # None outside IPython
    if shell is not None:
        shell.run_line_magic("matplotlib", "inline")  # show returned Figure objects as PNG images
    matplotlib.rcParams.update({**STYLE, "figure.dpi": INLINE_DPI})
    pd.set_option("display.max_colwidth", 80)
    return NotebookContext(config, run_paths(config))


# ------------------------------------------------------------------------------------------- corpus


def coverage_curve(train_counts: Counter, test_counts: Counter, sizes: Sequence[int]) -> list[float]:
    """Share (0-1) of test-token occurrences whose token is among the k most frequent training tokens, per k."""
    ranked = [token for token, _ in train_counts.most_common()]
    total = max(sum(test_counts.values()), 1)
    return [sum(test_counts[token] for token in ranked[:k]) / total for k in sizes]


# ------------------------------------------------------------------------------------------ results


def model_history(paths: RunPaths, loaded: LoadedModel) -> list[dict[str, Any]]:
    """The per-epoch history of a model: the run's history.json when the model is local, else the checkpoint's."""
    local = paths.model_dir(loaded.name) / "history.json"
    if loaded.path.parent == local.parent and local.is_file():
        return read_json(local)
    return loaded.history


def load_results(paths: RunPaths, system: str) -> dict[str, Any]:
    """One system's results (a model name, or a baseline's folder name such as 'retrieval'): its
    evaluation_results.json where evaluated on this machine, else the committed summary and shipped examples."""
    path = paths.results_dir / system / "evaluation_results.json"
    if not path.is_file() and (shipped := load_shipped_results(paths.results_dir, system)) is not None:
        return shipped
    if not path.is_file():
        raise UserError(f"no results for '{system}' in {paths.results_dir}; run "
                        f"`python -m seq2seq_lib evaluate --profile {paths.profile} --model all`")
    return read_json(path)


def metrics_frame(summaries: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The comparison table (scores with 95% CIs, docstring gains, compiling, losses) with each system's size and
    speed, one row per system (summaries or results)."""
    frame = pd.DataFrame(markdown_rows(table_rows(list(summaries))))
    frame["parameters"] = [f"{s['parameters']:,}" if s.get("parameters") else "-" for s in summaries]
    frame["training (min)"] = [round(s["train_seconds"] / 60, 1) if s.get("train_seconds") else "-" for s in summaries]
    frame["decoding (pairs/s)"] = [round(s["sentences_per_second"], 1) if s.get("sentences_per_second") else "-"
                                   for s in summaries]
    return frame


def profiles_frame(profiles: Sequence[str], root: Path = PROJECT_ROOT) -> pd.DataFrame:
    """The comparison tables of every profile with committed test results, stacked with a profile column."""
    frames = [metrics_frame(read_json(path)).assign(profile=profile) for profile in profiles
              if (path := root / "results" / profile / "summary_test.json").is_file()]
    if not frames:
        return pd.DataFrame()
    frame = pd.concat(frames, ignore_index=True)
    return frame[["profile", *frame.columns.drop("profile")]]


def position_frame(summaries: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """How much the teacher-forced loss rises when the docstring is shuffled, per model and target position (nats)."""
    rows = [{"system": s["system"], **{f"pieces {label}": round(rise, 3) for label, rise in s["loss_rise_by_position"].items()}}
            for s in summaries if s.get("loss_rise_by_position")]
    return pd.DataFrame(rows)


SIGNIFICANCE_METRICS = {"chrf": "chrF", "chrf_gain": "chrF gain, length-matched"}


def significance_frame(significance: Mapping[str, Mapping[str, Mapping[str, float]]]) -> pd.DataFrame:
    """The paired bootstrap tests (significance_test.json) as a table, one row per pair of systems and metric."""
    rows = []
    for pair, tests in significance.items():
        for metric, r in tests.items():
            rows.append({
                "pair (A vs B)": pair,
                "metric": SIGNIFICANCE_METRICS.get(metric, metric),
                "A": round(r["metric_a"], 2),
                "B": round(r["metric_b"], 2),
                "A - B": round(r["delta"], 2),
                "95% CI of A - B": f"[{r['delta_low']:.2f}, {r['delta_high']:.2f}]",
                "A better in % of resamples": round(100 * r["win_rate"], 1),
                "significant (5%)": "yes" if r["delta_low"] > 0 or r["delta_high"] < 0 else "no",
            })
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------- examples


def pick_examples(count: int, k: int, seed: int) -> list[int]:
    """k example positions out of count, drawn at random with a fixed seed (never hand-picked), sorted."""
    return sorted(random.Random(seed).sample(range(count), min(k, count)))


def examples_frame(results: Mapping[str, Mapping[str, Any]], indices: Sequence[int]) -> pd.DataFrame:
    """Docstring, reference and every system's output for the chosen test examples (results: system -> JSON)."""
    first = next(iter(results.values()))["examples"]
    counts = {system: len(r["examples"]) for system, r in results.items()}
    if len(set(counts.values())) != 1:
        raise UserError(f"the results cover different test sets {counts}; re-run the evaluation of every system")
    rows = []
    for i in indices:
        row = {"example": i, "function": first[i]["func_name"], "docstring": first[i]["docstring"], "reference": first[i]["reference"]}
        row.update({system: r["examples"][i]["generated"] for system, r in results.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def _clip_lines(text: str, max_lines: int) -> str:
    """At most max_lines lines of text, with a marker saying how many were left out."""
    lines = text.splitlines()
    if len(lines) <= max_lines:
        return text
    return "\n".join(lines[:max_lines]) + f"\n# ... {len(lines) - max_lines} more lines"


def examples_html(frame: pd.DataFrame, max_lines: int = 14) -> str:
    """HTML of examples_frame: per example the docstring, then reference and outputs side by side."""
    code_columns = [c for c in frame.columns if c not in ("example", "function", "docstring")]
    parts = []
    for _, row in frame.iterrows():
        header = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in code_columns)
        cells = "".join(
            f"<td style='vertical-align:top;text-align:left'><pre style='font-size:11px'>{html.escape(_clip_lines(row[c], max_lines))}</pre></td>"
            for c in code_columns
        )
        parts.append(
            f"<p><b>Test example {row['example']}</b> (<code>{html.escape(row['function'])}</code>): "
            f"<i>{html.escape(row['docstring'])}</i></p><table><tr>{header}</tr><tr>{cells}</tr></table>"
        )
    return "\n".join(parts)


# ------------------------------------------------------------------------------------ computed prose


def _ci_text(summary: Mapping[str, Any], metric: str = "chrf") -> str:
    """'12.34 (95% CI 11.00 to 13.50)' for a summary's metric."""
    low, high = summary["ci95"][metric]
    return f"{summary['metrics'][metric]:.2f} (95% CI {low:.2f} to {high:.2f})"


def _overlap(a: Mapping[str, Any], b: Mapping[str, Any], metric: str = "chrf") -> bool:
    """Whether the 95% intervals of a metric of two systems overlap."""
    (a_low, a_high), (b_low, b_high) = a["ci95"][metric], b["ci95"][metric]
    return a_low <= b_high and b_low <= a_high


def _relation(a: Mapping[str, Any], b: Mapping[str, Any], metric: str = "chrf") -> str:
    """'above', 'below' or 'level with' (intervals overlap): where system a stands against b on a metric."""
    if _overlap(a, b, metric):
        return "level with"
    return "above" if a["metrics"][metric] > b["metrics"][metric] else "below"


def length_predictions(
    preprocessor: Preprocessor, examples: Sequence[Mapping[str, Any]], chunk: int = 512
) -> tuple[list[int], list[float]] | None:
    """(true, predicted) code lengths in target pieces for evaluation examples; None without a length model."""
    if preprocessor.length_model is None:
        return None
    predicted: list[float] = []
    for start in range(0, len(examples), chunk):
        ids = [torch.tensor(preprocessor.encode_src(e["docstring"])) for e in examples[start : start + chunk]]
        src = pad_sequence(ids, batch_first=True, padding_value=PAD_ID)  # (B, S)
        predicted.extend(preprocessor.length_model.predict(src, torch.tensor([len(i) for i in ids])).tolist())
    return [len(preprocessor.tgt_tokens(e["reference"])) for e in examples], predicted


GUARD_PIECES = (NEWLINE, INDENT, DEDENT, ":", ")", "]", "}", "else", "elif", "except", "finally")


def guard_table(preprocessor: Preprocessor, prefixes: Sequence[str]) -> pd.DataFrame:
    """What the syntax guard lets decoding write after each prefix (target pieces separated by spaces)."""
    guard = preprocessor.syntax_guard
    structural = [p for p in GUARD_PIECES if p in guard.ids]
    rows = []
    for prefix in prefixes:
        pieces = prefix.split()
        unknown = [p for p in pieces if p not in guard.ids]
        if unknown:
            raise UserError(f"pieces {unknown} are not in the target vocabulary; write a prefix in its pieces")
        allowed = guard.allowed_after(pieces)  # (V,)
        rows.append({
            "pieces so far": prefix,
            "pieces allowed next": f"{int(allowed.sum())} of {len(guard.itos)}",
            "structural pieces forbidden": " ".join(p for p in structural if not allowed[guard.ids[p]]) or "none",
        })
    return pd.DataFrame(rows)


def describe_training(history: Sequence[Mapping[str, float]], max_epochs: int) -> str:
    """One or two sentences on what the learning curve says: still improving, or stopped improving.

    `history` is what the checkpoint records: a run's best checkpoint keeps the epochs up to the best one only.
    """
    losses = [row["valid_loss"] for row in history]
    best = min(range(len(losses)), key=losses.__getitem__)
    if len(losses) < 2:
        return f"The model trained for a single epoch (validation loss {losses[0]:.3f}); a curve needs more epochs."
    if best == len(losses) - 1 and len(losses) < max_epochs:
        return (f"Validation loss fell to {losses[-1]:.3f} nats per token at epoch {len(losses)}, the last these weights "
                f"record: a checkpoint keeps the epochs up to its best one, so any later epoch of the run (at most "
                f"{max_epochs}) did not lower it. The curve is flattening: more epochs alone would help little.")
    if best == len(losses) - 1:
        return (f"Validation loss was still falling in the last of {len(losses)} epochs "
                f"({losses[-2]:.3f} -> {losses[-1]:.3f} nats per token), so more epochs would very likely help.")
    return (f"Validation loss was lowest at epoch {history[best]['epoch']} of {len(losses)} ({losses[best]:.3f} nats per token) "
            "and did not improve after it: more epochs alone would not help; more data, dropout or a larger model might.")


def describe_model(summary: Mapping[str, Any], baselines: Mapping[str, Mapping[str, Any]]) -> str:
    """What a model's test results say against the best constant output and retrieval (results JSON or summaries)."""
    m = summary["metrics"]
    n = len(summary["examples"]) if "examples" in summary else None
    on = f"On the {n:,} test pairs" if n else "On the test set"
    gain, chrf = m["chrf_gain"], m["chrf"]
    lines = [f"{on} the {summary['system']} model scores chrF {_ci_text(summary)}, and {100 * m['compiles']:.0f}% of its "
             f"outputs compile. Scored against other pairs' references of similar length it loses "
             f"{_ci_text(summary, 'chrf_gain')} chrF: that is what its code owes to the docstring. The other "
             f"{chrf - gain:.2f} a function of the right shape and length earns whatever the docstring says."]
    if summary["ci95"]["chrf_gain"][0] <= 0:
        lines.append("That interval includes 0: on these pairs there is no evidence that its code depends on the docstring.")
    constant, retrieval = baselines.get("constant-chrf"), baselines.get("retrieval")
    if constant is not None:
        lines.append(f"One function returned for every docstring (the best of {CONSTANT_TEXT}) scores "
                     f"{_ci_text(constant)}: the model is {_relation(summary, constant)} it.")
    if retrieval is not None:
        lines.append(f"Retrieval, which returns the code of the most similar training docstring, scores "
                     f"{_ci_text(retrieval)} with a docstring gain of {_ci_text(retrieval, 'chrf_gain')}; by that gain the "
                     f"model is {_relation(summary, retrieval, 'chrf_gain')} retrieval.")
    if summary.get("loss_true") is not None:
        lines.append(f"Without any search, under teacher forcing, its loss is {summary['loss_true']:.3f} nats per code piece "
                     f"with the true docstrings and {summary['loss_shuffled']:.3f} with shuffled ones: the docstring is worth "
                     f"{summary['loss_shuffled'] - summary['loss_true']:.3f} nats per piece to it.")
    distinct = 100 * m["distinct_share"]
    lines.append(f"{distinct:.1f}% of its outputs are distinct" + (
        ": many docstrings receive the same code." if distinct < 50 else "."))
    return " ".join(lines)


CONSTANT_TEXT = "300 training functions by validation chrF"


def describe_decoding(decoding: Mapping[str, Any]) -> str:
    """One line for the decoding settings a results file records, e.g. 'greedy search, 8-grams blocked, <eos> penalty 4'."""
    parts = [f"beam search, width {decoding['beam_width']}" if decoding["method"] == "beam" else "greedy search"]
    if decoding.get("no_repeat_ngram"):
        parts.append(f"{decoding['no_repeat_ngram']}-grams blocked")
    if decoding.get("length_target"):
        parts.append(f"aimed at {_target_text(decoding)} (`<eos>` penalty {decoding['eos_penalty']:g} before it)")
    elif decoding.get("eos_penalty"):
        parts.append(f"`<eos>` penalty {decoding['eos_penalty']:g}")
    if decoding.get("syntax_guard"):
        parts.append("syntax guard")
    parts.append(f"at most {decoding['max_len']} pieces")
    return ", ".join(parts)


def _target_text(settings: Mapping[str, Any]) -> str:
    """'the predicted length', or '1.2 x the predicted length' where the settings aim at a multiple of it."""
    scale = settings.get("target_scale", 1.0)
    return "the predicted length" if scale == 1.0 else f"{scale:g} x the predicted length"


def describe_comparison(
    summaries: Sequence[Mapping[str, Any]], significance: Mapping[str, Mapping[str, Mapping[str, float]]], models: Sequence[str]
) -> str:
    """The comparison notebook's conclusions, from the numbers: what each model takes from its docstring, against the
    constant and retrieval baselines, whether the differences are real, what BLEU would have said, and the cost."""
    by_name = {s["system"]: s for s in summaries}
    neural = sorted((by_name[m] for m in models if m in by_name), key=lambda s: -s["metrics"]["chrf_gain"])
    ranking = " > ".join(f"{s['system']} ({s['metrics']['chrf_gain']:.2f})" for s in neural)
    lines = [f"* **What each model takes from its docstring** (length-matched chrF gain): {ranking}."]
    for pair, tests in significance.items():
        a, b = pair.split(" vs ")
        if not ({a, b} <= set(models) or {a, b} & set(models) and "retrieval" in (a, b)):
            continue
        r = tests["chrf_gain"]
        verdict = ("significant at the 5% level" if r["delta_low"] > 0 or r["delta_high"] < 0
                   else "not significant: the interval of the difference contains 0")
        lines.append(f"* **{a} vs {b}:** gain difference {r['delta']:+.2f} (95% CI {r['delta_low']:+.2f} to "
                     f"{r['delta_high']:+.2f}), {verdict}.")
    constant, retrieval = by_name.get("constant (chrF)"), by_name.get("retrieval")
    if constant is not None:
        standing = ", ".join(f"{s['system']} {_relation(s, constant)}" for s in neural)
        beaten = any(_relation(s, constant) != "above" for s in neural)
        moral = ("A score that one constant function reaches says nothing about the docstring." if beaten else
                 "Every model is above it: the raw score says something, the gain says how much.")
        lines.append(f"* **Against one constant function** (chrF {_ci_text(constant)}, its gain 0 by construction): "
                     f"by chrF, {standing}. {moral}")
    if retrieval is not None:
        standing = ", ".join(f"{s['system']} {_relation(s, retrieval, 'chrf_gain')}" for s in neural)
        lines.append(f"* **Against retrieval** (chrF {_ci_text(retrieval)}, gain {_ci_text(retrieval, 'chrf_gain')}): "
                     f"by the gain, {standing}.")
    bleu_constant = by_name.get("constant (BLEU)")
    if bleu_constant is not None:
        bleus = ", ".join(f"{s['system']} {s['metrics']['bleu']:.2f}" for s in neural)
        lines.append(f"* **What BLEU would have said:** the constant chosen by BLEU scores BLEU "
                     f"{bleu_constant['metrics']['bleu']:.2f} against the models' {bleus}; without the layout markers "
                     f"(newline, indent, dedent) it falls to {bleu_constant['metrics']['bleu_no_layout']:.2f}. "
                     "BLEU on code rewards generic code with the right block structure: layout and shared keywords are many of its n-grams.")
    with_rise = [s for s in neural if s.get("loss_rise_by_position")]
    if with_rise:
        first, last = next(iter(with_rise[0]["loss_rise_by_position"])), list(with_rise[0]["loss_rise_by_position"])[-1]
        rises = ", ".join(f"{s['system']} {s['loss_rise_by_position'][first]:.3f} -> {s['loss_rise_by_position'][last]:.3f}"
                          for s in with_rise)
        lines.append(f"* **How long the docstring matters:** teacher-forced loss with shuffled docstrings minus with the "
                     f"true ones, over code pieces {first} -> pieces {last}: {rises}. A model that reads the docstring only "
                     "through its first decoder state forgets it as the function goes on; attention looks at it again at every step.")
    if all(s.get("parameters") and s.get("sentences_per_second") for s in neural):
        costs = ", ".join(f"{s['system']} {s['parameters']:,} parameters and {s['sentences_per_second']:.1f} pairs/s"
                          for s in sorted(neural, key=lambda s: s["parameters"]))
        lines.append(f"* **Cost:** {costs} (decoding speed on the machine that ran the evaluation).")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------- notebooks 02-04

MODEL_NOTEBOOKS = {"rnn": "02_rnn", "lstm": "03_lstm", "attention": "04_attention"}  # file name prefixes
REFERENCE_SIZES = {"src_vocab_size": 519, "tgt_vocab_size": 1130, "emb_dim": 128, "hidden_dim": 128}


def show_source(*functions: Any) -> Any:
    """The package's own source of functions or classes, highlighted for the notebook (read, not copied)."""
    from IPython.display import Code

    return Code("\n\n".join(textwrap.dedent(inspect.getsource(f)) for f in functions), language="python")


def parameter_counts(model_name: str) -> str:
    """The three models' parameters at a reference size, and where this model's are, as printable lines."""
    sizes = ", ".join(f"{k}={v}" for k, v in REFERENCE_SIZES.items())
    lines = [f"the three designs at one small reference size ({sizes}; the trained model, loaded below, is larger):"]
    for name in MODEL_NAMES:
        mark = "   <- this notebook" if name == model_name else ""
        lines.append(f"  {name:>9}: {count_parameters(build_model(name, **REFERENCE_SIZES)):>9,}{mark}")
    lines.append("where this model's parameters are:")
    for part, module in build_model(model_name, **REFERENCE_SIZES).named_children():
        if count_parameters(module):
            lines.append(f"  {part:>10}: {count_parameters(module):>9,}")
    return "\n".join(lines)


def trained_model(ctx: NotebookContext, model_name: str, retrain: bool = False) -> tuple[LoadedModel, list[dict[str, Any]]]:
    """Train the model here when asked, else load it (the run's checkpoint, or the shipped weights); print what it is.
    Returns the model and its per-epoch history."""
    from ..pipeline import train_models  # training only when asked: the import pulls in the training loop

    config, paths = ctx.config, ctx.paths
    if retrain:
        train_models(config, [model_name], force=True)
    checkpoint = find_model_checkpoint(paths.run_dir, model_name, config.profile)
    loaded = load_model(checkpoint)
    history = model_history(paths, loaded)
    t = config.training
    print(f"loaded {ctx.relative(checkpoint)}: {count_parameters(loaded.model):,} parameters "
          f"(vocabularies {len(loaded.preprocessor.src_vocab):,} / {len(loaded.preprocessor.tgt_vocab):,}, "
          f"embeddings {config.model.emb_dim}, hidden {config.model.hidden_dim})")
    print(f"trained for {len(history)} epochs in {loaded.train_seconds / 60:.1f} min ({loaded.train_seconds:.0f} s) "
          f"(batch size {t.batch_size}, learning rate {t.lr}, at most {t.epochs} epochs)")
    return loaded, history


def test_results(ctx: NotebookContext, model_name: str, retrain: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """The model's test results and the retrieval and constant baselines' (by folder), with a line on their source."""
    results = load_results(ctx.paths, model_name)
    baselines = {folder: load_results(ctx.paths, folder) for folder in ("retrieval", "constant-chrf")}
    source = results["checkpoint"] + ("" if (ctx.paths.root / results["checkpoint"]).exists() else  # a run since shipped
                                      f" (not in this clone: its weights are weights/{ctx.config.profile}/{model_name}.pt)")
    print(f"test results computed from {source} on {len(results['examples']):,} pairs "
          f"({describe_decoding(results['decoding'])})")
    if retrain:
        print(f"The model was retrained above: refresh these numbers with "
              f"`python -m seq2seq_lib evaluate --profile {ctx.config.profile} --model all`.")
    return results, baselines


def random_examples(ctx: NotebookContext, model_name: str, results: Mapping[str, Any], baselines: Mapping[str, Any],
                    k: int = 4) -> str:
    """HTML of k test examples drawn with the notebook's seed: reference, this model's output and retrieval's
    (also saved as a table)."""
    indices = pick_examples(len(results["examples"]), k, ctx.config.seed)
    frame = examples_frame({model_name: results, "retrieval": baselines["retrieval"]}, indices)
    ctx.table(frame, f"{MODEL_NOTEBOOKS[model_name]}_examples")
    return examples_html(frame)
