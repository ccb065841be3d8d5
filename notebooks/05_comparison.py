# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -papermill,-execution
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # 5. Comparing the three models
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/REPLACE-WITH-OWNER/seq2seq-code-generation/blob/main/notebooks/05_comparison.ipynb) [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/REPLACE-WITH-OWNER/seq2seq-code-generation/main?labpath=notebooks%2F05_comparison.ipynb)
#
#
# The three models and three baselines on the same test set. In this notebook you will learn:
#
# 1. how much of a score the docstring earns: the **docstring gain**, and why one constant function
#    is the first baseline to beat;
# 2. how to read a comparison table with **confidence intervals**, model size and speed;
# 3. how the models learned (learning curves on one plot) and where they fail (the gain by length), and
#    how decoding aims each output at the length its docstring predicts;
# 4. whether the differences are real: the **paired bootstrap** test;
# 5. what the models write for the same docstrings, side by side.

# %% slideshow={"slide_type": "skip"} tags=["parameters"]
profile = "quick"  # smoke, quick or full: which trained models, results and figures folder
seed = 1234  # the run's seed: runs/<profile>-seed<seed>/

# %% [markdown] slideshow={"slide_type": "skip"}
# **On Google Colab** the next cell clones the project and installs it; elsewhere it does nothing.

# %% slideshow={"slide_type": "skip"}
import os
import sys
from pathlib import Path

