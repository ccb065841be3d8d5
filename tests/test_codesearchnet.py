"""The CodeSearchNet loader: schema mapping on a local fixture and the offline error."""

import json
from pathlib import Path

import pytest

from seq2seq_lib import codesearchnet
from seq2seq_lib.errors import UserError

FIXTURE = Path(__file__).parent / "fixtures" / "codesearchnet_sample.jsonl"


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """Never touch the network (also when `datasets` was imported earlier) and cache inside tmp_path."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf_cache"))
    import datasets.config
    import huggingface_hub.constants

    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf_cache")


def test_maps_fixture_to_our_schema():
    records = codesearchnet.load_codesearchnet("train", data_files=FIXTURE)
    assert [r["func_name"] for r in records] == ["area", "Square.perimeter"]
    area = records[0]
    assert list(area) == list(codesearchnet.RECORD_FIELDS)  # func_code_url and other extra fields are dropped
    assert area["func_documentation_string"] == "Compute the area of a circle."
    assert area["func_documentation_tokens"] == ["Compute", "the", "area", "of", "a", "circle", "."]
    assert area["split_name"] == "train"
    raw = json.loads(FIXTURE.read_text().splitlines()[0])
    assert area["whole_func_string"] == raw["whole_func_string"]
    assert area["func_code_tokens"] == raw["func_code_tokens"]


@pytest.mark.parametrize(("split", "names"), [
    ("valid", ["strip_tags"]),
    ("validation", ["strip_tags"]),
    ("test", ["is_open", "free_port"]),
])
def test_split_names_are_mapped(split, names):
    records = codesearchnet.load_codesearchnet(split, data_files=[FIXTURE])
    assert [r["func_name"] for r in records] == names
    assert {r["split_name"] for r in records} == {"valid" if split.startswith("valid") else split}


def test_first_paragraph_is_rederived():
    [_, free_port] = codesearchnet.load_codesearchnet("test", data_files=FIXTURE)
    assert free_port["func_documentation_string"] == "Find a free local TCP port.\nBinds to port zero."


def test_offline_error_names_the_local_corpus(monkeypatch):
    import datasets

    def unreachable(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'code_search_net' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setattr(datasets, "load_dataset", unreachable)
    with pytest.raises(UserError) as info:
        codesearchnet.load_codesearchnet("test")
    message = str(info.value)
    assert "\n" not in message
    assert "data.source: local" in message
    assert "ConnectionError" in message


def test_offline_mode_without_cache_is_a_user_error():
    with pytest.raises(UserError, match="data.source: local"):
        codesearchnet.load_codesearchnet("test", dataset_id="code_search_net_not_cached_anywhere")


def test_other_errors_are_not_disguised(monkeypatch):
    import datasets

    def broken(*args, **kwargs):
        raise KeyError("func_name")

    monkeypatch.setattr(datasets, "load_dataset", broken)
    with pytest.raises(KeyError):
        codesearchnet.load_codesearchnet("train")


def test_bad_split_and_missing_file(tmp_path):
    with pytest.raises(UserError, match="unknown split"):
        codesearchnet.load_codesearchnet("dev", data_files=FIXTURE)
    with pytest.raises(UserError, match="not found"):
        codesearchnet.load_codesearchnet("train", data_files=tmp_path / "missing.jsonl")
