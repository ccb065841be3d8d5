"""Write the course notebooks 01-05 from the narrative below (run from anywhere; overwrites them).

    .venv/bin/python scripts/make_notebooks.py

The notebooks are committed unexecuted here and executed by `python -m seq2seq_lib run-all`
(papermill, parameters `profile` and `seed`). Edit the story in this file, not in the .ipynb files,
then regenerate. Every number a reader sees is computed by a code cell, so the prose below
describes methods, never results. `scripts/set_repo_url.py` fills in REPO_SLUG.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
REPO_SLUG = "REPLACE-WITH-OWNER/seq2seq-code-generation"  # GitHub owner/name, set by scripts/set_repo_url.py
BRANCH = "main"
CLONE_DIR = "/content/seq2seq-code-generation"
REFERENCE_SIZES = "src_vocab_size=519, tgt_vocab_size=1130, emb_dim=128, hidden_dim=128"

Cell = nbformat.NotebookNode


# ------------------------------------------------------------------------------------ cell builders


def md(text: str, slide: str = "subslide") -> Cell:
    """A markdown cell with its reveal.js slide type (slide, subslide, fragment, skip or -)."""
    return new_markdown_cell(text.strip("\n"), metadata={"slideshow": {"slide_type": slide}})


def code(text: str, slide: str = "fragment", tags: tuple[str, ...] = ()) -> Cell:
    """A code cell with its slide type and optional tags (e.g. parameters)."""
    metadata: dict = {"slideshow": {"slide_type": slide}}
    if tags:
        metadata["tags"] = list(tags)
    return new_code_cell(text.strip("\n"), metadata=metadata)


def badges(filename: str) -> str:
    """Colab and Binder badges for one notebook of the repository."""
    colab = f"https://colab.research.google.com/github/{REPO_SLUG}/blob/{BRANCH}/notebooks/{filename}"
    binder = f"https://mybinder.org/v2/gh/{REPO_SLUG}/{BRANCH}?labpath=notebooks%2F{filename}"
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab}) "
            f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder})")


def preamble(filename: str, title: str, learn: str, retrain: bool = False) -> list[Cell]:
    """Title with badges and goals, the papermill parameters, the Colab installer and the setup cell."""
    parameters = 'profile = "quick"  # smoke, quick or full: which trained models, results and figures folder\nseed = 1234  # the run\'s seed: runs/<profile>-seed<seed>/'
    if retrain:
        parameters += "\nretrain = False  # True: train this model here instead of loading the trained one"
    colab = f'''
import os
import sys

REPO_URL = "https://github.com/{REPO_SLUG}.git"  # filled in by scripts/set_repo_url.py
if "google.colab" in sys.modules and not os.path.isdir("{CLONE_DIR}"):
    import subprocess

    subprocess.run(["git", "clone", "--depth", "1", REPO_URL, "{CLONE_DIR}"], check=True)
    # pip keeps Colab's own torch: the package only asks for torch>=2.1
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "{CLONE_DIR}"], check=True)
    sys.path.insert(0, "{CLONE_DIR}")
'''
    setup = '''
from seq2seq_lib.course.notebook_helpers import setup_notebook

ctx = setup_notebook(profile, seed)  # chdir to the project root, load configs/<profile>.yaml, set the plot style
config, paths = ctx.config, ctx.paths
print(f"profile {profile}, seed {seed}; figures and tables go to {ctx.relative(paths.figures_dir)}/")
'''
    return [
        md(f"# {title}\n\n{badges(filename)}\n\n{learn}", slide="slide"),
        code(parameters, slide="skip", tags=("parameters",)),
        md("**On Google Colab** the next cell clones the project and installs it; elsewhere it does nothing.", slide="skip"),
        code(colab, slide="skip"),
        code(setup, slide="skip"),
    ]


def write_notebook(filename: str, cells: list[Cell]) -> Path:
    """Write cells as notebooks/<filename> with the python3 kernel."""
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "celltoolbar": "Slideshow",
    })
    for i, cell in enumerate(nb.cells):
        cell.id = f"{filename[:2]}-{i:02d}"  # stable ids: regenerating gives the same file
    path = NOTEBOOK_DIR / filename
    nbformat.write(nb, path)
    return path


# ---------------------------------------------------------------------------------- 01: the data


def data_exploration() -> list[Cell]:
    """Notebook 01: the corpus, its splits, lengths, tokens and vocabulary coverage."""
    name = "01_data_exploration.ipynb"
    learn = r"""
Before training anything we look hard at the data. In this notebook you will learn:

1. where the (docstring, code) pairs come from and why the splits are made **by package**;
2. how long docstrings and functions are, and what that means for the models' length limits;
3. what the tokens look like on both sides (words in docstrings, *pieces* in code);
4. how much of the test set a vocabulary of a given size covers, which is why the code side
   needs subwords.
"""
    return [
        *preamble(name, "1. The data: docstrings and the code they describe", learn),
        code('''
from collections import Counter

import pandas as pd
from IPython.display import Markdown, display

from seq2seq_lib.course import plots
from seq2seq_lib.data.corpus import DEFAULT_SAMPLE_DIR, corpus_stats, format_stats
from seq2seq_lib.data.records import load_records, training_records
from seq2seq_lib.paths import resolve_path
from seq2seq_lib.course.notebook_helpers import coverage_curve, pick_examples
from seq2seq_lib.data.tokenization import DocTokenizer, code_pieces
''', slide="skip"),
        md(r"""
## Where the pairs come from

CodeSearchNet (Husain et al., 2019) paired every documented function on GitHub with the first
paragraph of its docstring. We build our corpus **by the same method** from the released source of
pinned, permissively licensed PyPI packages (`data/packages.txt`): each function with a docstring
becomes one pair, the docstring is removed from the code, very short functions and docstrings are
filtered out, and duplicates are dropped.

The corpus is split **by package**: no library has functions in two splits. Functions of one package
share names, helpers and style, so a random split would let the model meet near-copies of its test
functions during training and the test score would flatter it.
""", slide="slide"),
        code('''
corpus_dir = config.data.corpus_dir
if not (resolve_path(corpus_dir) / "test.jsonl.gz").is_file():
    print(f"{corpus_dir} is not built on this machine; showing the committed sample {DEFAULT_SAMPLE_DIR} instead.")
    print("Build the full corpus with `python -m seq2seq_lib data build`.")
    corpus_dir = config.data.corpus_dir = DEFAULT_SAMPLE_DIR
stats = corpus_stats(corpus_dir)
print(format_stats(stats))
'''),
        code('''
split_table = pd.DataFrame([
    {"split": split, "pairs": row["pairs"], "packages": row["packages"],
     "docstring tokens (median)": row["doc_tokens"]["p50"], "docstring tokens (95th pct)": row["doc_tokens"]["p95"],
     "code tokens (median)": row["code_tokens"]["p50"], "code tokens (95th pct)": row["code_tokens"]["p95"]}
    for split, row in stats["splits"].items()
])
ctx.table(split_table, "01_corpus_stats")
'''),
        md("The token counts in this table are CodeSearchNet's own tokens (`func_documentation_tokens`, "
           "`func_code_tokens`); below we count the tokens our models actually read.", slide="fragment"),
        code('ctx.show(plots.plot_split_sizes(stats["splits"]), "01_split_sizes")'),
        md(r"""
