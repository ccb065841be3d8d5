"""The benchmark end to end at tiny dims, and that each reference computes exactly our model's function."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from seq2seq_lib.bench import (
    NO_EOS,
    TINY_DIMS,
    LinearCrossEntropy,
    fused_loss,
    pair,
    run_benchmark,
    synthetic_batches,
)
from seq2seq_lib.decoding import beam_search, greedy_decode
from seq2seq_lib.io_utils import write_jsonl_gz
from seq2seq_lib.models import MODEL_NAMES
from seq2seq_lib.reference_models import reference_beam, reference_greedy
from seq2seq_lib.training import sequence_loss


@pytest.fixture(scope="module")
def batch():
    """One bucketed synthetic batch of 64 at tiny dims (realistic lengths, so padding on both sides)."""
    return synthetic_batches(TINY_DIMS, 1, seed=0)[0]


def tiny_corpus(directory: Path) -> Path:
    """A train split of 300 records with varied docstring / code token counts."""
    records = [
        {"func_documentation_tokens": ["w"] * (3 + i % 30), "func_code_tokens": ["t"] * (10 + (7 * i) % 100)}
        for i in range(300)
    ]
    write_jsonl_gz(directory / "train.jsonl.gz", records)
    return directory


def test_tiny_benchmark_writes_json_and_markdown(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    results = run_benchmark(quick=True, out_dir=str(out), tiny=True, corpus_dir=str(tiny_corpus(tmp_path)))
    saved = json.loads((out / "bench.json").read_text())
    assert set(saved) == {"padding", "dims", "experiments", "memory", "targets", "meta"}
    assert saved["meta"]["mode"] == "tiny" and saved["meta"]["batch_size"] == 64
    models = saved["dims"]["tiny"]["models"]
    assert set(models) == set(MODEL_NAMES)
    for figures in models.values():
        assert {"train", "projection_share", "greedy", "beam", "demo"} <= set(figures)
        assert {"ours_tok_s", "ref_tok_s", "ratio", "fused_ratio", "ratio_cpu"} <= set(figures["train"])
        assert {"ours_sent_s", "ref_sent_s", "ratio"} <= set(figures["greedy"]) | set(figures["beam"])
        assert figures["demo"]["output_tokens"] >= figures["demo"]["min_len"]
        assert figures["train"]["ratio"] > 0 and figures["greedy"]["ratio"] > 0
    assert 0.0 <= saved["padding"]["bucketed"] < saved["padding"]["random"] < 1.0
    assert {"threads", "output_layer", "decode_grad_mode"} <= set(saved["experiments"])
    assert saved["memory"]["max_rss_mb"] > 0
    assert results["targets"] == saved["targets"]
    assert "| tiny | attention |" in (out / "bench.md").read_text()


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_reference_computes_the_same_loss(name: str, batch) -> None:
    model, reference = pair(name, TINY_DIMS, torch.device("cpu"), seed=0)
    ours, _ = sequence_loss(model(batch.src, batch.src_lengths, batch.tgt_in).logits, batch.tgt_out)
    theirs, _ = sequence_loss(reference(batch.src, batch.src_lengths, batch.tgt_in), batch.tgt_out)
    assert bool((batch.src == 0).any()) and bool((batch.tgt_out == 0).any())  # padding on both sides
    assert abs(ours.item() - theirs.item()) < 1e-5


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_reference_decoding_matches_ours(name: str, batch) -> None:
    model, reference = pair(name, TINY_DIMS, torch.device("cpu"), seed=0)
    src, lengths = batch.src[:4], batch.src_lengths[:4]
    with torch.inference_mode():
        ref_greedy = reference_greedy(reference, src, lengths, 12, eos_id=NO_EOS)
        ref_beam = reference_beam(reference, src, lengths, 3, 8, min_len=8)
    assert greedy_decode(model, src, lengths, 12, eos_id=NO_EOS).tokens == ref_greedy
    assert all(len(tokens) == 12 for tokens in ref_greedy)
    # with <eos> forbidden until max_len, both beams keep the hypothesis of the highest log-probability
    assert beam_search(model, src, lengths, 3, 8, min_len=8).tokens == ref_beam


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_fused_loss_matches_sequence_loss_and_its_gradients(name: str, batch) -> None:
    model, _ = pair(name, TINY_DIMS, torch.device("cpu"), seed=0)
    loss, _ = sequence_loss(model(batch.src, batch.src_lengths, batch.tgt_in).logits, batch.tgt_out)
    loss.backward()
    expected = {key: p.grad.clone() for key, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    fused = fused_loss(model, batch, chunk=100)
    fused.backward()
    assert abs(fused.item() - loss.item()) < 1e-5
    for key, p in model.named_parameters():
        torch.testing.assert_close(p.grad, expected[key], atol=1e-6, rtol=1e-4, msg=key)


def test_linear_cross_entropy_scales_with_the_incoming_gradient() -> None:
    gen = torch.Generator().manual_seed(0)
    features = torch.randn(10, 4, generator=gen, requires_grad=True)
    weight, bias = torch.randn(7, 4, generator=gen), torch.randn(7, generator=gen)
    targets = torch.randint(0, 7, (10,), generator=gen)
    (3 * LinearCrossEntropy.apply(features, weight, bias, targets, 3)).backward()
    expected_features = features.detach().clone().requires_grad_(True)
    (3 * torch.nn.functional.cross_entropy(expected_features @ weight.t() + bias, targets)).backward()
    torch.testing.assert_close(features.grad, expected_features.grad)
