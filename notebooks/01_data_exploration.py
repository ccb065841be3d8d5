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
# # 1. The data: docstrings and the code they describe
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/REPLACE-WITH-OWNER/seq2seq-code-generation/blob/main/notebooks/01_data_exploration.ipynb) [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/REPLACE-WITH-OWNER/seq2seq-code-generation/main?labpath=notebooks%2F01_data_exploration.ipynb)
#
#
# Before training anything we look hard at the data. In this notebook you will learn:
#
# 1. where the (docstring, code) pairs come from and why the splits are made **by package**;
# 2. how long docstrings and functions are, and what that means for the models' length limits;
# 3. what the tokens look like on both sides (words in docstrings, *pieces* in code);
# 4. how much of the test set a vocabulary of a given size covers, which is why the code side
#    needs subwords.

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
from collections import Counter

import pandas as pd
from IPython.display import Markdown, display

from seq2seq_lib.course import plots
from seq2seq_lib.data.corpus import DEFAULT_SAMPLE_DIR, corpus_stats
from seq2seq_lib.data.records import load_records, training_records
from seq2seq_lib.paths import resolve_path
from seq2seq_lib.course.notebook_helpers import coverage_curve, pick_examples
from seq2seq_lib.data.tokenization import DocTokenizer, code_pieces

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Where the pairs come from
#
# CodeSearchNet (Husain et al., 2019) paired every documented function on GitHub with the first
# paragraph of its docstring. We build our corpus **by the same method** from the released source of
# pinned, permissively licensed PyPI packages (`data/packages.txt`): each function with a docstring
# becomes one pair, the docstring is removed from the code, very short functions and docstrings are
# filtered out, and duplicates are dropped.
#
# The corpus is split **by package**: no library has functions in two splits. Functions of one package
# share names, helpers and style, so a random split would let the model meet near-copies of its test
# functions during training and the test score would flatter it.

# %% slideshow={"slide_type": "fragment"}
corpus_dir = config.data.corpus_dir
if not (resolve_path(corpus_dir) / "test.jsonl.gz").is_file():
    print(f"{corpus_dir} is not built on this machine; showing the committed sample {DEFAULT_SAMPLE_DIR} instead.")
    print("Build the full corpus with `python -m seq2seq_lib data build`.")
    corpus_dir = config.data.corpus_dir = DEFAULT_SAMPLE_DIR
stats = corpus_stats(corpus_dir)

# %% slideshow={"slide_type": "fragment"}
split_table = pd.DataFrame([
    {"split": split, "pairs": row["pairs"], "packages": row["packages"],
     "docstring tokens (median)": row["doc_tokens"]["p50"], "docstring tokens (95th pct)": row["doc_tokens"]["p95"],
     "code tokens (median)": row["code_tokens"]["p50"], "code tokens (95th pct)": row["code_tokens"]["p95"]}
    for split, row in stats["splits"].items()
])
ctx.table(split_table, "01_corpus_stats")

# %% [markdown] slideshow={"slide_type": "fragment"}
# The token counts in this table are the corpus's own tokens (`func_documentation_tokens`, `func_code_tokens`,
# fields named as in CodeSearchNet, whose method the corpus follows); below we count the tokens our models actually read.

# %% slideshow={"slide_type": "fragment"}
ctx.show(plots.plot_split_sizes(stats["splits"]), "01_split_sizes")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Which packages the pairs come from
#
# A few large libraries contribute many functions. The colours show that each package sits in exactly
# one split.

# %% slideshow={"slide_type": "fragment"}
ctx.show(plots.plot_package_sources(stats["packages"], top=20), "01_package_sources")

# %% slideshow={"slide_type": "fragment"}
train_split = stats["packages"]["train"]
largest, largest_pairs = next(iter(train_split.items()))
print(f"{len(train_split)} packages feed the training split; the largest, {largest}, contributes "
      f"{largest_pairs:,} of its {stats['splits']['train']['pairs']:,} pairs ({100 * largest_pairs / stats['splits']['train']['pairs']:.1f}%).")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## What a pair looks like