### Which packages the pairs come from

A few large libraries contribute many functions. The colours show that each package sits in exactly
one split.
""", slide="subslide"),
        code('''
ctx.show(plots.plot_package_sources(stats["packages"], top=20), "01_package_sources")
'''),
        code('''
train_split = stats["packages"]["train"]
largest, largest_pairs = next(iter(train_split.items()))
print(f"{len(train_split)} packages feed the training split; the largest, {largest}, contributes "
      f"{largest_pairs:,} of its {stats['splits']['train']['pairs']:,} pairs ({100 * largest_pairs / stats['splits']['train']['pairs']:.1f}%).")
'''),
        md(r"""
## What a pair looks like

The models see exactly this: the docstring on the left of the arrow, the function (without its
docstring) on the right. The examples are drawn at random with the notebook's seed, not chosen.
The training pairs below are those the models train on in this profile: stubs whose body is only
`pass` or `...` are removed, and the profile may cap the number of pairs.
""", slide="slide"),
        code('''
train = training_records(config)
test = load_records(config, "test")
print(f"{len(train):,} training pairs (cap: {config.data.max_train_pairs}), {len(test):,} test pairs")
for i in pick_examples(len(train), 3, seed):
    record = train[i]
    display(Markdown(f"**{record['repository_name']}**, `{record['func_name']}`: *{record['func_documentation_string']}*"
                     f"\\n```python\\n{record['func_code_string']}\\n```"))
'''),
        md(r"""
## From text to tokens

A docstring is lower-cased and split into words and punctuation; identifiers written into it
(`get_user_name`) are split into their parts. Code goes through Python's own tokenizer: layout becomes
`<newline>`, `<indent>`, `<dedent>`; identifiers are split at `snake_case` and `camelCase` boundaries
into **pieces**, continuation pieces carrying a `##` prefix so that they can be glued back together;
string literals are split into words. Rare pieces are later split further by a small BPE model, so
that almost nothing is unknown to the decoder.
""", slide="slide"),
        code('''
doc_tokenizer = DocTokenizer()
example = train[pick_examples(len(train), 1, seed)[0]]
print("docstring:", example["func_documentation_string"])
print("tokens:   ", doc_tokenizer.tokenize(example["func_documentation_string"]))
print()
print(example["func_code_string"][:300])
print("pieces:   ", code_pieces(example["func_code_string"])[:40], "...")
'''),
        md(r"""
## How long are the sequences?

Recurrent models read one token per step, so length is cost and difficulty: the fixed-size context
of the RNN and LSTM models must hold the whole docstring, and the decoder must produce every code
piece. The dashed lines are this profile's training limits (`max_src_len` counts the docstring
tokens plus `<eos>`; `max_tgt_len` counts code pieces after the subword split, which only makes
sequences longer). Longer training pairs are dropped; test pairs never are.
""", slide="slide"),
        code('''
doc_lengths = [len(doc_tokenizer.tokenize(r["func_documentation_string"])) for r in train]
train_pieces = [code_pieces(r["func_code_string"]) for r in train]
code_lengths = [len(pieces) for pieces in train_pieces]
limits = {"docstring length (tokens)": config.data.max_src_len, "code length (pieces)": config.data.max_tgt_len}
fig = plots.plot_length_distributions(
    {"docstring length (tokens)": doc_lengths, "code length (pieces)": code_lengths}, limits,
    title="Sequence lengths of the training pairs (tokens / pieces per pair)",
)
ctx.show(fig, "01_length_distributions")
'''),
        code('''
too_long_doc = sum(n + 1 > config.data.max_src_len for n in doc_lengths) / len(doc_lengths)
too_long_code = sum(n + 1 > config.data.max_tgt_len for n in code_lengths) / len(code_lengths)
print(f"{100 * too_long_doc:.1f}% of the training docstrings and at least {100 * too_long_code:.1f}% of the training "
      f"functions exceed the limits ({config.data.max_src_len} / {config.data.max_tgt_len} with <eos>).")
'''),
        md(r"""
The limit costs more than its share of pairs suggests. Corpus BLEU's brevity penalty compares the
total length of all outputs with the total length of all references, and long functions hold most
of the reference tokens. A model that never saw a long function writes short ones, and pays for it
on every long test function. The table counts pieces before the subword split, which only makes
functions longer, so the shares within each limit are upper bounds:
""", slide="subslide"),
        code('''
test_code_lengths = [len(code_pieces(r["func_code_string"])) + 1 for r in test]  # with <eos>
rows = []
for limit in sorted({120, 200, 250, 300, config.data.max_tgt_len}):
    within = [n for n in test_code_lengths if n <= limit]
    rows.append({"code limit (pieces)": limit, "this profile": "yes" if limit == config.data.max_tgt_len else "",
                 "test functions within (%)": round(100 * len(within) / len(test_code_lengths), 1),
                 "test code pieces they hold (%)": round(100 * sum(within) / sum(test_code_lengths), 1)})
ctx.table(pd.DataFrame(rows), "01_code_limits")
'''),
        md(r"""
## The most common tokens

Docstrings are English with a technical vocabulary; code is dominated by layout, punctuation and
`self`. A model that only learns these frequent tokens can already produce code-shaped output,
which is why we compare against baselines later.
""", slide="slide"),
        code('''
doc_counts = Counter(tok for r in train for tok in doc_tokenizer.tokenize(r["func_documentation_string"]))
code_counts = Counter(piece for pieces in train_pieces for piece in pieces)
ctx.show(plots.plot_top_tokens({"docstring tokens": doc_counts, "code pieces": code_counts}, n=20), "01_top_tokens")
'''),
        md(r"""
## How large must the vocabulary be?

A vocabulary is fitted on the training split only. The curve shows, for a vocabulary of the $k$
most frequent training tokens, the share of all token occurrences in the **test** split that it
covers:

$$\text{coverage}(k) = \frac{\sum_{w \in V_k} \text{count}_\text{test}(w)}{\sum_{w} \text{count}_\text{test}(w)}$$

Test packages use identifiers no training package ever used, so whole code pieces do not reach full
coverage however large the vocabulary: this is why the code side is further split into subwords (and, as a last resort,
characters).
""", slide="slide"),
        code('''
test_doc_counts = Counter(tok for r in test for tok in doc_tokenizer.tokenize(r["func_documentation_string"]))
test_code_counts = Counter(piece for r in test for piece in code_pieces(r["func_code_string"]))
most = max(len(doc_counts), len(code_counts))
sizes = sorted({k for k in (25, 50, 100, 250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 64000) if k < most} | {most})
curves = {"docstring tokens": coverage_curve(doc_counts, test_doc_counts, sizes),
          "code pieces": coverage_curve(code_counts, test_code_counts, sizes)}
marks = {"src_vocab_size": config.data.src_vocab_size, "tgt_vocab_size": config.data.tgt_vocab_size}
ctx.show(plots.plot_vocab_coverage(sizes, curves, marks), "01_vocab_coverage")
'''),
        code('''
coverage_table = pd.DataFrame({"vocabulary size": sizes, **{f"{k} covered (%)": [round(100 * v, 1) for v in c] for k, c in curves.items()}})
ctx.table(coverage_table, "01_vocab_coverage")
'''),
        md("## What the numbers say", slide="slide"),
        code('''
at_src = coverage_curve(doc_counts, test_doc_counts, [config.data.src_vocab_size])[0]
at_tgt = coverage_curve(code_counts, test_code_counts, [config.data.tgt_vocab_size])[0]
total = stats["total"]
print(f"* The corpus holds {total['pairs']:,} pairs from {total['packages']} packages; this profile trains on {len(train):,} of them.")
doc_median, code_median = sorted(doc_lengths)[len(doc_lengths) // 2], sorted(code_lengths)[len(code_lengths) // 2]
print(f"* Half the training docstrings have at most {doc_median} tokens, half the functions at most {code_median} code pieces: "
      f"the median output is {code_median / doc_median:.1f} times as long as the median input.")
print(f"* A docstring vocabulary of {config.data.src_vocab_size:,} covers {100 * at_src:.1f}% of the test docstring tokens;")
print(f"  {config.data.tgt_vocab_size:,} whole code pieces cover only {100 * at_tgt:.1f}% of the test code pieces, the rest is spelled in subwords.")
'''),
        md(r"""
## What to try next

* Change `max_src_len`, `max_tgt_len` or the vocabulary sizes in `configs/quick.yaml` and re-run this
  notebook: how many training pairs survive, and how does the coverage change?
* Open `data/corpus_manifest.json` to see how many functions each filter removed, per package.
* Users who are online can set `data.source: codesearchnet` to train on the real CodeSearchNet.

Next: **notebook 2**, the simplest model that can map one sequence to another.
""", slide="slide"),
    ]


# ------------------------------------------------------------------------------ 02-04: the models


MODEL_SETUP_IMPORTS = '''
import torch
from IPython.display import HTML, display

from seq2seq_lib.training.checkpoints import find_model_checkpoint, load_model
from seq2seq_lib.models import MODEL_NAMES, build_model, count_parameters
from seq2seq_lib.course.notebook_helpers import (
    describe_decoding,
    describe_model,
    describe_training,
    examples_frame,
    examples_html,
    load_results,
    metrics_frame,
    model_history,
    pick_examples,
)
from seq2seq_lib.pipeline import train_models
from seq2seq_lib.course.visualize import plot_learning_curves
__EXTRA_IMPORTS__
MODEL = "__MODEL__"
'''

TINY_BATCH = '''
torch.manual_seed(seed)
tiny = build_model(MODEL, src_vocab_size=20, tgt_vocab_size=30, emb_dim=8, hidden_dim=16)
# two docstrings of 5 and 3 ids (ending in <eos> = 2), the second padded with <pad> = 0
src = torch.tensor([[5, 6, 7, 8, 2], [9, 10, 2, 0, 0]])  # (B=2, S=5)
src_lengths = torch.tensor([5, 3])  # (B,)
tgt_in = torch.tensor([[1, 11, 12, 13], [1, 14, 15, 0]])  # (B=2, T=4): <sos> = 1, then the gold code ids
'''

PARAMETER_COUNTS = f'''
reference = {{name: count_parameters(build_model(name, 519, 1130, emb_dim=128, hidden_dim=128)) for name in MODEL_NAMES}}
print("parameters at the reference size ({REFERENCE_SIZES}):")
for name, count in reference.items():
    print(f"  {{name:>9}}: {{count:>9,}}" + ("   <- this notebook" if name == MODEL else ""))
print("where this model's parameters are:")
for part, module in build_model(MODEL, 519, 1130, emb_dim=128, hidden_dim=128).named_children():
    if count_parameters(module):
        print(f"  {{part:>10}}: {{count_parameters(module):>9,}}")
'''

TRAINING_TEXT = r"""
## Training

All three models share one training loop (`seq2seq_lib/training/loop.py`). The decoder is trained with
**teacher forcing**: at step $t$ it receives the *gold* previous token $y_{t-1}$, not its own guess,
and we minimise the mean cross-entropy over the real (non-padding) target tokens,

$$\mathcal{L} = -\frac{1}{N}\sum_{n=1}^{N}\sum_{t=1}^{T_n} \log p_\theta\left(y^{(n)}_t \mid y^{(n)}_{<t}, x^{(n)}\right),$$

with Adam, gradient clipping and early stopping on the validation loss; the checkpoint with the
lowest validation loss is kept. The next cell loads the trained model: your own run
(`runs/<profile>-seed<seed>/`) when it exists, otherwise the shipped weights (`weights/quick/`). Set
`retrain = True` in the parameters cell to train it here instead.
"""

LOAD_MODEL = '''
if retrain:
    train_models(config, [MODEL], force=True)
checkpoint = find_model_checkpoint(paths.run_dir, MODEL, profile)
loaded = load_model(checkpoint)
history = model_history(paths, loaded)
t = config.training
print(f"loaded {ctx.relative(checkpoint)}: {count_parameters(loaded.model):,} parameters "
      f"(vocabularies {len(loaded.preprocessor.src_vocab):,} / {len(loaded.preprocessor.tgt_vocab):,}, "
      f"embeddings {config.model.emb_dim}, hidden {config.model.hidden_dim})")
print(f"trained for {len(history)} epochs in {loaded.train_seconds / 60:.1f} min ({loaded.train_seconds:.0f} s) "
      f"(batch size {t.batch_size}, learning rate {t.lr}, at most {t.epochs} epochs)")
'''

CURVES_TEXT = r"""
## Learning curves

