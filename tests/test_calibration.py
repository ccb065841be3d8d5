"""Length calibration: the <eos> penalty is chosen by validation BLEU, stored once, and used by evaluation."""

import pytest

from seq2seq_lib import calibration
from seq2seq_lib.calibration import calibrate_checkpoint
from seq2seq_lib.checkpoints import load_model, read_checkpoint
from seq2seq_lib.config import DecodingConfig, load_config, profile_config_path
from seq2seq_lib.evaluation import validation_scores
from seq2seq_lib.experiment import RunPaths, prepare_training_data
from seq2seq_lib.training import train_model

GRID = [0.0, 1.5, 4.0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny attention model trained for two epochs, with its validation records."""
    root = tmp_path_factory.mktemp("calibration")
    config = load_config(profile_config_path("smoke"), {
        "profile": "unit", "data.max_train_pairs": 96, "data.max_valid_pairs": 24, "data.max_tgt_len": 60,
        "data.src_vocab_size": 200, "data.tgt_vocab_size": 200, "model.emb_dim": 16, "model.hidden_dim": 16,
        "training.epochs": 2, "decoding.method": "greedy", "decoding.max_len": 40, "decoding.eos_penalty_grid": GRID,
        "decoding.calibration_pairs": 12,
    })
    data = prepare_training_data(config, RunPaths(root, config.profile, config.seed))
    result = train_model("attention", config, data, root / "attention", progress=False)
    return config, result.best_checkpoint, data.valid_records[:12]


def test_the_penalty_with_the_best_validation_bleu_is_stored(trained, monkeypatch):
    config, path, records = trained
    chosen = calibrate_checkpoint(path, config.decoding, records, "cpu")
    assert list(chosen["valid_bleu"]) == ["0.0", "1.5", "4.0"] and chosen["key"] == config.decoding.calibration_key()
    product = {p: b * chosen["valid_parses"][p] for p, b in chosen["valid_bleu"].items()}
    best = max(product.values())
    assert chosen["eos_penalty"] == min(float(p) for p, v in product.items() if v == best)
    loaded = load_model(path)
    assert loaded.calibrations == [chosen]
    decoding = config.decoding.calibrated(loaded.calibrations)
    assert decoding.eos_penalty == chosen["eos_penalty"]
    again = validation_scores(loaded.model, loaded.preprocessor, records, decoding, "cpu")
    key = str(chosen["eos_penalty"])
    assert again == pytest.approx({"bleu": chosen["valid_bleu"][key], "parses": chosen["valid_parses"][key]})

    def fail(*args, **kwargs):
        raise AssertionError("recalibrated although the settings did not change")

    monkeypatch.setattr(calibration, "calibrate", fail)
    assert calibrate_checkpoint(path, config.decoding, records, "cpu") == chosen
    monkeypatch.undo()


def test_other_decoding_settings_get_their_own_calibration(trained):
    config, path, records = trained
    first = calibrate_checkpoint(path, config.decoding, records, "cpu")
    unblocked = DecodingConfig(**{**vars(config.decoding), "no_repeat_ngram": 3})
    regridded = DecodingConfig(**{**vars(config.decoding), "eos_penalty_grid": [0.0, 2.0]})
    assert calibrate_checkpoint(path, unblocked, records, "cpu")["key"]["no_repeat_ngram"] == 3
    assert list(calibrate_checkpoint(path, regridded, records, "cpu")["valid_bleu"]) == ["0.0", "2.0"]
    stored = read_checkpoint(path)["calibrations"]
    assert len(stored) == 3 and stored[0] == first  # the first settings' choice is kept, not overwritten
    assert config.decoding.matching_calibration(stored) == first
    assert unblocked.matching_calibration(stored)["key"]["no_repeat_ngram"] == 3


def test_without_a_grid_nothing_is_calibrated(trained):
    config, path, records = trained
    plain = DecodingConfig(eos_penalty=0.7)
    assert calibrate_checkpoint(path, plain, records, "cpu") is None
    other = {"eos_penalty": 3.0, "key": DecodingConfig(eos_penalty_grid=[0.0, 3.0]).calibration_key()}
    assert plain.calibrated([other]) is plain
    assert DecodingConfig(eos_penalty_grid=[0.0, 3.0]).calibrated([other]).eos_penalty == 3.0
    assert DecodingConfig(eos_penalty_grid=[0.0, 3.0], max_len=10).calibrated([other]).eos_penalty == 0.0
    assert "eos_penalty_grid" not in plain.search_options() and plain.search_options()["eos_penalty"] == 0.7


def test_evaluation_says_when_no_calibration_matches_its_settings(smoke_run, tmp_path, capsys):
    from seq2seq_lib.evaluation import evaluate_models

    config = load_config(profile_config_path("smoke"), {"decoding.eos_penalty_grid": [0.0, 1.0], "decoding.max_len": 10})
    evaluate_models(config, ["attention"], split="valid", max_examples=4, out_dir=tmp_path, baselines=False)
    assert "no <eos> calibration for these decoding settings" in capsys.readouterr().out
    saved = (tmp_path / "attention" / "evaluation_results.json").read_text()
    assert '"calibration": null' in saved and '"eos_penalty": 0.0' in saved