#
# The models see exactly this: the docstring on the left of the arrow, the function (without its
# docstring) on the right. The examples are drawn at random with the notebook's seed, not chosen.
# The training pairs below are those the models train on in this profile: stubs whose body is only
# `pass` or `...` are removed, and the profile may cap the number of pairs.

# %% slideshow={"slide_type": "fragment"}
train = training_records(config)
test = load_records(config, "test")
print(f"{len(train):,} training pairs (cap: {config.data.max_train_pairs}), {len(test):,} test pairs")
for i in pick_examples(len(train), 3, seed):
    record = train[i]
    display(Markdown(f"**{record['repository_name']}**, `{record['func_name']}`: *{record['func_documentation_string']}*"
                     f"\n```python\n{record['func_code_string']}\n```"))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## From text to tokens
#
# A docstring is lower-cased and split into words and punctuation; identifiers written into it
# (`get_user_name`) are split into their parts. Code goes through Python's own tokenizer: layout becomes
# `<newline>`, `<indent>`, `<dedent>`; identifiers are split at `snake_case` and `camelCase` boundaries
# into **pieces**, continuation pieces carrying a `##` prefix so that they can be glued back together;
# string literals are split into words. Rare pieces are later split further by a small BPE model, so
# that almost nothing is unknown to the decoder.

# %% slideshow={"slide_type": "fragment"}
doc_tokenizer = DocTokenizer()
example = train[pick_examples(len(train), 1, seed)[0]]
print("docstring:", example["func_documentation_string"])
print("tokens:   ", doc_tokenizer.tokenize(example["func_documentation_string"]))
print()
print(example["func_code_string"][:300])
print("pieces:   ", code_pieces(example["func_code_string"])[:40], "...")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## How long are the sequences?
#
# Recurrent models read one token per step, so length is cost and difficulty: the fixed-size context
# of the RNN and LSTM models must hold the whole docstring, and the decoder must produce every code
# piece. The dashed lines are this profile's training limits (`max_src_len` counts the docstring
# tokens plus `<eos>`; `max_tgt_len` counts code pieces after the subword split, which only makes
# sequences longer). Longer training pairs are dropped; test pairs never are.

# %% slideshow={"slide_type": "fragment"}
doc_lengths = [len(doc_tokenizer.tokenize(r["func_documentation_string"])) for r in train]
train_pieces = [code_pieces(r["func_code_string"]) for r in train]
code_lengths = [len(pieces) for pieces in train_pieces]
limits = {"docstring length (tokens)": config.data.max_src_len, "code length (pieces)": config.data.max_tgt_len}
fig = plots.plot_length_distributions(
    {"docstring length (tokens)": doc_lengths, "code length (pieces)": code_lengths}, limits,
    title="Sequence lengths of the training pairs (tokens / pieces per pair)",
)
ctx.show(fig, "01_length_distributions")

# %% slideshow={"slide_type": "fragment"}
too_long_doc = sum(n + 1 > config.data.max_src_len for n in doc_lengths) / len(doc_lengths)
too_long_code = sum(n + 1 > config.data.max_tgt_len for n in code_lengths) / len(code_lengths)
print(f"{100 * too_long_doc:.1f}% of the training docstrings and at least {100 * too_long_code:.1f}% of the training "
      f"functions exceed the limits ({config.data.max_src_len} / {config.data.max_tgt_len} with <eos>).")

# %% [markdown] slideshow={"slide_type": "subslide"}
# The limit costs more than its share of pairs suggests: long functions hold most of the reference
# code, and a model that never saw a long function writes short ones, which lose on every long test
# function. The table counts pieces before the subword split, which only makes functions longer, so
# the shares within each limit are upper bounds:

# %% slideshow={"slide_type": "fragment"}
test_code_lengths = [len(code_pieces(r["func_code_string"])) + 1 for r in test]  # with <eos>
rows = []
for limit in sorted({120, 200, 250, 300, config.data.max_tgt_len}):
    within = [n for n in test_code_lengths if n <= limit]
    rows.append({"code limit (pieces)": limit, "this profile": "yes" if limit == config.data.max_tgt_len else "",
                 "test functions within (%)": round(100 * len(within) / len(test_code_lengths), 1),
                 "test code pieces they hold (%)": round(100 * sum(within) / sum(test_code_lengths), 1)})
