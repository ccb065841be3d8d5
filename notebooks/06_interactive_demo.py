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

# %% [markdown]
# # 6. Interactive demo: docstring in, code out
#
# In this notebook you **type a docstring and watch the models write code for it**. You will:
#
# 1. generate code for one example docstring and read its attention heatmap;
# 2. use the interactive demo below to try your own docstrings, switch between the three models
#    (`rnn`, `lstm`, `attention`) and change the beam width;
# 3. look for the places where the attention model *copies* words of the docstring into identifiers.
#
# The models are the quick-profile models of the earlier notebooks: your own training run
# (`runs/quick-seed1234/`) when it exists, otherwise the pretrained weights shipped in `weights/quick/`.
# Nothing needs to be trained to run this notebook.
#
# **How to read the heatmap.** Each *row* is one generated code token (top to bottom, in the order the
# decoder produced them); each *column* is one docstring token (the last column, `<eos>`, marks the
# end of the docstring). A cell's brightness is the attention weight: how much the decoder looked at
# that docstring token while producing that code token. Every row sums to 1. A bright diagonal-ish
# path means the model follows the docstring word by word; a bright cell under a name such as
# `lines` next to a generated identifier piece `lines` is a copy; a row of even, dull colour means
# the model did not rely on any particular word (typical for `(`, `:` and indentation).

# %% tags=["parameters"]
profile = "quick"  # smoke, quick or full: whose trained models to use
seed = 1234  # the training run's seed (runs/<profile>-seed<seed>/)

# %% [markdown]
# **On Google Colab** the next cell clones the project and installs it (Colab's preinstalled torch is
# kept: the package only asks for `torch>=2.1`). Elsewhere it does nothing.

# %%
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

# %%
# %matplotlib inline
import os
from functools import partial

from IPython.display import Code, display

from seq2seq_lib.course.demo import generate_code
from seq2seq_lib.course.demo_widget import build_demo
from seq2seq_lib.errors import UserError
from seq2seq_lib.config import PROJECT_ROOT
from seq2seq_lib.course.visualize import plot_attention

os.chdir(PROJECT_ROOT)  # relative paths (runs/, weights/, figures/) are the project's

# %% [markdown]
# ## One example
#
# The attention model with beam search (beam width 5). The printed time is for tokenizing, the beam
# search and detokenizing, on the CPU.

# %%
docstring = "Return the number of lines in a text file, ignoring empty lines."
try:
    result = generate_code(docstring, model_name="attention", beam_width=5, profile=profile, seed=seed)
except UserError as error:  # no trained model yet: the message says how to get one
    print(error)
else:
    print(f"{len(result.tgt_tokens)} code tokens in {1000 * result.seconds:.0f} ms")
    display(Code(result.code, language="python"))
    display(plot_attention(result.attention, result.src_tokens, result.tgt_tokens, "Attention of the example"))

# %% [markdown]
# ## Try it yourself
#
# Type a docstring, pick a model and a beam width, and press **Generate**. The code appears below the
# button and, for the attention model, its heatmap under it. Things to try:
#
# * the same docstring with `rnn`, `lstm` and `attention`: which one uses the words of the docstring?
# * beam width 1 (greedy) against 5 and 10: does a wider beam give shorter, safer code?
# * a docstring that names a variable (`Return the path of the config file`): is `path` or `config` copied?
# * a long, two-sentence docstring: where does the attention go once the docstring is longer?

# %%
build_demo(partial(generate_code, profile=profile, seed=seed))

# %% [markdown]
# Viewing this notebook on GitHub (or in an export) where widgets cannot run? This is what the demo
# looks like in a browser (an HTML image tag: Voila cannot inline Markdown images from outside the
# notebook's folder):
#
# <img src="../figures/demo_screenshot.png" alt="The interactive demo: a docstring, the generated code and the attention heatmap" width="720">