Training loss, validation loss (both in nats per target token; $e^{\text{loss}}$ is the perplexity)
and the validation token accuracy under teacher forcing, per epoch, from the saved history.
"""

CURVES = '''
fig = plot_learning_curves({MODEL: history}, metrics=("train_loss", "valid_loss", "valid_token_acc"),
                           title="__TITLE__: learning curves (per epoch)")
ctx.show(fig, "__PREFIX___learning_curves")
'''

RESULTS_TEXT = r"""
## Results on the test set

Now the model writes code on its own, from `<sos>` until `<eos>`, for every test docstring, including
those longer than the training limits. How it searches (greedy or beam search, and where `<eos>` may
come) was chosen for this model on the validation split; the line under the table says what it chose.

What should we measure? A generated function can share a lot with its reference without reading the
docstring at all: `def`, `self`, `return`, brackets, the shape of a block. So next to **chrF** (the
character n-gram F-score of the code, 0-100) we report the **docstring gain**: chrF minus the chrF of
the same outputs scored against *other* test pairs' references of similar length. Whatever a model
earns from writing a plausible function of the right length it also earns against those; only what it
took from *this* docstring is lost. Two baselines fitted on the same training data give the scale:
**retrieval** returns the code of the most similar training docstring (TF-IDF), and the **constant**
returns one function for every docstring, the one that scored best on the validation split; its gain
is 0 by construction. *compiles* is the share of outputs that Python's `compile()` accepts. The
intervals are 95% bootstrap confidence intervals over test pairs.
"""

RESULTS = '''
results = load_results(paths, MODEL)
baselines = {folder: load_results(paths, folder) for folder in ("retrieval", "constant-chrf")}
print(f"test results computed from {results['checkpoint']} on {len(results['examples']):,} pairs "
      f"({describe_decoding(results['decoding'])})")
if retrain:
    print(f"The model was retrained above: refresh these numbers with `python -m seq2seq_lib evaluate --profile {profile} --model all`.")
ctx.table(metrics_frame([results, *baselines.values()]), "__PREFIX___test_metrics")
'''

EXAMPLES_TEXT = r"""
### Examples

Four test docstrings drawn at random with the notebook's seed (not picked for looking good), with
the reference function, this model's output and the retrieval baseline's.
"""

EXAMPLES = '''
indices = pick_examples(len(results["examples"]), 4, seed)
examples = ctx.table(examples_frame({MODEL: results, "retrieval": baselines["retrieval"]}, indices), "__PREFIX___examples")
display(HTML(examples_html(examples)))
'''

CONCLUSION = '''
print(describe_training(history))
print()
print(describe_model(results, baselines))
'''


def fill(template: str, **values: str) -> str:
    """The template with every __KEY__ marker replaced by values["key"]."""
    for key, value in values.items():
        template = template.replace(f"__{key.upper()}__", value)
    return template


def model_notebook(filename: str, model: str, title: str, learn: str, theory: list[Cell], walkthrough: str,
                   next_steps: str, extra: tuple[Cell, ...] = (), extra_imports: str = "") -> list[Cell]:
    """The shared outline of notebooks 02-04: theory, shapes, training, curves, results, conclusions."""
    prefix = f"{filename[:2]}_{model}"
    return [
        *preamble(filename, title, learn, retrain=True),
        code(fill(MODEL_SETUP_IMPORTS, model=model, extra_imports=extra_imports), slide="skip"),
        *theory,
        md(r"""
## Shapes, step by step

The model at toy size, on a batch of two docstrings: every tensor's shape, where it changes.
$B$ is the batch size, $S$ the source length, $T$ the target length, $E$ the embedding size,
$H$ the hidden size and $V$ the target vocabulary size.
""", slide="slide"),
        code(TINY_BATCH, slide="subslide"),
        code(walkthrough),
        md("### How many parameters?", slide="subslide"),
        code(PARAMETER_COUNTS),
        md(TRAINING_TEXT, slide="slide"),
        code(LOAD_MODEL),
        md(CURVES_TEXT, slide="slide"),
        code(fill(CURVES, title=title.split(". ", 1)[-1], prefix=prefix)),
        md(RESULTS_TEXT, slide="slide"),
        code(fill(RESULTS, prefix=prefix)),
        md(EXAMPLES_TEXT, slide="subslide"),
        code(fill(EXAMPLES, prefix=prefix)),
        *extra,
        md("## What the numbers say", slide="slide"),
        code(CONCLUSION),
        md(next_steps, slide="slide"),
    ]


def rnn_notebook() -> list[Cell]:
    """Notebook 02: the vanilla RNN encoder-decoder."""
    learn = r"""
The simplest neural model that maps a sequence to a sequence. In this notebook you will learn:

1. how an **encoder** RNN reads a docstring into one vector, and a **decoder** RNN writes code from it
   (Sutskever et al., 2014; Cho et al., 2014);
2. the recurrence behind it, and the shape of every tensor on the way;
3. how the model is trained (teacher forcing, cross-entropy) and how it is evaluated (greedy or beam search, BLEU);
4. what such a model gets right and wrong on real docstrings.
"""
    theory = [
        md(r"""
## The model: an encoder-decoder of two RNNs

The **encoder** embeds each docstring token $x_t$ and updates a hidden state, one token at a time:

$$h_t = \tanh\left(W_x\, x_t + W_h\, h_{t-1} + b\right), \qquad h_0 = 0.$$

Its last state $h_S$ is the *fixed context*: the whole docstring, squeezed into $H$ numbers. The
**decoder** is a second RNN that starts from $s_0 = h_S$ and, at each step, reads the previous code
token and predicts the next one:

$$s_t = \tanh\left(U_y\, y_{t-1} + U_s\, s_{t-1} + b_s\right), \qquad p(y_t \mid y_{<t}, x) = \operatorname{softmax}(W_o\, s_t + b_o).$$

Generation starts with $y_0 = \texttt{<sos>}$ and stops at $\texttt{<eos>}$.
""", slide="slide"),
        md(r"""
Two weaknesses follow from the equations and motivate the next two notebooks:

* the gradient through $\tanh$ is multiplied by $W_h$ at every step, so it tends to **vanish** over
  long docstrings and long functions (Bengio et al., 1994) → the LSTM of notebook 3;
* everything the decoder knows about the docstring must pass through $h_S$, a **bottleneck** that
  is the same for every output step → attention in notebook 4.