ctx.table(pd.DataFrame(rows), "01_code_limits")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The most common tokens
#
# Docstrings are English with a technical vocabulary; code is dominated by layout, punctuation and
# `self`. A model that only learns these frequent tokens can already produce code-shaped output,
# which is why we compare against baselines later.

# %% slideshow={"slide_type": "fragment"}
doc_counts = Counter(tok for r in train for tok in doc_tokenizer.tokenize(r["func_documentation_string"]))
code_counts = Counter(piece for pieces in train_pieces for piece in pieces)
ctx.show(plots.plot_top_tokens({"docstring tokens": doc_counts, "code pieces": code_counts}, n=20), "01_top_tokens")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## How large must the vocabulary be?
#
# A vocabulary is fitted on the training split only. The curve shows, for a vocabulary of the $k$
# most frequent training tokens, the share of all token occurrences in the **test** split that it
# covers:
#
# $$\text{coverage}(k) = \frac{\sum_{w \in V_k} \text{count}_\text{test}(w)}{\sum_{w} \text{count}_\text{test}(w)}$$
#
# Test packages use identifiers no training package ever used, so whole code pieces do not reach full
# coverage however large the vocabulary: this is why the code side is further split into subwords (and, as a last resort,
# characters).

# %% slideshow={"slide_type": "fragment"}
test_doc_counts = Counter(tok for r in test for tok in doc_tokenizer.tokenize(r["func_documentation_string"]))
test_code_counts = Counter(piece for r in test for piece in code_pieces(r["func_code_string"]))
most = max(len(doc_counts), len(code_counts))
sizes = sorted({k for k in (25, 50, 100, 250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 64000) if k < most} | {most})
curves = {"docstring tokens": coverage_curve(doc_counts, test_doc_counts, sizes),
          "code pieces": coverage_curve(code_counts, test_code_counts, sizes)}
marks = {"src_vocab_size": config.data.src_vocab_size, "tgt_vocab_size": config.data.tgt_vocab_size}
ctx.show(plots.plot_vocab_coverage(sizes, curves, marks), "01_vocab_coverage")

# %% slideshow={"slide_type": "fragment"}
coverage_table = pd.DataFrame({"vocabulary size": sizes, **{f"{k} covered (%)": [round(100 * v, 1) for v in c] for k, c in curves.items()}})
ctx.table(coverage_table, "01_vocab_coverage")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## What the numbers say

# %% slideshow={"slide_type": "fragment"}
at_src = coverage_curve(doc_counts, test_doc_counts, [config.data.src_vocab_size])[0]
at_tgt = coverage_curve(code_counts, test_code_counts, [config.data.tgt_vocab_size])[0]
total = stats["total"]
within = sum(d + 1 <= config.data.max_src_len and c + 1 <= config.data.max_tgt_len for d, c in zip(doc_lengths, code_lengths))
print(f"* The corpus holds {total['pairs']:,} pairs from {total['packages']} packages; {len(train):,} are training pairs, "
      f"and at most {within:,} of them fit this profile's length limits (the subword split makes some longer still).")
doc_median, code_median = sorted(doc_lengths)[len(doc_lengths) // 2], sorted(code_lengths)[len(code_lengths) // 2]
print(f"* Half the training docstrings have at most {doc_median} tokens, half the functions at most {code_median} code pieces: "
      f"the median output is {code_median / doc_median:.1f} times as long as the median input.")
print(f"* A docstring vocabulary of {config.data.src_vocab_size:,} covers {100 * at_src:.1f}% of the test docstring tokens;")
print(f"  {config.data.tgt_vocab_size:,} whole code pieces cover only {100 * at_tgt:.1f}% of the test code pieces, the rest is spelled in subwords.")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## What to try next
#
# * Change `max_src_len`, `max_tgt_len` or the vocabulary sizes in `configs/quick.yaml` and re-run this
#   notebook: how many training pairs survive, and how does the coverage change?
# * Open `data/corpus_manifest.json` to see how many functions each filter removed, per package.
# * Open `data/packages_full.txt`: the full profile mines 204 more packages for its training split only.
#
# Next: **notebook 2**, the simplest model that can map one sequence to another.
