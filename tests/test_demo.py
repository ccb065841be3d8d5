"""Tests for the demo function (docstring -> code + attention) and the widget wiring."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch

from seq2seq_lib.training.checkpoints import save_checkpoint
from seq2seq_lib.config import PROJECT_ROOT, Config
from seq2seq_lib.course.demo import DemoResult, generate_code, get_model
from seq2seq_lib.course.demo_widget import build_demo
from seq2seq_lib.errors import UserError
from seq2seq_lib.io_utils import read_jsonl_gz
from seq2seq_lib.models import build_model
from seq2seq_lib.data.preprocess import Preprocessor

SAMPLE_TRAIN = PROJECT_ROOT / "data" / "sample" / "train.jsonl.gz"
DOCSTRING = "Return the sum of all the numbers in a list, skipping values that are None or empty strings."


def tiny_checkpoint(path: Path, model_name: str = "attention", records: int = 40) -> Path:
    """Save an untrained tiny model + a preprocessor fitted on a few sample records, in training.py's format."""
    pre = Preprocessor.fit(read_jsonl_gz(SAMPLE_TRAIN)[:records], src_vocab_size=300, tgt_vocab_size=300, min_freq=1)
    kwargs = {"src_vocab_size": len(pre.src_vocab), "tgt_vocab_size": len(pre.tgt_vocab), "emb_dim": 16,
              "hidden_dim": 16, "num_layers": 1, "dropout": 0.0, "tie_embeddings": False}
    torch.manual_seed(0)
    model = build_model(model_name, **kwargs)
    save_checkpoint(path, {
        "model_name": model_name, "model_kwargs": kwargs, "model_state": model.state_dict(),
        "preprocessor": pre.to_dict(), "config": Config(profile="unit").to_dict(), "history": [], "train_seconds": 0.0,
    })
    return path


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny attention and lstm checkpoints."""
    root = tmp_path_factory.mktemp("demo")
    return {name: tiny_checkpoint(root / name / "checkpoint.pt", name) for name in ("attention", "lstm")}


def test_generate_code_returns_code_tokens_and_attention(checkpoints: dict[str, Path]) -> None:
    result = generate_code(DOCSTRING, beam_width=3, max_len=20, checkpoint=checkpoints["attention"])
    assert isinstance(result.code, str)
    assert 0 < len(result.tgt_tokens) <= 20
    assert result.src_tokens[-1] == "<eos>" and "sum" in result.src_tokens
    assert result.attention is not None
    assert result.attention.shape == (len(result.tgt_tokens), len(result.src_tokens))
    np.testing.assert_allclose(result.attention.sum(axis=1), 1.0, atol=1e-5)
    assert result.seconds > 0 and result.model_name == "attention"


def test_models_without_attention_give_none(checkpoints: dict[str, Path]) -> None:
    result = generate_code(DOCSTRING, model_name="lstm", beam_width=1, max_len=10, checkpoint=checkpoints["lstm"])
    assert result.attention is None and result.model_name == "lstm"


def test_models_are_cached(checkpoints: dict[str, Path]) -> None:
    assert get_model(checkpoints["attention"]) is get_model(checkpoints["attention"])


@pytest.mark.parametrize("docstring", ["", "   \n\t "])
def test_empty_docstring_is_a_friendly_error(docstring: str, checkpoints: dict[str, Path]) -> None:
    with pytest.raises(UserError, match="type a docstring"):
        generate_code(docstring, checkpoint=checkpoints["attention"])


def test_bad_model_and_beam_are_friendly_errors(checkpoints: dict[str, Path]) -> None:
    with pytest.raises(UserError, match="unknown model"):
        generate_code(DOCSTRING, model_name="transformer")
    with pytest.raises(UserError, match="beam width"):
        generate_code(DOCSTRING, beam_width=0, checkpoint=checkpoints["attention"])


def test_no_trained_model_names_the_fix() -> None:
    with pytest.raises(UserError, match="no trained 'attention' model.*train"):
        generate_code(DOCSTRING, profile="full", seed=987654321)


def fake_result(model_name: str = "attention") -> DemoResult:
    """A hand-made generation (2 code tokens over 3 docstring tokens)."""
    attention = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1]]) if model_name == "attention" else None
    return DemoResult("def f(x):\n    return x\n", ["add", "one", "<eos>"], ["def", "f"], attention, 0.012, model_name, Path("x.pt"),
                      max_len=400, trained_src_len=40)


def test_widget_shows_code_and_heatmap_on_click() -> None:
    calls = []

    def generate(docstring: str, model_name: str, beam_width: int) -> DemoResult:
        calls.append((docstring, model_name, beam_width))
        return fake_result(model_name)

    demo = build_demo(generate)
    demo.docstring.value, demo.beam.value = "add one", 7
    demo.button.click()
    assert calls == [("add one", "attention", 7)]
    assert "demo-code" in demo.code.value and "return" in demo.code.value and "<span" in demo.code.value
    assert bytes(demo.heatmap.value).startswith(b"\x89PNG") and demo.heatmap.layout.display != "none"
    assert "12 ms" in demo.status.value and not demo.button.disabled

    demo.model.value = "rnn"
    demo.button.click()
    assert calls[-1][1] == "rnn"
    assert demo.heatmap.layout.display == "none" and "only for the attention model" in demo.status.value


def test_widget_shows_errors_as_messages() -> None:
    def generate(docstring: str, model_name: str, beam_width: int) -> DemoResult:
        raise UserError("no trained 'attention' model for profile 'quick'")

    demo = build_demo(generate)
    demo.button.click()
    assert "demo-error" in demo.status.value and "no trained" in demo.status.value
    assert demo.code.value == "" and demo.heatmap.layout.display == "none" and not demo.button.disabled


def test_widget_with_the_real_generator(checkpoints: dict[str, Path]) -> None:
    demo = build_demo(partial(generate_code, max_len=15, checkpoint=checkpoints["attention"]))
    demo.docstring.value = "   "
    demo.button.click()
    assert "type a docstring" in demo.status.value
    demo.docstring.value = DOCSTRING
    demo.button.click()
    assert "demo-code" in demo.code.value and bytes(demo.heatmap.value).startswith(b"\x89PNG")


def test_demo_uses_the_decoding_of_the_model_config(checkpoints: dict[str, Path]) -> None:
    from seq2seq_lib.course.demo import decoding_options, get_model

    loaded = get_model(checkpoints["attention"])
    loaded.config.setdefault("decoding", {}).update(no_repeat_ngram=1, eos_penalty=0.5)
    try:
        options = decoding_options(loaded)
        assert options.no_repeat_ngram == 1 and options.eos_penalty == 0.5
        result = generate_code("return the sum of a list", max_len=20, beam_width=2, checkpoint=checkpoints["attention"])
        assert len(result.tgt_tokens) == len(set(result.tgt_tokens))  # no piece repeated: the unigram block applied
    finally:
        loaded.config["decoding"].update(no_repeat_ngram=0, eos_penalty=0.0)


def test_a_named_profile_model_decodes_with_that_profile_settings(tmp_path: Path) -> None:
    from seq2seq_lib.training.checkpoints import load_model, read_checkpoint
    from seq2seq_lib.config import load_config, profile_config_path
    from seq2seq_lib.course.demo import decoding_options

    path = tiny_checkpoint(tmp_path / "attention.pt")
    payload = read_checkpoint(path)
    quick = load_config(profile_config_path("quick"))
    pre = Preprocessor.from_dict(payload["preprocessor"])
    pre.fit_length_model(read_jsonl_gz(SAMPLE_TRAIN)[:40])
    payload.update(config=Config(profile="quick", decoding=replace(quick.decoding, eos_penalty=1.0)).to_dict(),
                   preprocessor=pre.to_dict())
    save_checkpoint(path, payload)
    options = decoding_options(load_model(path))
    assert options == quick.decoding  # from configs/quick.yaml, not the saved config
    result = generate_code(DOCSTRING, beam_width=1, max_len=30, checkpoint=path)
    assert 0 < len(result.tgt_tokens) <= 30


def test_a_long_output_is_drawn_in_its_first_rows_and_notes_say_what_is_amiss() -> None:
    from dataclasses import replace as replace_result

    from seq2seq_lib.course.demo_widget import HEATMAP_ROWS

    rows = HEATMAP_ROWS + 40
    long = replace_result(fake_result(), tgt_tokens=["x"] * rows, attention=np.full((rows, 51), 1 / 51), code="def f(:",
                          max_len=rows, src_tokens=["w"] * 50 + ["<eos>"])
    assert long.cut_short and not long.compiles
    demo = build_demo(lambda *args, **kwargs: long)
    demo.button.click()
    status = demo.status.value
    assert f"first {HEATMAP_ROWS} of {rows} rows" in status
    assert "cut short" in status and "does not compile" in status and "at most 39" in status
    assert bytes(demo.heatmap.value).startswith(b"\x89PNG")
