"""The benchmark end to end at tiny dims, and that each reference computes exactly our model's function.

Our side of the training comparison is the production loss (`training.batch_loss`, fused and chunked); the
reference's is its step loop and full-softmax loss. Both must give the same loss and the same gradients.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from torch import Tensor, nn

from seq2seq_lib.lab import bench
from seq2seq_lib.lab.bench import NO_EOS, TINY_DIMS, pair, run_benchmark, synthetic_batches
from seq2seq_lib.io_utils import write_jsonl_gz
from seq2seq_lib.training.losses import sequence_loss
from seq2seq_lib.models import MODEL_NAMES, Seq2Seq
from seq2seq_lib.lab.reference_models import reference_beam, reference_greedy
from seq2seq_lib.training.loop import batch_loss

CELL_PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


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
        train = figures["train"]
        assert set(train) == {
            "tokens", "batches", "ours_tok_s", "ours_cpu_tok_s", "ref_tok_s", "ref_cpu_tok_s", "ratio", "ratio_cpu"
        }
        assert {"step_s", "projection_s", "share"} == set(figures["projection_share"])
        assert {"ours_sent_s", "ref_sent_s", "ratio"} <= set(figures["greedy"]) | set(figures["beam"])
        assert figures["demo"]["output_tokens"] >= figures["demo"]["min_len"]
        assert figures["train"]["ratio"] > 0 and figures["greedy"]["ratio"] > 0
    assert 0.0 <= saved["padding"]["bucketed"] < saved["padding"]["random"] < 1.0
    assert {"threads", "output_layer", "decode_grad_mode"} <= set(saved["experiments"])
    assert {"full_s", "non_pad_rows_s", "fused_chunked_s", "adaptive_s", "fused_chunked_speedup"} <= set(
        saved["experiments"]["output_layer"]
    )
    assert saved["memory"]["max_rss_mb"] > 0
    assert results["targets"] == saved["targets"]
    report = (out / "bench.md").read_text()
    assert "| tiny | attention |" in report and "with fused loss" not in report


def reference_grads_by_our_names(name: str, model: Seq2Seq, reference: nn.Module) -> dict[str, Tensor]:
    """The reference's gradients, keyed by the name of the parameter of ours that each one corresponds to.

    The reference's attention Linear over [s; h_j] is [W_s | W_h] with bias b_s + b_h (see copy_weights_from),
    so its weight gradient splits by columns and its bias gradient is that of both biases.
    """
    g = {key: p.grad for key, p in reference.named_parameters()}
    out = {
        "src_embed.weight": g["src_embed.weight"],
        "tgt_embed.weight": g["tgt_embed.weight"],
        "output.proj.weight": g["output.weight"],
        "output.proj.bias": g["output.bias"],
    }
    if name != "attention":
        out.update({f"{part}.{p}_l0": g[f"{part}.{p}"] for part in ("encoder", "decoder") for p in CELL_PARAMS})
        return out
    hidden = model.decoder.hidden_size
    out.update({f"encoder.{p}_l0": g[f"enc_fwd.{p}"] for p in CELL_PARAMS})
    out.update({f"encoder.{p}_l0_reverse": g[f"enc_bwd.{p}"] for p in CELL_PARAMS})
    out.update({f"decoder.{p}": g[f"decoder.{p}"] for p in CELL_PARAMS})
    out.update({f"{b}.{p}": g[f"{b}.{p}"] for b in ("bridge_h", "bridge_c") for p in ("weight", "bias")})
    out.update(
        {
            "attention.query_proj.weight": g["attn.weight"][:, :hidden],
            "attention.key_proj.weight": g["attn.weight"][:, hidden:],
            "attention.query_proj.bias": g["attn.bias"],
            "attention.key_proj.bias": g["attn.bias"],
            "attention.v.weight": g["v.weight"],
        }
    )
    return out


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_our_training_loss_and_gradients_equal_the_references(name: str, batch) -> None:
    model, reference = pair(name, TINY_DIMS, torch.device("cpu"), seed=0)
    assert bool((batch.src == 0).any()) and bool((batch.tgt_out == 0).any())  # padding on both sides
    ours, tokens = batch_loss(model, batch, teacher_forcing=1.0)  # the production path
    theirs, ref_tokens = sequence_loss(reference(batch.src, batch.src_lengths, batch.tgt_in), batch.tgt_out)
    assert tokens == ref_tokens == batch.num_tgt_tokens
    assert abs(ours.item() - theirs.item()) < 1e-5
    ours.backward()
    theirs.backward()
    expected = reference_grads_by_our_names(name, model, reference)
    ours_grads = {key: p.grad for key, p in model.named_parameters()}
    assert set(expected) == set(ours_grads)  # every parameter of ours is checked
    for key, grad in ours_grads.items():
        torch.testing.assert_close(grad, expected[key], atol=1e-6, rtol=1e-4, msg=key)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_benchmark_times_these_losses(name: str, batch) -> None:
    model, reference = pair(name, TINY_DIMS, torch.device("cpu"), seed=0)
    ours, _ = batch_loss(model, batch, teacher_forcing=1.0)
    theirs, _ = sequence_loss(reference(batch.src, batch.src_lengths, batch.tgt_in), batch.tgt_out)
    assert bench.ours_loss(model)(batch).item() == ours.item()
    assert bench.reference_loss(reference)(batch).item() == theirs.item()


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_reference_decoding_matches_ours(name: str, batch) -> None:
    model, reference = pair(name, TINY_DIMS, torch.device("cpu"), seed=0)
    src, lengths = batch.src[:4], batch.src_lengths[:4]
    with torch.inference_mode():
        ref_greedy = reference_greedy(reference, src, lengths, 12, eos_id=NO_EOS)
        ref_beam = reference_beam(reference, src, lengths, 3, 8, min_len=8)
    assert bench.search(model, src, lengths, "greedy", 12, 12).tokens == ref_greedy
    assert all(len(tokens) == 12 for tokens in ref_greedy)
    # with <eos> forbidden until max_len, both beams keep the hypothesis of the highest log-probability
    assert bench.search(model, src, lengths, "beam", 8, 8, beam_width=3).tokens == ref_beam
