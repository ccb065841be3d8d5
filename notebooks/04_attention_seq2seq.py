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
# # 4. Attention: a bidirectional encoder with Bahdanau attention
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/REPLACE-WITH-OWNER/seq2seq-code-generation/blob/main/notebooks/04_attention_seq2seq.ipynb) [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/REPLACE-WITH-OWNER/seq2seq-code-generation/main?labpath=notebooks%2F04_attention_seq2seq.ipynb)
#
#
# The model that removes the bottleneck. In this notebook you will learn:
#
# 1. how **additive attention** (Bahdanau, Cho & Bengio, 2015) lets the decoder look at every
#    docstring token at every step;
# 2. why the encoder is **bidirectional**, and how its final states are bridged into the decoder;
# 3. how to read an **attention heatmap** of a generated function;
# 4. what attention buys over the LSTM, and what it costs.

# %% slideshow={"slide_type": "skip"} tags=["parameters"]
profile = "quick"  # smoke, quick or full: which trained models, results and figures folder
seed = 1234  # the run's seed: runs/<profile>-seed<seed>/
retrain = False  # True: train this model here instead of loading the trained one

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
import torch
from IPython.display import HTML, display

from seq2seq_lib.models import build_model
from seq2seq_lib.course.notebook_helpers import (
    describe_model,
    describe_training,
    metrics_frame,
    parameter_counts,
    pick_examples,
    random_examples,
    show_source,
    test_results,
    trained_model,
)
from seq2seq_lib.course.visualize import plot_learning_curves
from seq2seq_lib.runtime import resolve_device
from seq2seq_lib.course.visualize import decode_examples, plot_attention

MODEL = "attention"

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The model: bidirectional encoder, additive attention, LSTM decoder
#
# A **bidirectional** LSTM reads the docstring left to right and right to left; the two states of each
# token are concatenated, $h_j = [h_j^{\rightarrow}; h_j^{\leftarrow}] \in \mathbb{R}^{2H}$ (forward; backward), so every $h_j$
# knows the whole docstring with a focus on token $j$. Their final states, through a linear layer and
# $\tanh$ (the *bridge*), give the decoder's initial state $s_0$.
#
# At each output step $t$ the decoder scores every source position $j$ with its previous state $s_{t-1}$,
#
# $$e_{tj} = v^\top \tanh\left(W_h\, h_j + W_s\, s_{t-1}\right),$$
#
# turns the scores into weights over the real (non-padding) tokens,
#
# $$\alpha_{tj} = \frac{\exp(e_{tj})}{\sum_{k=1}^{S} \exp(e_{tk})},$$
#
# and reads a **context vector** made for this step,
#
# $$c_t = \sum_{j=1}^{S} \alpha_{tj}\, h_j .$$

# %% [markdown] slideshow={"slide_type": "subslide"}
# The decoder LSTM then takes $[\,\text{emb}(y_{t-1}); c_t\,]$ as input,
# $s_t = \text{LSTM}\left([\text{emb}(y_{t-1}); c_t], s_{t-1}\right)$, and predicts
# $p(y_t \mid y_{<t}, x) = \operatorname{softmax}\left(W_o [s_t; c_t; \text{emb}(y_{t-1})] + b_o\right)$.
#
# Nothing has to squeeze the docstring into one vector any more, and the weights $\alpha_{t\cdot}$ are
# a by-product we can look at: which docstring word the model used for each code token. $W_h h_j$ does
# not depend on $t$, so it is computed once per docstring (the `keys` below).

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Copying docstring words.** Names are what such models get wrong, and the words of a name are often
# in the docstring. With `model.copy_forms: 4` (the quick profile) the attention weights do a second
# job: every code piece that spells docstring word $x_j$ (`user`, `##_user`, `##User`, `User`: up to
# four spellings, `seq2seq_lib/models/copy.py`) gets a bonus on its logit,
#
# $$\text{bonus}_t(w) = g_t \sum_{j} \alpha_{tj}\,[\,w \text{ spells } x_j\,], \qquad g_t = \operatorname{softplus}(u^\top f_t + b),$$
#
# where $f_t = [s_t; c_t; \text{emb}(y_{t-1})]$ is what the output layer reads: attention says which
# word to copy, the gate how strongly this step copies, and the output layer still picks the spelling.
# Notebook 5's ablation tables (`ablation_copy*.md`) measure it against the same model without copying.

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The equations in the package's code
#
# `seq2seq_lib/models/attention.py`, shown from the source this notebook runs. `AdditiveAttention`
# computes $e_{tj} = v^\top \tanh(W_h h_j + W_s s_{t-1})$, masks the padding, and returns the weights
# $\alpha_{tj}$ and the context $c_t$; the keys $W_h h_j$ are projected once per sentence
# (`project_keys`), not at every step. `_step` feeds $[\text{emb}(y_{t-1}); c_t]$ to the decoder's LSTM cell.