""", slide="subslide"),
    ]
    walkthrough = '''
enc = tiny.encode(src, src_lengths)  # packed sequence: padding never enters the recurrence
print("encoder final state h_S:", tuple(enc.state.hidden.shape), "(layers, B, H)")
out = tiny(src, src_lengths, tgt_in)  # teacher forcing: all T steps at once
print("logits over the code vocabulary:", tuple(out.logits.shape), "(B, T, V)")
logits, state, attn = tiny.decode_step(tgt_in[:, 0], enc.state, enc)  # one step of generation
print("one decoder step:", tuple(logits.shape), "(B, V); new state", tuple(state.hidden.shape), "; attention:", attn)
'''
    next_steps = r"""
## What to try next

* Set `retrain = True` and a larger `model.hidden_dim` in the profile: does the fixed context hold more of the docstring?
* Decode greedily instead of with beam search (`python -m seq2seq_lib evaluate --greedy --split valid`) and compare chrF, its docstring gain and length.
* Look at the examples again: does the generated code use any word of the docstring, or only frequent code?

Next: **notebook 3** replaces the RNN cell with an LSTM, which keeps gradients alive over long sequences.
"""
    return model_notebook("02_rnn_seq2seq.ipynb", "rnn", "2. A recurrent encoder-decoder (vanilla RNN)", learn,
                          theory, walkthrough, next_steps)


def lstm_notebook() -> list[Cell]:
    """Notebook 03: the LSTM encoder-decoder."""
    learn = r"""
The same encoder-decoder with a better cell. In this notebook you will learn:

1. how the **LSTM** (Hochreiter & Schmidhuber, 1997) keeps information over long sequences with a
   cell state and three gates;
2. how the gates change the tensors the encoder passes to the decoder (a pair $(h, c)$ instead of $h$);
3. what it costs in parameters and time, and what it buys on our test set.
"""
    theory = [
        md(r"""
## The model: LSTM encoder and decoder

The LSTM keeps a **cell state** $c_t$ next to the hidden state $h_t$. Three gates in $(0, 1)$ decide what to
write, what to keep and what to show, and a candidate $g_t$ is what could be written:

$$
\begin{aligned}
i_t &= \sigma\left(W_{xi}\, x_t + W_{hi}\, h_{t-1} + b_i\right) && \text{input gate}\\
f_t &= \sigma\left(W_{xf}\, x_t + W_{hf}\, h_{t-1} + b_f\right) && \text{forget gate}\\
o_t &= \sigma\left(W_{xo}\, x_t + W_{ho}\, h_{t-1} + b_o\right) && \text{output gate}\\
g_t &= \tanh\left(W_{xg}\, x_t + W_{hg}\, h_{t-1} + b_g\right) && \text{candidate}\\
c_t &= f_t \odot c_{t-1} + i_t \odot g_t\\
h_t &= o_t \odot \tanh(c_t)
\end{aligned}
$$
""", slide="slide"),
        md(r"""
The update of $c_t$ is **additive**: when the forget gate is close to 1, $\partial c_t / \partial c_{t-1} \approx f_t$
stays close to 1 and gradients survive many steps, which the $\tanh$ recurrence of the vanilla RNN
cannot do. Everything else is as in notebook 2: the encoder's final $(h_S, c_S)$ initialises the
decoder, so the docstring still passes through a fixed-size **bottleneck**, now of $2H$ numbers.
Four gates' worth of weights make the recurrent layers four times larger than the RNN's.
""", slide="subslide"),
    ]
    walkthrough = '''
enc = tiny.encode(src, src_lengths)
print("encoder final state: h_S", tuple(enc.state.hidden.shape), "and c_S", tuple(enc.state.cell.shape), "(layers, B, H)")
out = tiny(src, src_lengths, tgt_in)
print("logits over the code vocabulary:", tuple(out.logits.shape), "(B, T, V)")
logits, state, attn = tiny.decode_step(tgt_in[:, 0], enc.state, enc)
print("one decoder step:", tuple(logits.shape), "(B, V); new (h, c):", tuple(state.hidden.shape), tuple(state.cell.shape))
print("recurrent weights W_h of the encoder:", tuple(tiny.encoder.weight_hh_l0.shape), "= (4H, H): the four gates stacked")
'''
    next_steps = r"""
## What to try next

* Compare these curves with notebook 2's: does the LSTM reach a lower validation loss, and in how many epochs?
* Train with `training.teacher_forcing_final: 0.5` (scheduled sampling) so that the decoder learns from its own mistakes.
* Increase `model.num_layers` to 2: a deeper encoder, but still one fixed context.

Next: **notebook 4** removes the bottleneck: the decoder looks back at every docstring token.
"""
    return model_notebook("03_lstm_seq2seq.ipynb", "lstm", "3. Long short-term memory (LSTM) encoder-decoder", learn,
                          theory, walkthrough, next_steps)


def attention_notebook() -> list[Cell]:
    """Notebook 04: BiLSTM encoder with Bahdanau attention."""
    learn = r"""
The model that removes the bottleneck. In this notebook you will learn:

1. how **additive attention** (Bahdanau, Cho & Bengio, 2015) lets the decoder look at every
   docstring token at every step;
2. why the encoder is **bidirectional**, and how its final states are bridged into the decoder;
3. how to read an **attention heatmap** of a generated function;
4. what attention buys over the LSTM, and what it costs.
"""
    theory = [
        md(r"""
## The model: bidirectional encoder, additive attention, LSTM decoder

A **bidirectional** LSTM reads the docstring left to right and right to left; the two states of each
token are concatenated, $h_j = [\overrightarrow{h}_j; \overleftarrow{h}_j] \in \mathbb{R}^{2H}$, so every $h_j$
knows the whole docstring with a focus on token $j$. Their final states, through a linear layer and
$\tanh$ (the *bridge*), give the decoder's initial state $s_0$.

At each output step $t$ the decoder scores every source position $j$ with its previous state $s_{t-1}$,

$$e_{tj} = v^\top \tanh\left(W_h\, h_j + W_s\, s_{t-1}\right),$$

turns the scores into weights over the real (non-padding) tokens,

$$\alpha_{tj} = \frac{\exp(e_{tj})}{\sum_{k=1}^{S} \exp(e_{tk})},$$

and reads a **context vector** made for this step,

$$c_t = \sum_{j=1}^{S} \alpha_{tj}\, h_j .$$
""", slide="slide"),
        md(r"""
The decoder LSTM then takes $[\,\text{emb}(y_{t-1}); c_t\,]$ as input,
$s_t = \text{LSTM}\left([\text{emb}(y_{t-1}); c_t], s_{t-1}\right)$, and predicts
$p(y_t \mid y_{<t}, x) = \operatorname{softmax}\left(W_o [s_t; c_t; \text{emb}(y_{t-1})] + b_o\right)$.

