"""Profiles load into dataclasses; typos and wrong types are one-line errors naming the key."""

import pytest

from seq2seq_lib.config import PROFILES, load_config, profile_config_path
from seq2seq_lib.errors import UserError


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_loads(profile):
    config = load_config(profile_config_path(profile))
    assert config.profile == profile
    assert config.models == ["rnn", "lstm", "attention"]
    assert config.run_name == f"{profile}-seed{config.seed}"
    assert len(config.digest()) == 12


def test_profiles_give_the_three_models_the_same_sizes():
    quick = load_config(profile_config_path("quick"))
    assert quick.model.emb_dim >= 64 and quick.training.epochs >= 1
    full = load_config(profile_config_path("full"))
    assert full.training.epochs > quick.training.epochs


def test_quick_and_full_choose_decoding_by_the_selection_scalar():
    quick, full = (load_config(profile_config_path(p)).decoding for p in ("quick", "full"))
    for decoding in (quick, full):
        assert decoding.calibrate_by == "chrf_gain_x_compiles" and sorted(decoding.method_grid) == ["beam", "greedy"]
    assert quick.calibration_key() == full.calibration_key()  # the same search settings and grid


def test_overrides_and_int_for_float(tmp_path):
    config = load_config(profile_config_path("smoke"), {"seed": 7, "training.lr": 1})
    assert config.seed == 7 and config.training.lr == 1.0 and isinstance(config.training.lr, float)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("training:\n  epochz: 3\n", "unknown key 'training.epochz'"),
        ("training:\n  epochs: three\n", "key 'training.epochs' has value 'three'"),
        ("models: [rnn, transformer]\n", "unknown model 'transformer'"),
        ("data: 5\n", "section 'data' must be a mapping"),
        ("training: [\n", "not valid YAML"),
    ],
)
def test_bad_configs_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match=message) as info:
        load_config(path)
    assert "\n" not in str(info.value)


def test_missing_config_and_unknown_profile():
    with pytest.raises(UserError, match="config file not found"):
        load_config("configs/nope.yaml")
    with pytest.raises(UserError, match="unknown profile 'fast'"):
        profile_config_path("fast")