# %% slideshow={"slide_type": "fragment"}
from seq2seq_lib.models.attention import AdditiveAttention, AttentionSeq2Seq

show_source(AdditiveAttention.forward, AttentionSeq2Seq._step)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Shapes, step by step
#
# The model at toy size, on a batch of two docstrings: every tensor's shape, where it changes.
# $B$ is the batch size, $S$ the source length, $T$ the target length, $E$ the embedding size,
# $H$ the hidden size and $V$ the target vocabulary size.

# %% slideshow={"slide_type": "subslide"}
torch.manual_seed(seed)
tiny = build_model(MODEL, src_vocab_size=20, tgt_vocab_size=30, emb_dim=8, hidden_dim=16)
# two docstrings of 5 and 3 ids (ending in <eos> = 2), the second padded with <pad> = 0
src = torch.tensor([[5, 6, 7, 8, 2], [9, 10, 2, 0, 0]])  # (B=2, S=5)
src_lengths = torch.tensor([5, 3])  # (B,)
tgt_in = torch.tensor([[1, 11, 12, 13], [1, 14, 15, 0]])  # (B=2, T=4): <sos> = 1, then the gold code ids

# %% slideshow={"slide_type": "fragment"}
enc = tiny.encode(src, src_lengths)
print("memory h_1..h_S (BiLSTM):", tuple(enc.memory.shape), "(B, S, 2H)")
print("keys W_h h_j, once per docstring:", tuple(enc.keys.shape), "(B, S, H)")
print("decoder initial state s_0 (bridge):", tuple(enc.state.hidden.shape), "(1, B, H)")
out = tiny(src, src_lengths, tgt_in)
print("logits:", tuple(out.logits.shape), "(B, T, V); attention weights:", tuple(out.attn.shape), "(B, T, S)")
print("row sums of alpha (each 1):", [f"{x:.4f}" for x in out.attn.sum(-1).flatten().tolist()])
print("alpha of the padded docstring at step 1 (zero on its 2 pads):", [f"{x:.3f}" for x in out.attn[1, 0].tolist()])

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### How many parameters?

# %% slideshow={"slide_type": "fragment"}
print(parameter_counts(MODEL))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Training
#
# All three models share one training loop (`seq2seq_lib/training/loop.py`). The decoder is trained with
# **teacher forcing**: at step $t$ it receives the *gold* previous token $y_{t-1}$, not its own guess,
# and we minimise the mean cross-entropy over the real (non-padding) target tokens,
#
# $$\mathcal{L} = -\frac{1}{N}\sum_{n=1}^{N}\sum_{t=1}^{T_n} \log p_\theta\left(y^{(n)}_t \mid y^{(n)}_{<t}, x^{(n)}\right),$$
#
# with Adam, gradient clipping and early stopping on the validation loss; the checkpoint with the
# lowest validation loss is kept. The next cell loads the trained model: your own run
# (`runs/<profile>-seed<seed>/`) when it exists, otherwise the shipped weights (`weights/quick/`). Set
# `retrain = True` in the parameters cell to train it here instead.