Nothing has to squeeze the docstring into one vector any more, and the weights $\alpha_{t\cdot}$ are
a by-product we can look at: which docstring word the model used for each code token. $W_h h_j$ does
not depend on $t$, so it is computed once per docstring (the `keys` below).
""", slide="subslide"),
        md(r"""
**Copying docstring words.** Names are what such models get wrong, and the words of a name are often
in the docstring. With `model.copy_forms: 4` (the quick profile) the attention weights do a second
job: every code piece that spells docstring word $x_j$ (`user`, `##_user`, `##User`, `User`: up to
four spellings, `seq2seq_lib/models/copy.py`) gets a bonus on its logit,

$$\text{bonus}_t(w) = g_t \sum_{j} \alpha_{tj}\,[\,w \text{ spells } x_j\,], \qquad g_t = \operatorname{softplus}(u^\top f_t + b),$$

where $f_t = [s_t; c_t; \text{emb}(y_{t-1})]$ is what the output layer reads: attention says which
word to copy, the gate how strongly this step copies, and the output layer still picks the spelling.
Notebook 5's ablation tables (`ablation_copy*.md`) measure it against the same model without copying.
""", slide="subslide"),
    ]
    walkthrough = '''
enc = tiny.encode(src, src_lengths)
print("memory h_1..h_S (BiLSTM):", tuple(enc.memory.shape), "(B, S, 2H)")
print("keys W_h h_j, once per docstring:", tuple(enc.keys.shape), "(B, S, H)")
print("decoder initial state s_0 (bridge):", tuple(enc.state.hidden.shape), "(1, B, H)")
out = tiny(src, src_lengths, tgt_in)
print("logits:", tuple(out.logits.shape), "(B, T, V); attention weights:", tuple(out.attn.shape), "(B, T, S)")
print("row sums of alpha (each 1):", [f"{x:.4f}" for x in out.attn.sum(-1).flatten().tolist()])
print("alpha of the padded docstring at step 1 (zero on its 2 pads):", [f"{x:.3f}" for x in out.attn[1, 0].tolist()])
'''
    heatmap = '''
# the test pairs as the results file holds them, so no corpus is needed
records = [{"func_documentation_string": e["docstring"], "func_code_string": e["reference"]} for e in results["examples"]]
device = resolve_device(config.device)
loaded.model.to(device)
decoded = [e for e in decode_examples(loaded, [records[i] for i in indices], config, device) if e.tgt_tokens]
if decoded:
    example, steps = decoded[0], 40  # the first of the random examples above; at most 40 output steps stay legible
    index = indices[example.index]
    fig = plot_attention(example.attention[:steps], example.src_tokens, example.tgt_tokens[:steps],
                         f"Attention weights, test example {index} (first {min(steps, len(example.tgt_tokens))} output steps)")
    display(ctx.show(fig, "04_attention_example"))
    src_counts = example.attention.sum(0)
    top = [example.src_tokens[j] for j in src_counts.argsort()[::-1][:5]]
    print(f"docstring tokens that received the most attention in total: {top}")
else:
    print("the model produced empty outputs for these examples; no heatmap to show")
'''
    extra = (
        md(r"""
### Where does the model look?

The attention weights of the first of the random examples above, decoded again with the profile's search:
one row per generated code token, one column per docstring token, brighter = more weight. A bright
cell under a docstring word next to an identifier piece of the same word is a copy; rows spread
evenly over the docstring belong to tokens (such as `(` or `<newline>`) that need no particular word.
""", slide="slide"),
        code(heatmap),
    )
    next_steps = r"""
## What to try next

* Run `python -m seq2seq_lib visualize --num-examples 5 --summary` for more heatmaps and the attention
  entropy by docstring length, and open **notebook 6** to type your own docstrings.
* Swap the additive score for a dot product, $e_{tj} = s_{t-1}^\top W h_j$ (Luong et al., 2015), in
  `seq2seq_lib/models/attention.py` and compare speed and BLEU.
* The copying above only reaches names whose pieces are in the code vocabulary. A pointer-generator
  (See et al., 2017) also copies words outside it, with an extended vocabulary per docstring.

Next: **notebook 5** compares the three models on the same test set, with significance tests.
"""
    imports = "from seq2seq_lib.runtime import resolve_device\nfrom seq2seq_lib.course.visualize import decode_examples, plot_attention\n"
    return model_notebook("04_attention_seq2seq.ipynb", "attention", "4. Attention: a bidirectional encoder with Bahdanau attention",
                          learn, theory, walkthrough, next_steps, extra, imports)


# -------------------------------------------------------------------------------- 05: comparison


def comparison_notebook() -> list[Cell]:
    """Notebook 05: the three models and the baselines side by side."""
    name = "05_comparison.ipynb"
    learn = r"""
The three models and three baselines on the same test set. In this notebook you will learn:

1. how much of a score the docstring earns: the **docstring gain**, and why one constant function
   is the first baseline to beat;
2. how to read a comparison table with **confidence intervals**, model size and speed;
3. how the models learned (learning curves on one plot) and where they fail (BLEU by length), and
   how decoding aims each output at the length its docstring predicts;
4. whether the differences are real: the **paired bootstrap** test;
5. what the models write for the same docstrings, side by side.
"""
    return [
        *preamble(name, "5. Comparing the three models", learn),
        code('''
import numpy as np
from IPython.display import HTML, Markdown, display

from seq2seq_lib.course import plots
from seq2seq_lib.training.checkpoints import find_model_checkpoint, load_model
from seq2seq_lib.evaluation.evaluate import load_summaries
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
    stale_profiles,
)
from seq2seq_lib.course.plots import plot_by_length
from seq2seq_lib.course.visualize import plot_learning_curves
''', slide="skip"),
        md(r"""
## The comparison table

Every system wrote code for the same test pairs, and every output is scored against its reference
as the models' targets see it (tokenized and laid out again, comments dropped).

* **chrF** (sacrebleu's chrF2: character 1- to 6-grams, whitespace ignored) is the base score. On
  code it agrees with human judgement better than BLEU does (Evtikhiev et al., 2023), and it gives
  partial credit for a name spelled almost right; its gain, next, is the headline.
* **chrF gain, length-matched** is chrF minus the mean chrF of the same outputs scored against the
  references shuffled 5 times, each time only among references of similar length (deciles). A model
  that took only a length from the docstring gains nothing; **chrF gain** shuffles without matching
  lengths.
* **BLEU** is corpus BLEU-4 on code tokens with the layout markers (newline, indent, dedent), as it is
  usually reported; *BLEU without layout* drops them.
* **compiles %**: the outputs Python's `compile()` accepts (stricter than parsing: it rejects
  `def f(a, a)`); **distinct %**: outputs that differ from every other.
