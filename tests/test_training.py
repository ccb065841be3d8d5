"""The shared training loop: loss masking, determinism, checkpoints, resumption, bad input."""

import math

import pytest
import torch

from seq2seq_lib.training import loop as training
from seq2seq_lib.training.checkpoints import load_model, read_checkpoint
from seq2seq_lib.config import load_config, profile_config_path
from seq2seq_lib.errors import UserError
from seq2seq_lib.paths import RunPaths
from seq2seq_lib.training.data import prepare_training_data
from seq2seq_lib.training.losses import sequence_loss
from seq2seq_lib.training.loop import train_model


def tiny_config(tmp_path, **training_overrides):
    """A very small experiment on the committed sample corpus."""
    overrides = {
        "profile": "unit", "data.max_train_pairs": 64, "data.max_valid_pairs": 16, "data.max_tgt_len": 60,
        "data.src_vocab_size": 200, "data.tgt_vocab_size": 200, "model.emb_dim": 16, "model.hidden_dim": 16,
        "training.epochs": 2, "training.batch_size": 16,
    }
    overrides.update({f"training.{k}": v for k, v in training_overrides.items()})
    return load_config(profile_config_path("smoke"), overrides)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """Encoded tiny training data shared by the tests of this module."""
    root = tmp_path_factory.mktemp("run")
    config = tiny_config(root)
    return prepare_training_data(config, RunPaths(root, config.profile, config.seed))


def test_sequence_loss_ignores_padding():
    logits = torch.randn(2, 3, 5)
    targets = torch.tensor([[1, 2, 0], [3, 0, 0]])
    loss, tokens = sequence_loss(logits, targets)
    manual = -torch.log_softmax(logits, -1)[[0, 0, 1], [0, 1, 0], [1, 2, 3]].mean()
    assert tokens == 3
    assert loss.item() == pytest.approx(manual.item(), rel=1e-6)


def test_training_writes_checkpoint_history_and_is_deterministic(tmp_path, tiny_data):
    config = tiny_config(tmp_path)
    first = train_model("lstm", config, tiny_data, tmp_path / "a", progress=False)
    second = train_model("lstm", config, tiny_data, tmp_path / "b", progress=False)
    assert len(first.history) == 2
    assert [h["train_loss"] for h in first.history] == [h["train_loss"] for h in second.history]
    assert first.history[1]["train_loss"] < first.history[0]["train_loss"]
    assert {"valid_loss", "valid_ppl", "valid_token_acc", "seconds", "tokens_per_second", "lr"} <= set(first.history[0])
    assert math.isclose(first.best_valid_loss, min(h["valid_loss"] for h in first.history))
    assert (tmp_path / "a" / "history.csv").read_text().startswith("epoch,")
    loaded = load_model(first.best_checkpoint)
    assert loaded.name == "lstm" and not loaded.model.training
    assert len(loaded.preprocessor.tgt_vocab) == loaded.model.tgt_vocab_size


def test_resume_after_interrupted_epoch_matches_uninterrupted_run(tmp_path, tiny_data, monkeypatch):
    config = tiny_config(tmp_path)
    straight = train_model("attention", config, tiny_data, tmp_path / "straight", progress=False)

    real_loader = training.make_loader
    calls = {"n": 0}

    def interrupted_loader(dataset, batch_size, shuffle, seed):
        """The training loader of the second epoch dies after one batch."""
        loader = real_loader(dataset, batch_size, shuffle=shuffle, seed=seed)
        if shuffle:
            calls["n"] += 1
            if calls["n"] == 2:
                def dying():
                    yield next(iter(loader))
                    raise KeyboardInterrupt
                return dying()
        return loader

    monkeypatch.setattr(training, "make_loader", interrupted_loader)
    with pytest.raises(KeyboardInterrupt):
        train_model("attention", config, tiny_data, tmp_path / "resumed", progress=False)
    assert read_checkpoint(tmp_path / "resumed" / "last.pt")["epoch"] == 1
    monkeypatch.setattr(training, "make_loader", real_loader)
    resumed = train_model("attention", config, tiny_data, tmp_path / "resumed", progress=False)
    assert resumed.resumed_from_epoch == 1
    assert [h["train_loss"] for h in resumed.history] == pytest.approx([h["train_loss"] for h in straight.history], abs=1e-6)
    assert resumed.best_valid_loss == pytest.approx(straight.best_valid_loss, abs=1e-6)
    assert [h["valid_loss"] for h in resumed.history] == pytest.approx([h["valid_loss"] for h in straight.history], abs=1e-6)


