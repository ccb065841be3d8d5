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
# # 3. Long short-term memory (LSTM) encoder-decoder
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/REPLACE-WITH-OWNER/seq2seq-code-generation/blob/main/notebooks/03_lstm_seq2seq.ipynb) [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/REPLACE-WITH-OWNER/seq2seq-code-generation/main?labpath=notebooks%2F03_lstm_seq2seq.ipynb)
#
#
# The same encoder-decoder with a better cell. In this notebook you will learn:
#
# 1. how the **LSTM** (Hochreiter & Schmidhuber, 1997) keeps information over long sequences with a
#    cell state and three gates;
# 2. how the gates change the tensors the encoder passes to the decoder (a pair $(h, c)$ instead of $h$);
# 3. what it costs in parameters and time, and what it buys on our test set.

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
import pandas as pd
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
from seq2seq_lib.io_utils import read_json

MODEL = "lstm"

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The model: LSTM encoder and decoder
#
# The LSTM keeps a **cell state** $c_t$ next to the hidden state $h_t$. Three gates in $(0, 1)$ decide what to
# write, what to keep and what to show, and a candidate $g_t$ is what could be written:
#
# $$
# \begin{aligned}
# i_t &= \sigma\left(W_{xi}\, x_t + W_{hi}\, h_{t-1} + b_i\right) && \text{input gate}\\
# f_t &= \sigma\left(W_{xf}\, x_t + W_{hf}\, h_{t-1} + b_f\right) && \text{forget gate}\\
# o_t &= \sigma\left(W_{xo}\, x_t + W_{ho}\, h_{t-1} + b_o\right) && \text{output gate}\\
# g_t &= \tanh\left(W_{xg}\, x_t + W_{hg}\, h_{t-1} + b_g\right) && \text{candidate}\\
# c_t &= f_t \odot c_{t-1} + i_t \odot g_t\\
# h_t &= o_t \odot \tanh(c_t)
# \end{aligned}
# $$

# %% [markdown] slideshow={"slide_type": "subslide"}
# The update of $c_t$ is **additive**: when the forget gate is close to 1, $\partial c_t / \partial c_{t-1} \approx f_t$
# stays close to 1 and gradients survive many steps, which the $\tanh$ recurrence of the vanilla RNN
# cannot do. Everything else is as in notebook 2: the encoder's final $(h_S, c_S)$ initialises the
# decoder, so the docstring still passes through a fixed-size **bottleneck**, now of $2H$ numbers.
# Four gates' worth of weights make the recurrent layers four times larger than the RNN's.

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The equations in the package's code
#
# The LSTM model is the RNN model of notebook 2 with another cell: `seq2seq_lib/models/lstm.py` changes
# one line, the cell type, and PyTorch's `nn.LSTM` computes the gates above. The encoder's final
# $(h_S, c_S)$ start the decoder, as in `RecurrentSeq2Seq.encode` (shown from the package's source).

# %% slideshow={"slide_type": "fragment"}
from seq2seq_lib.models.lstm import LSTMSeq2Seq
from seq2seq_lib.models.rnn import RecurrentSeq2Seq

show_source(LSTMSeq2Seq, RecurrentSeq2Seq.encode)

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
print("encoder final state: h_S", tuple(enc.state.hidden.shape), "and c_S", tuple(enc.state.cell.shape), "(layers, B, H)")
out = tiny(src, src_lengths, tgt_in)
print("logits over the code vocabulary:", tuple(out.logits.shape), "(B, T, V)")
logits, state, attn = tiny.decode_step(tgt_in[:, 0], enc.state, enc)
print("one decoder step:", tuple(logits.shape), "(B, V); new (h, c):", tuple(state.hidden.shape), tuple(state.cell.shape))
print("recurrent weights W_h of the encoder:", tuple(tiny.encoder.weight_hh_l0.shape), "= (4H, H): the four gates stacked")

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
                           title="Long short-term memory (LSTM) encoder-decoder: learning curves (per epoch)")
ctx.show(fig, "03_lstm_learning_curves")

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
ctx.table(metrics_frame([results, *baselines.values()]), "03_lstm_test_metrics")

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
# ## Why are its outputs so short?
#
# The LSTM's validation loss is lower than the RNN's, yet its test chrF is lower too, and its outputs
# are about half as long as their references (*length ratio* above). Is the model worse, or the search?
# `python -m seq2seq_lib.lab.length_probe` decodes 300 seeded validation pairs once with the profile's
# search and once per change to it. *vs target* is the output length over the length the docstring
# predicts (the target before which the `<eos>` penalty applies); *ended at target* counts outputs that
# stop within 2 pieces of it.

# %% slideshow={"slide_type": "fragment"}
probe = paths.results_dir / "length_probe.json"
if probe.is_file():
    rows = [row for row in read_json(probe)["rows"] if row["model"] == MODEL]
    display(ctx.table(pd.DataFrame(rows).drop(columns=["model", "seconds"]), "03_lstm_length_probe"))
else:
    print(f"No length probe yet: run `python -m seq2seq_lib.lab.length_probe --profile {config.profile}`.")

# %% [markdown] slideshow={"slide_type": "fragment"}
# Read the rows against the first one. Under beam search the LSTM ends well before its target although
# `<eos>` costs it a penalty there: the model gives `<eos>` so much probability that a short, likely
# ending beats every longer hypothesis in the beam. Greedy search, or forbidding `<eos>` before the
# target, brings its outputs to their target, and chrF rises with the length, while the docstring gain
# hardly moves; forbidding `<eos>` also makes far fewer outputs compile (the profile's search was chosen
# by gain x compile rate, for all three models alike). So the short outputs are the *search's* doing; how little the code depends on the
# docstring is the *model's*: its one fixed context vector (notebook 5 shows that a shuffled docstring
# changes its loss only in the first pieces of a function).

# %% [markdown] slideshow={"slide_type": "slide"}
# ## What to try next
#
# * Compare these curves with notebook 2's: does the LSTM reach a lower validation loss, and in how many epochs?
# * Train with `training.teacher_forcing: 0.5` so that the decoder is fed its own guesses half of the time and learns from its mistakes.
# * Increase `model.num_layers` to 2: a deeper encoder, but still one fixed context.
#
# Next: **notebook 4** removes the bottleneck: the decoder looks back at every docstring token.