# %% slideshow={"slide_type": "fragment"}
loaded, history = trained_model(ctx, MODEL, retrain)  # retrain = True: train it here first

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Learning curves
#
# Training loss, validation loss (both in nats per target token; $e^{\text{loss}}$ is the perplexity)
# and the validation token accuracy under teacher forcing, per epoch, from the saved history.

# %% slideshow={"slide_type": "fragment"}
fig = plot_learning_curves({MODEL: history}, metrics=("train_loss", "valid_loss", "valid_token_acc"),
                           title="Attention: a bidirectional encoder with Bahdanau attention: learning curves (per epoch)")
ctx.show(fig, "04_attention_learning_curves")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Results on the test set
#
# Now the model writes code on its own, from `<sos>` until `<eos>`, for every test docstring, including
# those longer than the training limits. How it searches (greedy or beam search, and where `<eos>` may
# come) was chosen for this model on the validation split; the line under the table says what it chose.
#
# What should we measure? A generated function can share a lot with its reference without reading the
# docstring at all: `def`, `self`, `return`, brackets, the shape of a block. So next to **chrF** (the
# character n-gram F-score of the code, 0-100) we report the **docstring gain**: chrF minus the chrF of
# the same outputs scored against *other* test pairs' references of similar length. Whatever a model
# earns from writing a plausible function of the right length it also earns against those; only what it
# took from *this* docstring is lost. Two baselines fitted on the same training data give the scale:
# **retrieval** returns the code of the most similar training docstring (TF-IDF), and the **constant**
# returns one function for every docstring, the one that scored best on the validation split; its gain
# is 0 by construction. *compiles* is the share of outputs that Python's `compile()` accepts. The
# intervals are 95% bootstrap confidence intervals over test pairs.

# %% slideshow={"slide_type": "fragment"}
results, baselines = test_results(ctx, MODEL, retrain)
ctx.table(metrics_frame([results, *baselines.values()]), "04_attention_test_metrics")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Examples
#
# Four test docstrings drawn at random with the notebook's seed (not picked for looking good), with
# the reference function, this model's output and the retrieval baseline's.

# %% slideshow={"slide_type": "fragment"}
display(HTML(random_examples(ctx, MODEL, results, baselines)))

# %% [markdown] slideshow={"slide_type": "slide"}
# ### Where does the model look?
#
# The attention weights of the first of the random examples above, decoded again with the profile's search:
# one row per generated code token, one column per docstring token, brighter = more weight. A bright
# cell under a docstring word next to an identifier piece of the same word is a copy; rows spread
# evenly over the docstring belong to tokens (such as `(` or `<newline>`) that need no particular word.
# Much of the weight often goes to the last column, `<eos>`: the encoder's forward pass has read the whole
# docstring by then, so that column is a summary of it, which the decoder consults when no single word
# is what it needs. Long outputs show their first 40 rows, so that every label stays readable.

# %% slideshow={"slide_type": "fragment"}
# the test pairs as the results file holds them, so no corpus is needed
indices = pick_examples(len(results["examples"]), 4, seed)  # the random examples above
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

# %% [markdown] slideshow={"slide_type": "slide"}
# ## What the numbers say

# %% slideshow={"slide_type": "fragment"}
print(describe_training(history, config.training.epochs))
print()
print(describe_model(results, baselines))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## What to try next
#
# * Run `python -m seq2seq_lib visualize --num-examples 5` for more heatmaps, and `python -m seq2seq_lib.lab.attention_stats` for the attention
#   entropy by docstring length, and open **notebook 6** to type your own docstrings.
# * Swap the additive score for a dot product, $e_{tj} = s_{t-1}^\top W h_j$ (Luong et al., 2015), in
#   `seq2seq_lib/models/attention.py` and compare speed and docstring gain.
# * The copying above only reaches names whose pieces are in the code vocabulary. A pointer-generator
#   (See et al., 2017) also copies words outside it, with an extended vocabulary per docstring.
#
# Next: **notebook 5** compares the three models on the same test set, with significance tests.