* **loss: own / shuffled docstrings**: the model's teacher-forced loss on the test code (nats per code
  piece) after its own docstring, and after another pair's. The gap is what the input is worth to the
  model before any search.

The brackets hold 95% bootstrap intervals (1,000 resamples of the test pairs, the shuffles held
fixed). *parameters* counts trainable weights, *training* is the wall time of training up to the kept
epoch, *decoding* the test pairs per second on the machine that evaluated.
""", slide="slide"),
        code('''
summaries = load_summaries(paths.results_dir)
ctx.table(metrics_frame(summaries), "05_comparison")
'''),
        code('ctx.show(plots.plot_comparison(summaries, metrics=("chrf", "chrf_gain", "compiles")), "05_comparison")'),
        md(r"""
## A lesson on metrics: one function for every docstring

The **constant** rows return the same function whatever the docstring says: of 300 training functions
drawn with the profile's seed, the one that scored best on the *validation* split, once by chrF and
once by BLEU (the test split never chooses anything). Read the table again with them in mind:

* a constant can earn as much chrF as the models, or more: most characters of a Python function are
  shared by all Python functions, and chrF counts recall twice as much as precision, so a long
  generic function collects many of them;
* the constant chosen by BLEU can match or beat the models' BLEU with layout markers, while without
  them it collapses: BLEU on code rewards the indentation structure and common keywords, which say
  nothing about the docstring;
* its docstring gain is exactly 0, so every model's gain is measured against the same zero.

A model's result is what it scores *above* these lines, not the raw number.
""", slide="slide"),
        code('''
constants = read_json(paths.results_dir / "constants.json")
for metric in ("chrf", "bleu"):
    chosen = constants[metric]
    print(f"constant by {metric}: {chosen['func_name']} (validation {metric} {chosen['valid_score']:.2f}, "
          f"{constants['candidates']} candidates, {constants['validation_pairs']:,} validation pairs)")
    print(chosen["code"][:600])
'''),
        md(r"""
## How long does the docstring matter?

Decoding mixes two questions: does the model know what the docstring asks for, and does the search
find it? Teacher forcing takes the search away: feed the model the reference code piece by piece and
measure its loss, once after the true docstring and once after another pair's. The table shows how
much the loss rises with the wrong docstring, by position in the code (nats per piece).

The RNN and the LSTM hand the docstring to the decoder only as its first state, and each step
overwrites part of that state with the code written so far: expect the docstring to help with the
first pieces (the function's name) and then fade, later for the LSTM, whose gates can keep it, than
for the RNN. The attention model reads the docstring again at every step, so its rise can stay above
zero to the end of the function: the fixed context vector is the bottleneck attention removes. The
conclusions at the end say what the numbers show.
""", slide="slide"),
        code('''display(ctx.table(position_frame(summaries), "05_loss_by_position"))'''),
        md(r"""
### Every profile side by side

The same table for each profile that has been run on this machine or shipped with the project
(`results/<profile>/`), same test split, same metrics. Results written before the docstring gain
existed are left out and named.
"""),
        code('''
every_profile = profiles_frame(["quick", "full"])
stale = stale_profiles(["quick", "full"])
if stale:
    print(f"Left out, measured before the docstring gain existed: {', '.join(stale)} (run ./run_all.sh <profile> again).")
if every_profile.empty:
    print("No profile has test results with docstring gains yet: run ./run_all.sh")
else:
    display(ctx.table(every_profile, "05_profiles"))
'''),
        md(r"""
## How the models learned

The validation curves of the three models on one plot (per epoch; loss in nats per token, token
accuracy under teacher forcing). Early stopping may end the runs at different epochs.
""", slide="slide"),
        code('''
histories = {}
for name in config.models:
    loaded = load_model(find_model_checkpoint(paths.run_dir, name, profile))
    histories[name] = model_history(paths, loaded)
fig = plot_learning_curves(histories, metrics=("train_loss", "valid_loss", "valid_token_acc"),
                           title="Learning curves of the three models (per epoch)")
ctx.show(fig, "05_learning_curves")
'''),
        md(r"""
## Where the models read the docstring: the gain by length

The test pairs grouped by docstring length (tokens) and by reference code length (code tokens); $n$ is
the number of test pairs in a group. The bars are the length-matched chrF docstring gain of the group's
outputs (each scored against its own reference and against others of similar length). A fixed-context
model should gain least on long docstrings, and every model on long functions.
""", slide="slide"),
        code('''
by_doc = {s["system"]: s["by_docstring_length"] for s in summaries}
ctx.show(plot_by_length(by_doc, title="Docstring gain by docstring length (tokens)"), "05_gain_by_docstring_length")
'''),
        code('''
by_code = {s["system"]: s["by_code_length"] for s in summaries}
fig = plot_by_length(by_code, xlabel="reference code length (tokens)", title="Docstring gain by code length (tokens)")
ctx.show(fig, "05_gain_by_code_length")
'''),
        md(r"""
## How long should the function be?

Corpus BLEU multiplies by a **brevity penalty**, $\exp(1 - 1/r)$ for a length ratio $r < 1$, counted
over *all* test pairs: every reference token that the outputs do not match in length costs. A
seq2seq model decides length one token at a time, by how likely `<eos>` looks, and knows little about
it: left alone, small models write functions of much the same length whatever the docstring asks for.

So the project fits a small **length model** on the training split: a ridge regression of the log
code length (in target pieces) on the docstring's TF-IDF and its length
(`seq2seq_lib/decoding/length_model.py`). Decoding then subtracts a penalty from `<eos>` until the output
reaches its predicted length (a bonus after it can be configured; the quick profile leaves it at 0);
the penalty, and whether to aim at the length at all, are chosen on validation for each model. The left panel shows how much a docstring says about the
length (not much: the predictions stay near the middle for short and long functions alike); the
right panel shows how long each system's outputs are against the reference, per length bin (the
dashed diagonal is right). `ablation_length_target.md` below measures the change.
""", slide="slide"),
        code('''
last = config.models[-1]
lengths = length_predictions(load_model(find_model_checkpoint(paths.run_dir, last, profile)).preprocessor,
                             load_results(paths, last)["examples"])
if lengths is not None:
    true, predicted = np.log(lengths[0]), np.log(lengths[1])
    print(f"length model on the test docstrings: correlation of log lengths {np.corrcoef(true, predicted)[0, 1]:.2f}")
outputs = {name: load_results(paths, name)["examples"] for name in [*config.models, "retrieval"]}
ctx.show(plots.plot_output_lengths(outputs, predicted=lengths), "05_output_lengths")
'''),
        md(r"""
