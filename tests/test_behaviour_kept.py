"""Behaviour the package must keep through refactors: what the shipped weights write, and what smoke training logs.

The fixtures in tests/fixtures/behaviour/ were written before the package was reorganised (the commit tagged
`lab-history`): 16 seeded test-split pairs decoded by the shipped quick weights with the decoding each model was then
calibrated to (now the quick profile's fixed decoding), and the smoke profile's per-epoch losses.
"""

import json
from pathlib import Path

import pytest
import torch

from seq2seq_lib.config import load_config, profile_config_path
from seq2seq_lib.decoding.search import decode_records
from seq2seq_lib.paths import run_paths
from seq2seq_lib.training.checkpoints import find_model_checkpoint, load_model

FIXTURES = Path(__file__).parent / "fixtures" / "behaviour"
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["rnn", "lstm", "attention"])
def test_shipped_weights_decode_as_before(name):
    fixture = json.loads((FIXTURES / "shipped_decodes.json").read_text())
    config = load_config(profile_config_path("quick"))
    loaded = load_model(ROOT / "weights" / "quick" / f"{name}.pt", torch.device("cpu"))
    decoded = decode_records(loaded.model, fixture["pairs"], config.decoding, loaded.preprocessor, torch.device("cpu"))
    outputs = [loaded.preprocessor.decode_tgt(tokens) for tokens, _ in decoded]
    assert outputs == fixture["outputs"][name]


def test_smoke_losses_as_before(smoke_run):
    expected = json.loads((FIXTURES / "smoke_losses.json").read_text())
    paths = run_paths(smoke_run)
    for name, epochs in expected.items():
        history = load_model(find_model_checkpoint(paths.run_dir, name, "smoke"), torch.device("cpu")).history
        assert len(history) == len(epochs)
        for got, want in zip(history, epochs):
            for key, value in want.items():
                assert got[key] == pytest.approx(value, rel=1e-4), (name, key)
