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


def test_the_defaults_are_the_quick_recipe_and_smoke_states_every_key():
    import yaml

    from seq2seq_lib.config import Config

    quick = load_config(profile_config_path("quick"))
    assert quick.to_dict() == Config().to_dict()
    assert quick.decoding == load_config(profile_config_path("full")).decoding
    smoke = yaml.safe_load(profile_config_path("smoke").read_text())
    for section, values in Config().to_dict().items():
        if isinstance(values, dict):
            assert set(smoke[section]) == set(values), section  # so a change of default never changes the smoke run


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