## Keeping the code well-formed: the syntax guard

A model that writes one piece at a time can write `else:` where no `if` came before, a colon after a
plain statement, `)` to close a `[`, or a line break inside a bracket; each makes the whole function
fail to parse, and most outputs that do not parse fail that way, not inside an expression. The
**syntax guard** (`seq2seq_lib/decoding/syntax_guard.py`) follows every hypothesis piece by piece (open
brackets, indentation depth, which statement opened each block, whether a string is open) and sets
to $-\infty$, before greedy or beam search picks a piece, exactly the pieces no continuation could
repair. It never forbids `<eos>`: where an output ends stays with the `<eos>` settings. The table
shows what it allows after a few prefixes, written in the model's own target pieces;
`ablation_syntax_guard.md` below measures what it changes.
""", slide="slide"),
        code('''
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
'''),
        md(r"""
## Are the differences real? The paired bootstrap

Overlapping confidence intervals do not settle whether one model is better than another: both are
scored on the *same* test pairs, so their errors are correlated. The **paired bootstrap** (Koehn, 2004)
resamples the test pairs 1,000 times, scores *both* systems on each resample, and looks at the
distribution of the difference $\Delta = \text{score}_A - \text{score}_B$, here for chrF and for the
length-matched chrF gain, for every pair of systems. If the 95% interval of $\Delta$ excludes 0, the
difference is significant at the 5% level.
""", slide="slide"),
        code('''
significance = read_json(paths.results_dir / "significance_test.json")
ctx.table(significance_frame(significance), "05_significance")
'''),
        md(r"""
## The same docstrings, four systems

Four test docstrings drawn at random with the notebook's seed (not picked for looking good); for
each, the reference and the outputs of the three models and of the retrieval baseline.
""", slide="slide"),
        code('''
systems = {name: load_results(paths, name) for name in config.models}
systems["retrieval"] = load_results(paths, "retrieval")
indices = pick_examples(len(systems[config.models[0]]["examples"]), 4, seed)
examples = ctx.table(examples_frame(systems, indices), "05_examples")
display(HTML(examples_html(examples, max_lines=12)))
'''),
        md(r"""
## Ablation: which choices mattered

These tables were measured by validation BLEU, before the docstring gain existed; the decoding
each model now uses was chosen again by the gain (the conclusions below list it). Each row changes one thing against the quick profile and is scored on the validation split (what
the choices were made on) and once on the test split (never used to choose). `ablation.md` holds
the training changes, measured on a one-epoch budget so that each row fits a laptop session;
`ablation_training.md` later training changes at two epochs; `ablation_decoding.md` the decoding
changes, measured on the trained quick model of the time. Those three were measured while training
kept only functions of at most 120 code pieces; `ablation_length.md` measures that limit with the
full 7 epochs, and the quick profile now trains on functions of up to 200 pieces;
`ablation_decoding_200.md` measures decoding choices again on that 200-piece quick model, and
`ablation_length_target.md` the length targets the quick profile now decodes with,
`ablation_syntax_guard.md` the syntax guard, `ablation_target_scale.md` aiming at 1.2 times the
predicted length as well, and `ablation_schedule.md` a cosine learning-rate schedule over the quick
profile's 7 epochs. `ablation_training_seeds.md` measures training changes again at the full 7 epochs
with two seeds per row (the mean, then each seed), because one run's validation BLEU moves by about
0.7 from seed to seed; `ablation_weight_average.md` a moving average of the weights (one seed),
and `ablation_copy.md` and `ablation_copy_seeds.md` copying docstring words into the code (seed 1234,
then seeds 1 and 2), which the quick profile does since; every earlier table was measured without it.
`ablation_epochs.md` trains that model 12 epochs instead of 7, as the full profile does, and
`ablation_beam.md` and `ablation_beam_seeds.md` decode it with beam search instead of greedily (seed
1234, then three seeds; no training), which the quick profile does since. Rows that did not help stay
in the tables.
""", slide="slide"),
        code('''
tables = sorted(paths.results_dir.glob("ablation*.md"))
for table in tables:
    display(Markdown(f"**{table.name}**\\n\\n" + table.read_text(encoding="utf-8")))
if not tables:
    print(f"No ablation table yet: run `python -m seq2seq_lib ablate` ({ctx.relative(paths.results_dir)}).")
'''),
        md(r"""
## How much is the seed?

One training run is one sample. `python -m seq2seq_lib seeds --profile quick` trains and evaluates
the profile with three seeds; differences smaller than the seed-to-seed spread are not findings.
The spread below was measured by BLEU, before the docstring gain existed.
""", slide="slide"),
        code('''
spread = paths.results_dir / "seeds_test.md"
if spread.is_file():
    display(Markdown(spread.read_text(encoding="utf-8")))
else:
    print(f"No seed spread yet: run `python -m seq2seq_lib seeds --profile {config.profile}`.")
'''),
        md("## What the numbers say", slide="slide"),
        code('display(Markdown(describe_comparison(summaries, significance, config.models)))'),
        md(r"""
## What to try next

* Re-run the whole comparison with another seed (`seed = ...` in the parameters, after training
  that seed): which conclusions survive? Differences smaller than the seed-to-seed variation are not findings.
* Compare with the `full` profile (the same models trained 12 epochs instead of 7; `./run_all.sh full`):
  do the gaps between the models shrink or grow with training?
* Score your own docstrings: write a few `{"docstring": ..., "code": ...}` lines to a file and run
  `python -m seq2seq_lib evaluate --pairs FILE --out DIR`. Does the gain hold on your pairs?
* Look beyond n-gram scores: a function can differ from the reference character by character and
  still be correct. Executing generated code against unit tests (pass@k, Chen et al., 2021) measures
  that directly.
* Open **notebook 6** and try the models on your own docstrings.
""", slide="slide"),
    ]


NOTEBOOKS = {
    "01_data_exploration.ipynb": data_exploration,
    "02_rnn_seq2seq.ipynb": rnn_notebook,
    "03_lstm_seq2seq.ipynb": lstm_notebook,
    "04_attention_seq2seq.ipynb": attention_notebook,
    "05_comparison.ipynb": comparison_notebook,
}


def main() -> None:
    """Regenerate every notebook 01-05."""
    for filename, build in NOTEBOOKS.items():
        print(f"wrote {write_notebook(filename, build()).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
