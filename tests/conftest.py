"""Test-suite settings: one torch thread (tiny tensors run faster without OpenMP spinning) and no hub access."""

import os

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("SEQ2SEQ_TEXT_PROGRESS", "1")

import torch  # noqa: E402  (after the environment is set)

torch.set_num_threads(1)
