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
# # 2. A recurrent encoder-decoder (vanilla RNN)
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/REPLACE-WITH-OWNER/seq2seq-code-generation/blob/main/notebooks/02_rnn_seq2seq.ipynb) [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/REPLACE-WITH-OWNER/seq2seq-code-generation/main?labpath=notebooks%2F02_rnn_seq2seq.ipynb)
#
#
# The simplest neural model that maps a sequence to a sequence. In this notebook you will learn:
#
# 1. how an **encoder** RNN reads a docstring into one vector, and a **decoder** RNN writes code from it
#    (Sutskever et al., 2014; Cho et al., 2014);
# 2. the recurrence behind it, and the shape of every tensor on the way;
# 3. how the model is trained (teacher forcing, cross-entropy) and how it is evaluated (greedy or beam search; chrF and its docstring gain);
# 4. what such a model gets right and wrong on real docstrings.

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
    random_examples,
    show_source,
    test_results,
    trained_model,
)
from seq2seq_lib.course.visualize import plot_learning_curves

MODEL = "rnn"

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The model: an encoder-decoder of two RNNs
#
# The **encoder** embeds each docstring token $x_t$ and updates a hidden state, one token at a time:
#
# $$h_t = \tanh\left(W_x\, x_t + W_h\, h_{t-1} + b\right), \qquad h_0 = 0.$$
#
# Its last state $h_S$ is the *fixed context*: the whole docstring, squeezed into $H$ numbers. The
# **decoder** is a second RNN that starts from $s_0 = h_S$ and, at each step, reads the previous code
# token and predicts the next one:
#
# $$s_t = \tanh\left(U_y\, y_{t-1} + U_s\, s_{t-1} + b_s\right), \qquad p(y_t \mid y_{<t}, x) = \operatorname{softmax}(W_o\, s_t + b_o).$$
#
# Generation starts with $y_0 = \texttt{<sos>}$ and stops at $\texttt{<eos>}$.

# %% [markdown] slideshow={"slide_type": "subslide"}
# Two weaknesses follow from the equations and motivate the next two notebooks:
#
# * the gradient through $\tanh$ is multiplied by $W_h$ at every step, so it tends to **vanish** over
#   long docstrings and long functions (Bengio et al., 1994) → the LSTM of notebook 3;
# * everything the decoder knows about the docstring must pass through $h_S$, a **bottleneck** that
#   is the same for every output step → attention in notebook 4.

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The equations in the package's code
#
# `seq2seq_lib/models/rnn.py`, shown from the source this notebook runs: `encode` packs the padded batch
# so that $h_S$ is each docstring's own last state; `decode_step` is one step of the decoder equation
# followed by the output layer $W_o s_t + b_o$.

# %% slideshow={"slide_type": "fragment"}
from seq2seq_lib.models.rnn import RecurrentSeq2Seq

show_source(RecurrentSeq2Seq.encode, RecurrentSeq2Seq.decode_step)

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
enc = tiny.encode(src, src_lengths)  # packed sequence: padding never enters the recurrence
print("encoder final state h_S:", tuple(enc.state.hidden.shape), "(layers, B, H)")
out = tiny(src, src_lengths, tgt_in)  # teacher forcing: all T steps at once
print("logits over the code vocabulary:", tuple(out.logits.shape), "(B, T, V)")
logits, state, attn = tiny.decode_step(tgt_in[:, 0], enc.state, enc)  # one step of generation
print("one decoder step:", tuple(logits.shape), "(B, V); new state", tuple(state.hidden.shape), "; attention:", attn)

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
# `retrain = True` in the parameters cell to train it here instead. One epoch of that loop:

# %% slideshow={"slide_type": "fragment"}
from seq2seq_lib.training.loop import train_epoch

show_source(train_epoch)

# %% slideshow={"slide_type": "fragment"}
loaded, history = trained_model(ctx, MODEL, retrain)  # retrain = True: train it here first

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Learning curves
#
# Training loss, validation loss (both in nats per target token; $e^{\text{loss}}$ is the perplexity)
# and the validation token accuracy under teacher forcing, per epoch, from the saved history.

# %% slideshow={"slide_type": "fragment"}
fig = plot_learning_curves({MODEL: history}, metrics=("train_loss", "valid_loss", "valid_token_acc"),
                           title="A recurrent encoder-decoder (vanilla RNN): learning curves (per epoch)")
ctx.show(fig, "02_rnn_learning_curves")

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
ctx.table(metrics_frame([results, *baselines.values()]), "02_rnn_test_metrics")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Examples
#
# Four test docstrings drawn at random with the notebook's seed (not picked for looking good), with
# the reference function, this model's output and the retrieval baseline's.

# %% slideshow={"slide_type": "fragment"}
display(HTML(random_examples(ctx, MODEL, results, baselines)))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## What the numbers say

# %% slideshow={"slide_type": "fragment"}
print(describe_training(history, config.training.epochs))
print()
print(describe_model(results, baselines))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## What to try next
#
# * Set `retrain = True` and a larger `model.hidden_dim` in the profile: does the fixed context hold more of the docstring?
# * Decode greedily instead of with beam search (`python -m seq2seq_lib evaluate --greedy --split valid`) and compare chrF, its docstring gain and length.
# * Look at the examples again: does the generated code use any word of the docstring, or only frequent code?
#
# Next: **notebook 3** replaces the RNN cell with an LSTM, which keeps gradients alive over long sequences.