REPO_URL = "https://github.com/REPLACE-WITH-OWNER/seq2seq-code-generation.git"  # placeholder until the repository is public
if "google.colab" in sys.modules:  # clone and install once; running the cell again changes nothing
    import subprocess

    clone = Path("/content/seq2seq-code-generation")
    if not clone.exists():
        subprocess.run(["git", "clone", "--depth", "1", REPO_URL, str(clone)], check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", str(clone)], check=True)
    if str(clone) not in sys.path:
        sys.path.insert(0, str(clone))

# %% slideshow={"slide_type": "skip"}
from seq2seq_lib.course.notebook_helpers import setup_notebook

ctx = setup_notebook(profile, seed)  # chdir to the project root, load configs/<profile>.yaml, set the plot style
config, paths = ctx.config, ctx.paths
print(f"profile {profile}, seed {seed}; figures and tables go to {ctx.relative(paths.figures_dir)}/")

# %% slideshow={"slide_type": "skip"}
import numpy as np
from IPython.display import HTML, Markdown, display

from seq2seq_lib.course import plots
from seq2seq_lib.training.checkpoints import find_model_checkpoint, load_model
from seq2seq_lib.evaluation.results import load_summaries
from seq2seq_lib.io_utils import read_json
from seq2seq_lib.course.notebook_helpers import (
    describe_comparison,
    examples_frame,
    examples_html,
    guard_table,
    length_predictions,
    load_results,
    metrics_frame,
    model_history,
    pick_examples,
    position_frame,
    profiles_frame,
    significance_frame,
)
from seq2seq_lib.course.plots import plot_by_length
from seq2seq_lib.course.visualize import plot_learning_curves

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The comparison table
#
# Every system wrote code for the same test pairs, and every output is scored against its reference
# as the models' targets see it (tokenized and laid out again, comments dropped).
#
# * **chrF** (sacrebleu's chrF2: character 1- to 6-grams, whitespace ignored) is the base score. On
#   code it agrees with human judgement better than BLEU does (Evtikhiev et al., 2023), and it gives
#   partial credit for a name spelled almost right; its gain, next, is the headline.
# * **chrF gain, length-matched** is chrF minus the mean chrF of the same outputs scored against the
#   references shuffled 5 times, each time only among references of similar length (deciles). A model
#   that took only a length from the docstring gains nothing; **chrF gain** shuffles without matching
#   lengths.
# * **BLEU** is corpus BLEU-4 on code tokens with the layout markers (newline, indent, dedent), as it is
#   usually reported; *BLEU without layout* drops them.
# * **compiles %**: the outputs Python's `compile()` accepts (stricter than parsing: it rejects
#   `def f(a, a)`); **distinct %**: outputs that differ from every other.
# * **loss: own / shuffled docstrings**: the model's teacher-forced loss on the test code (nats per code
#   piece) after its own docstring, and after another pair's. The gap is what the input is worth to the
#   model before any search.
#
# The brackets hold 95% bootstrap intervals (1,000 resamples of the test pairs, the shuffles held
# fixed). *parameters* counts trainable weights, *training* is the wall time of training up to the kept
# epoch, *decoding* the test pairs per second on the machine that evaluated.

# %% slideshow={"slide_type": "fragment"}
summaries = load_summaries(paths.results_dir)
ctx.table(metrics_frame(summaries), "05_comparison")

# %% slideshow={"slide_type": "fragment"}
ctx.show(plots.plot_comparison(summaries, metrics=("chrf", "chrf_gain", "compiles")), "05_comparison")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## A lesson on metrics: one function for every docstring
#
# The **constant** rows return the same function whatever the docstring says: of 300 training functions
# drawn with the profile's seed, the one that scored best on the *validation* split, once by chrF and
# once by BLEU (the test split never chooses anything). Read the table again with them in mind:
#
# * a constant can earn as much chrF as the models, or more: most characters of a Python function are
#   shared by all Python functions, and chrF counts recall twice as much as precision, so a long
#   generic function collects many of them;
# * the constant chosen by BLEU can match or beat the models' BLEU with layout markers, while without
#   them it falls much further than the models do: BLEU on code rewards the indentation structure and
#   common keywords, which say nothing about the docstring;
# * its docstring gain is exactly 0, so every model's gain is measured against the same zero.
#
# A model's result is what it scores *above* these lines, not the raw number.

# %% slideshow={"slide_type": "fragment"}
constants = read_json(paths.results_dir / "constants.json")
for metric in ("chrf", "bleu"):
    chosen = constants[metric]
    print(f"constant by {metric}: {chosen['func_name']} (validation {metric} {chosen['valid_score']:.2f}, "
          f"{constants['candidates']} candidates, {constants['validation_pairs']:,} validation pairs)")
    print(chosen["code"][:600])

# %% [markdown] slideshow={"slide_type": "slide"}
# ## How long does the docstring matter?
#
# Decoding mixes two questions: does the model know what the docstring asks for, and does the search
# find it? Teacher forcing takes the search away: feed the model the reference code piece by piece and
# measure its loss, once after the true docstring and once after another pair's. The table shows how
# much the loss rises with the wrong docstring, by position in the code (nats per piece).
#
# The RNN and the LSTM hand the docstring to the decoder only as its first state, and each step
# overwrites part of that state with the code written so far: expect the docstring to help with the
# first pieces (the function's name) and then fade, later for the LSTM, whose gates can keep it, than
# for the RNN. The attention model reads the docstring again at every step, so its rise can stay above
# zero to the end of the function: the fixed context vector is the bottleneck attention removes. The
# conclusions at the end say what the numbers show.

# %% slideshow={"slide_type": "fragment"}
display(ctx.table(position_frame(summaries), "05_loss_by_position"))

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Every profile side by side
#
# The same table for each profile that has been run on this machine or shipped with the project
# (`results/<profile>/`), same test split, same metrics.

# %% slideshow={"slide_type": "fragment"}
every_profile = profiles_frame(["quick", "full"])
missing = sorted({"quick", "full"} - set(every_profile.get("profile", [])))
if missing:
    print(f"No test results for: {', '.join(missing)} (run ./run_all.sh <profile> to add them).")
if not every_profile.empty:
    display(ctx.table(every_profile, "05_profiles"))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## How the models learned
#
# The validation curves of the three models on one plot (per epoch; loss in nats per token, token
# accuracy under teacher forcing). Early stopping may end the runs at different epochs.

# %% slideshow={"slide_type": "fragment"}
histories = {}
for name in config.models:
    loaded = load_model(find_model_checkpoint(paths.run_dir, name, profile))
    histories[name] = model_history(paths, loaded)
fig = plot_learning_curves(histories, metrics=("train_loss", "valid_loss", "valid_token_acc"),
                           title="Learning curves of the three models (per epoch)")
ctx.show(fig, "05_learning_curves")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Where the models read the docstring: the gain by length
#
# The test pairs grouped by docstring length (tokens) and by reference code length (code tokens); $n$ is
# the number of test pairs in a group. The bars are the length-matched chrF docstring gain of the group's
# outputs (each scored against its own reference and against others of similar length). A fixed-context
# model should gain least on long docstrings, and every model on long functions.

# %% slideshow={"slide_type": "fragment"}
by_doc = {s["system"]: s["by_docstring_length"] for s in summaries}
ctx.show(plot_by_length(by_doc, title="Docstring gain by docstring length (tokens)"), "05_gain_by_docstring_length")

# %% slideshow={"slide_type": "fragment"}
by_code = {s["system"]: s["by_code_length"] for s in summaries}
fig = plot_by_length(by_code, xlabel="reference code length (tokens)", title="Docstring gain by code length (tokens)")
ctx.show(fig, "05_gain_by_code_length")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## How long should the function be?
#
# Both scores punish short outputs: chrF weighs recall twice as much as precision, and corpus BLEU multiplies
# by a **brevity penalty**, $\exp(1 - 1/r)$ for a length ratio $r < 1$, counted over *all* test pairs. A
# seq2seq model decides length one token at a time, by how likely `<eos>` looks, and knows little about
# it: left alone, small models write functions of much the same length whatever the docstring asks for.
#
# So the project fits a small **length model** on the training split: a ridge regression of the log
# code length (in target pieces) on the docstring's TF-IDF and its length
# (`seq2seq_lib/decoding/length_model.py`). Decoding then subtracts a penalty from `<eos>` until the output
# reaches its predicted length (a bonus after it can be configured; the quick profile leaves it at 0);
# the penalty and the aim were chosen once on validation, for all three models alike (the profile's
# `decoding:` settings). The left panel shows how much a docstring says about the
# length (not much: the predictions stay near the middle for short and long functions alike); the
# right panel shows how long each system's outputs are against the reference, per length bin (the
# dashed diagonal is right). `ablation_length_target.md` below measures the change.

# %% slideshow={"slide_type": "fragment"}
last = config.models[-1]
lengths = length_predictions(load_model(find_model_checkpoint(paths.run_dir, last, profile)).preprocessor,
                             load_results(paths, last)["examples"])
if lengths is not None:
    true, predicted = np.log(lengths[0]), np.log(lengths[1])
    print(f"length model on the test docstrings: correlation of log lengths {np.corrcoef(true, predicted)[0, 1]:.2f}")
outputs = {name: load_results(paths, name)["examples"] for name in [*config.models, "retrieval"]}
ctx.show(plots.plot_output_lengths(outputs, predicted=lengths), "05_output_lengths")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Keeping the code well-formed: the syntax guard
#
# A model that writes one piece at a time can write `else:` where no `if` came before, a colon after a
# plain statement, `)` to close a `[`, or a line break inside a bracket; each makes the whole function
# fail to parse, and most outputs that do not parse fail that way, not inside an expression. The
# **syntax guard** (`seq2seq_lib/decoding/syntax_guard.py`) follows every hypothesis piece by piece (open
# brackets, indentation depth, which statement opened each block, whether a string is open) and sets
# to $-\infty$, before greedy or beam search picks a piece, exactly the pieces no continuation could
# repair. It never forbids `<eos>`: where an output ends stays with the `<eos>` settings. The table
# shows what it allows after a few prefixes, written in the model's own target pieces;
# `ablation_syntax_guard.md` below measures what it changes.

# %% slideshow={"slide_type": "fragment"}
preprocessor = load_model(find_model_checkpoint(paths.run_dir, config.models[-1], profile)).preprocessor
prefixes = [
    "def f ( x ) : <newline>",
    "def f ( x ) : <newline> <indent> x = [ 1",
    "def f ( x ) : <newline> <indent> return x",
    "def f ( x ) : <newline> <indent> return x <newline>",
    "def f ( x ) : <newline> <indent> if x : <newline> <indent> return x <newline> <dedent>",
    "def f ( x ) : <newline> <indent> try : <newline> <indent> return x <newline> <dedent>",
]
ctx.table(guard_table(preprocessor, prefixes), "05_syntax_guard")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Are the differences real? The paired bootstrap
#
# Overlapping confidence intervals do not settle whether one model is better than another: both are
# scored on the *same* test pairs, so their errors are correlated. The **paired bootstrap** (Koehn, 2004)
# resamples the test pairs 1,000 times, scores *both* systems on each resample, and looks at the
# distribution of the difference $\Delta = \text{score}_A - \text{score}_B$, here for chrF and for the
# length-matched chrF gain, for every pair of systems. If the 95% interval of $\Delta$ excludes 0, the
# difference is significant at the 5% level.

# %% slideshow={"slide_type": "fragment"}
significance = read_json(paths.results_dir / "significance_test.json")
ctx.table(significance_frame(significance), "05_significance")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The same docstrings, four systems
#
# Four test docstrings drawn at random with the notebook's seed (not picked for looking good); for
# each, the reference and the outputs of the three models and of the retrieval baseline.

# %% slideshow={"slide_type": "fragment"}
systems = {name: load_results(paths, name) for name in config.models}
systems["retrieval"] = load_results(paths, "retrieval")
indices = pick_examples(len(systems[config.models[0]]["examples"]), 4, seed)
examples = examples_frame(systems, indices)
ctx.table(examples, "05_examples")
display(HTML(examples_html(examples, max_lines=12)))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Ablation: which choices mattered
#
# Each row below changed one thing against the quick profile of its time and was scored on the
# validation split (what the choices were made on). Most were measured by validation BLEU, before the
# docstring gain existed (the newest, the sampled softmax, by the gain); the decoding each model now
# uses was chosen again by the gain (the conclusions below list it). The link opens the row's own
# table, with its settings, seeds and test scores; rows that did not help stay in the tables. `docs/EXPERIMENTS.md` tells the story.

# %% slideshow={"slide_type": "fragment"}
summary_table = paths.results_dir / "ablation_summary.md"
if summary_table.is_file():  # its links point at the tables beside it: made relative to this notebook
    tables = os.path.relpath(paths.results_dir, paths.root / "notebooks")
    display(Markdown(summary_table.read_text(encoding="utf-8").replace("](ablation", f"]({tables}/ablation")))
else:
    print(f"No ablation table yet: run `python -m seq2seq_lib ablate` ({ctx.relative(paths.results_dir)}).")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## How much is the seed?
#
# One training run is one sample. `python -m seq2seq_lib seeds --profile quick --models attention` trains
# the attention model with more seeds (the shipped weights stand for seed 1234) and scores each on the
# whole test split with the metrics of the table above; `--models rnn lstm` does the same for the other
# two. Differences smaller than the seed-to-seed spread are not findings. The paired tests above say how
# sure we are on these test pairs, for one seed only. Seed 1234 is the shipped model that every other table
# of the course describes: read its column beside the retrained seeds' (chrF and the length ratio above
# all) before taking a chrF difference for a finding.

# %% slideshow={"slide_type": "fragment"}
for models in ("attention", "rnn lstm"):
    spread = paths.results_dir / f"seeds_test_{models.replace(' ', '_')}.md"
    if spread.is_file():
        display(Markdown(spread.read_text(encoding="utf-8")))
    else:
        print(f"No seed spread yet: run `python -m seq2seq_lib seeds --profile {config.profile} --models {models}`.")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## What the numbers say

# %% slideshow={"slide_type": "fragment"}
display(Markdown(describe_comparison(summaries, significance, config.models)))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## What to try next
#
# * Re-run the whole comparison with another seed (`seed = ...` in the parameters, after training
#   that seed): which conclusions survive? Differences smaller than the seed-to-seed variation are not findings.
# * Compare with the `full` profile (the same models and test pairs, 3.5 times the training pairs from
#   204 more packages; `./run_all.sh full`): which model gains most from more data?
# * Score your own docstrings: write a few `{"docstring": ..., "code": ...}` lines to a file and run
#   `python -m seq2seq_lib evaluate --pairs FILE --out DIR`. Does the gain hold on your pairs?
# * Look beyond n-gram scores: a function can differ from the reference character by character and
#   still be correct. Executing generated code against unit tests (pass@k, Chen et al., 2021) measures
#   that directly.
# * Open **notebook 6** and try the models on your own docstrings.
