"""Decoding in worker processes gives exactly the outputs of decoding in this process."""

import pytest
import torch

from seq2seq_lib import calibration
from seq2seq_lib.checkpoints import load_model
from seq2seq_lib.evaluation import generate
from seq2seq_lib.parallel import DecodePool, decode_pool, default_jobs


@pytest.fixture(scope="module")
def trained(tmp_path_factory, train_tiny_attention):
    """A tiny attention model trained for two epochs, its beam-search config (syntax guard on) and 24 validation pairs."""
    config, checkpoint, valid = train_tiny_attention(tmp_path_factory.mktemp("parallel"), {
        "decoding.method": "beam", "decoding.beam_width": 3, "decoding.syntax_guard": True,
        "decoding.no_repeat_ngram": 4, "decoding.eos_penalty_grid": [0.0, 2.0], "decoding.calibration_pairs": 24,
    })
    return config, load_model(checkpoint), valid[:24]


def test_workers_decode_exactly_what_this_process_decodes(trained):
    config, loaded, records = trained
    decoding = config.decoding
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # this process on two threads, the workers on one each
    try:
        here = generate(loaded.model, loaded.preprocessor, records, decoding, torch.device("cpu"), batch_size=5).hypotheses
    finally:
        torch.set_num_threads(threads)
    with DecodePool(loaded.model, loaded.preprocessor, jobs=2) as pool:
        there = generate(loaded.model, loaded.preprocessor, records, decoding, torch.device("cpu"), batch_size=5, pool=pool)
    assert there.hypotheses == here  # batches of 5: five batches shared by two workers, reassembled in order
    assert len(set(here)) > 1 and any(here)


def test_calibration_in_workers_chooses_and_scores_alike(trained):
    config, loaded, records = trained
    device = torch.device("cpu")
    alone = calibration.calibrate(loaded.model, loaded.preprocessor, records, config.decoding, device, jobs=1)
    shared = calibration.calibrate(loaded.model, loaded.preprocessor, records, config.decoding, device, jobs=2)
    assert shared == alone and list(alone["valid_bleu"]) == ["0.0", "2.0"]


def test_one_job_or_a_gpu_decodes_in_this_process(trained):
    _, loaded, _ = trained
    with decode_pool(loaded.model, loaded.preprocessor, "cpu", 1) as pool:
        assert pool is None
    with decode_pool(loaded.model, loaded.preprocessor, torch.device("cuda"), 4) as pool:
        assert pool is None  # no worker is started for a GPU (none is needed to check the choice)
    assert 1 <= default_jobs() <= 8
