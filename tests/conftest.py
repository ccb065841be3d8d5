"""Test-suite settings: one torch thread (tiny tensors run faster without OpenMP spinning) and no hub access."""

import os

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("SEQ2SEQ_TEXT_PROGRESS", "1")

import torch  # noqa: E402  (after the environment is set)

torch.set_num_threads(1)

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def smoke_run():
    """Train and evaluate the smoke profile once per test session (about a minute on 2 cores).

    Outputs go to runs/smoke-seed1234 and results/smoke (gitignored); returns the loaded config.
    """
    from seq2seq_lib.config import load_config, profile_config_path
    from seq2seq_lib.evaluation import evaluate_models
    from seq2seq_lib.pipeline import train_models

    config = load_config(profile_config_path("smoke"))
    train_models(config, list(config.models), force=True, progress=False)
    evaluate_models(config, list(config.models), split="test")
    return config


TINY = {  # a model small enough to train in seconds, on a corner of the committed sample
    "profile": "unit", "data.max_train_pairs": 96, "data.max_valid_pairs": 24, "data.max_tgt_len": 60,
    "data.src_vocab_size": 200, "data.tgt_vocab_size": 200, "model.emb_dim": 16, "model.hidden_dim": 16,
    "training.epochs": 2, "decoding.max_len": 40,
}


@pytest.fixture(scope="session")
def train_tiny_attention():
    """A function (folder, config overrides) -> (config, checkpoint path, validation records) that trains a tiny
    attention model for two epochs on the smoke profile with TINY and the overrides."""
    from seq2seq_lib.config import load_config, profile_config_path
    from seq2seq_lib.experiment import RunPaths, prepare_training_data
    from seq2seq_lib.training import train_model

    def train(root, overrides):
        config = load_config(profile_config_path("smoke"), {**TINY, **overrides})
        data = prepare_training_data(config, RunPaths(root, config.profile, config.seed))
        result = train_model("attention", config, data, root / "attention", progress=False)
        return config, result.best_checkpoint, data.valid_records

    return train
