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


def test_the_full_profile_trains_on_more_pairs_and_is_scored_on_quick_s_valid_and_test_files():
    import json

    from seq2seq_lib.data.corpus import committed_manifest
    from seq2seq_lib.paths import resolve_path

    quick, full = (load_config(profile_config_path(name)) for name in ("quick", "full"))
    outputs = {config.profile: json.loads(committed_manifest(resolve_path(config.data.corpus_dir)).read_text())["outputs"]
               for config in (quick, full)}
    assert outputs["full"]["train.jsonl.gz"]["records"] >= 150_000
    for split in ("valid.jsonl.gz", "test.jsonl.gz"):
        assert outputs["full"][split]["sha256"] == outputs["quick"][split]["sha256"]
    updates = {config.profile: config.training.epochs * outputs[config.profile]["train.jsonl.gz"]["records"]
               for config in (quick, full)}
    assert updates["full"] > updates["quick"]


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