def test_early_stopping_stops_after_patience_epochs_without_improvement_and_stays_stopped(tmp_path, tiny_data, monkeypatch):
    losses = iter([3.0, 2.0, 2.5, 2.6, 1.0, 0.5])  # validation losses, epoch by epoch

    def scripted_validate(model, dataset, batch_size, device):
        """Validation that reports the next scripted loss."""
        return {"valid_loss": next(losses), "valid_ppl": 1.0, "valid_token_acc": 0.0}

    monkeypatch.setattr(training, "validate", scripted_validate)
    config = tiny_config(tmp_path, epochs=6, early_stopping_patience=2)
    result = train_model("rnn", config, tiny_data, tmp_path / "m", progress=False)
    assert [h["valid_loss"] for h in result.history] == [3.0, 2.0, 2.5, 2.6]  # two epochs after the best: stop
    assert result.best_epoch == 2 and read_checkpoint(result.best_checkpoint)["epoch"] == 2
    again = train_model("rnn", config, tiny_data, tmp_path / "m", progress=False)
    assert again.resumed_from_epoch == 4 and len(again.history) == 4  # a stopped run is not trained further


def test_resume_refuses_a_checkpoint_of_another_config(tmp_path, tiny_data):
    train_model("rnn", tiny_config(tmp_path, epochs=1), tiny_data, tmp_path / "m", progress=False)
    with pytest.raises(UserError, match="--force"):
        train_model("rnn", tiny_config(tmp_path, lr=0.01), tiny_data, tmp_path / "m", progress=False)
    more = train_model("rnn", tiny_config(tmp_path, epochs=2), tiny_data, tmp_path / "m", progress=False)
    assert more.resumed_from_epoch == 1 and len(more.history) == 2


def test_unreadable_checkpoint_is_a_one_line_error(tmp_path):
    bad = tmp_path / "checkpoint.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="cannot be read"):
        read_checkpoint(bad)
    with pytest.raises(UserError, match="checkpoint not found"):
        read_checkpoint(tmp_path / "missing.pt")


def test_selection_keeps_the_lowest_loss_epoch(tmp_path, tiny_data):
    result = train_model("rnn", tiny_config(tmp_path, epochs=2), tiny_data, tmp_path / "m", progress=False)
    losses = [h["valid_loss"] for h in result.history]
    assert result.best_epoch == 1 + losses.index(min(losses))
    assert read_checkpoint(result.best_checkpoint)["epoch"] == result.best_epoch


def test_teacher_forcing_below_one_trains_through_the_step_loop(tmp_path, tiny_data):
    forced = train_model("attention", tiny_config(tmp_path, epochs=1), tiny_data, tmp_path / "a", progress=False)
    mixed = train_model("attention", tiny_config(tmp_path, epochs=1, teacher_forcing=0.5), tiny_data, tmp_path / "b",
                        progress=False)
    assert mixed.history[0]["teacher_forcing"] == 0.5
    assert math.isfinite(mixed.history[0]["train_loss"])
    assert mixed.history[0]["train_loss"] != pytest.approx(forced.history[0]["train_loss"], abs=1e-6)


def test_removed_options_are_one_line_errors(tmp_path):
    with pytest.raises(UserError, match="unknown key 'training.label_smoothing'") as info:
        tiny_config(tmp_path, label_smoothing=0.1)
    assert "\n" not in str(info.value)


def test_resume_accepts_a_checkpoint_from_before_newer_config_keys(tmp_path, tiny_data):
    from seq2seq_lib.training.checkpoints import save_checkpoint

    train_model("rnn", tiny_config(tmp_path, epochs=1), tiny_data, tmp_path / "m", progress=False)
    old = read_checkpoint(tmp_path / "m" / "last.pt")
    del old["config"]["training"]["plateau_patience"]  # as written before this key existed: it takes its default
    old["config"]["training"]["label_smoothing"] = 0.0  # as written when this option existed: ignored
    del old["best_epoch"]  # the kept epoch comes from the history
    save_checkpoint(tmp_path / "m" / "last.pt", old)
    more = train_model("rnn", tiny_config(tmp_path, epochs=2, plateau_patience=0), tiny_data, tmp_path / "m", progress=False)
    losses = [h["valid_loss"] for h in more.history]
    assert more.resumed_from_epoch == 1 and more.best_epoch == 1 + losses.index(min(losses))


def test_a_run_copied_to_another_profile_goes_on_for_more_epochs(tmp_path, tiny_data):
    import shutil

    straight = train_model("rnn", tiny_config(tmp_path, epochs=2), tiny_data, tmp_path / "straight", progress=False)
    train_model("rnn", tiny_config(tmp_path, epochs=1), tiny_data, tmp_path / "short", progress=False)
    shutil.copytree(tmp_path / "short", tmp_path / "longer")
    longer = tiny_config(tmp_path, epochs=2)
    longer.profile, longer.models = "longer", ["rnn"]  # another name and model list: the same training
    resumed = train_model("rnn", longer, tiny_data, tmp_path / "longer", progress=False)
    assert resumed.resumed_from_epoch == 1
    assert [h["valid_loss"] for h in resumed.history] == pytest.approx([h["valid_loss"] for h in straight.history], abs=1e-6)

