"""Test-suite settings: one torch thread (tiny tensors run faster without OpenMP spinning) and no hub access."""

import os

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("SEQ2SEQ_TEXT_PROGRESS", "1")

import torch  # noqa: E402  (after the environment is set)

torch.set_num_threads(1)

import pytest  # noqa: E402
from pathlib import Path  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium, which the browser tests drive; a one-line failure naming the fix when it is missing."""
    if not CHROMIUM.is_file():
        pytest.fail(f"no browser at {CHROMIUM}: install it with `apt-get install chromium` (CI's .ci/run does)")
    return CHROMIUM


@pytest.fixture(scope="session")
def smoke_run():
    """Train and evaluate the smoke profile once per test session (about a minute on 2 cores).

    Outputs go to runs/smoke-seed1234 and results/smoke (gitignored); returns the loaded config.
    """
    from seq2seq_lib.config import load_config, profile_config_path
    from seq2seq_lib.pipeline import train_and_evaluate

    config = load_config(profile_config_path("smoke"))
    train_and_evaluate(config, force=True)  # as run_all does: each model decoded while the others still train
    return config
