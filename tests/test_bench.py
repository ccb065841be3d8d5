"""The benchmark end to end at tiny dims, and that each reference computes exactly our model's function.

Our side of the training comparison is the production loss (`training.batch_loss`, fused and chunked); the
reference's is its step loop and full-softmax loss. Both must give the same loss and the same gradients.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from torch import Tensor, nn

from types import SimpleNamespace

from seq2seq_lib.config import PROJECT_ROOT, DecodingConfig
from seq2seq_lib.data.batching import Batch, BucketBatchSampler, collate
from seq2seq_lib.data.vocab import EOS_ID
from seq2seq_lib.decoding.search import decode
from seq2seq_lib.lab import bench
from seq2seq_lib.lab.bench import BATCH_SIZE, NO_EOS, run_benchmark
from seq2seq_lib.training.losses import sequence_loss
from seq2seq_lib.models import MODEL_NAMES, Seq2Seq, build_model
from seq2seq_lib.lab.reference_models import build_reference, reference_beam, reference_greedy
from seq2seq_lib.training.loop import batch_loss

CELL_PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


# Untrained models at synthetic dims, with references of the same weights: what the equality tests compare.
@dataclass(frozen=True)
class Dims:
    """Model and vocabulary sizes of a synthetic setting."""

    name: str
    emb_dim: int
    hidden_dim: int
    src_vocab: int
    tgt_vocab: int


TINY_DIMS = Dims("tiny", 16, 16, 200, 200)


def synthetic_lengths(count: int, seed: int) -> list[tuple[int, int]]:
    """(src, tgt) lengths with <eos>: docstring 8-40 tokens, code 20-120 pieces, lognormal, fixed seed."""
    rng = random.Random(seed)
    src = [min(40, max(8, round(rng.lognormvariate(math.log(14), 0.5)))) + 1 for _ in range(count)]
    tgt = [min(120, max(20, round(rng.lognormvariate(math.log(50), 0.6)))) + 1 for _ in range(count)]
    return list(zip(src, tgt))


def zipf_ids(count: int, vocab: int, gen: torch.Generator) -> list[int]:
    """`count` content ids (>= 4) drawn with probability proportional to 1 / rank."""
    weights = 1.0 / torch.arange(1, vocab - 3, dtype=torch.float)  # (V-4,)
    return (torch.multinomial(weights, count, replacement=True, generator=gen) + 4).tolist()


def synthetic_batches(dims: Dims, count: int, seed: int, batch_size: int = BATCH_SIZE) -> list[Batch]:
    """`count` bucketed batches whose target lengths spread evenly over the quantiles of all batches."""
    lengths = synthetic_lengths(batch_size * 100, seed)
    groups = sorted(BucketBatchSampler(lengths, batch_size, shuffle=True, seed=seed), key=lambda g: lengths[g[0]][1])
    groups = [g for g in groups if len(g) == batch_size]
    chosen = [groups[int((i + 0.5) * len(groups) / count)] for i in range(count)]
    gen = torch.Generator().manual_seed(seed)
    batches = []
    for group in chosen:
        examples = []
        for i in group:
            n, m = lengths[i]
            examples.append(
                ([*zipf_ids(n - 1, dims.src_vocab, gen), EOS_ID], [*zipf_ids(m - 1, dims.tgt_vocab, gen), EOS_ID], i)
            )
        batches.append(collate(examples))
    return batches


def pair(name: str, dims: Dims, dev: torch.device, seed: int, tie: bool = False) -> tuple[Seq2Seq, nn.Module]:
    """An untrained model `name` at synthetic dims (seeded, dropout 0) and its reference with the same weights."""
    torch.manual_seed(seed)
    model = build_model(name, dims.src_vocab, dims.tgt_vocab, emb_dim=dims.emb_dim, hidden_dim=dims.hidden_dim,
                        tie_embeddings=tie).to(dev)
    return model, build_reference(name, model).to(dev)


@pytest.fixture(scope="module")
def batch():
    """One bucketed synthetic batch of 64 at tiny dims (realistic lengths, so padding on both sides)."""
    return synthetic_batches(TINY_DIMS, 1, seed=0)[0]


def forced_search(model: Seq2Seq, src: Tensor, lengths: Tensor, method: str, max_len: int, beam_width: int = 5):
    """Our greedy or beam search with <eos> forbidden until max_len pieces (a length target of max_len and an <eos>
    penalty no hypothesis survives): untrained models then decode exactly as long as the references."""
    options = DecodingConfig(method=method, beam_width=beam_width, max_len=max_len, no_repeat_ngram=0, eos_penalty=1e9,
                             length_target=True, target_scale=1.0, syntax_guard=False)
    at_least = SimpleNamespace(length_model=SimpleNamespace(predict=lambda src, _: torch.full((src.size(0),), float(max_len))))
    return decode(model, src, lengths, options, at_least)


def test_tiny_benchmark_times_the_recipe_and_writes_json_and_markdown(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    results = run_benchmark(quick=True, out_dir=str(out), tiny=True, corpus_dir=str(PROJECT_ROOT / "data" / "sample"))
    saved = json.loads((out / "bench.json").read_text())
    assert set(saved) == {"padding", "models", "demo", "experiments", "memory", "targets", "meta"}
    meta = saved["meta"]
    assert meta["mode"] == "tiny" and meta["plan"]["repeats"] == 1 and meta["git_commit"]
    assert meta["decoding"]["syntax_guard"] and meta["decoding"]["length_target"]  # the profile's search options
    assert set(meta["checkpoints"]) == set(MODEL_NAMES) and isinstance(meta["busy"], bool)
    assert set(saved["models"]) == set(MODEL_NAMES)
    for figures in saved["models"].values():
        assert set(figures["train"]) == {
            "tokens", "batches", "ours_tok_s", "ours_cpu_tok_s", "ref_tok_s", "ref_cpu_tok_s", "ratio", "ratio_cpu",
            "bf16_output",
        }
        assert {"step_s", "projection_s", "share"} == set(figures["projection_share"])
        for search in ("greedy", "beam"):
            assert figures[search]["ratio"] > 0 and figures[search]["ratio_cpu"] > 0
            assert figures[search]["max_len"] == 12 and 0 < figures[search]["ours_pieces"] <= 12 * figures[search]["sentences"]
        assert figures["train"]["tokens"] > 0 and figures["train"]["ratio"] > 0
    demo = saved["demo"]
    assert demo["max_len"] == 12 and 0 < demo["output_pieces"] <= 12 and demo["ours_ms"] > 0
    assert 0.0 <= saved["padding"]["bucketed"] < saved["padding"]["random"] < 1.0
    assert {"full_s", "non_pad_rows_s", "fused_chunked_s", "adaptive_s", "fused_chunked_speedup"} <= set(
        saved["experiments"]["output_layer"]
    )
    projection = saved["experiments"]["decode_projection"]
    assert projection["rows"] == {"reference": 5, "ours": 4 * 5} and projection["ceiling"] > 0
    assert saved["memory"]["max_rss_mb"] > 0
    assert results["targets"] == saved["targets"] and set(saved["targets"]["train_ratio_ge_3"]) == set(MODEL_NAMES)
    report = (out / "bench.md").read_text()
    assert "| attention |" in report and "Demo (attention, beam 5, at most 12 pieces" in report
    assert "on 20 (ours): where this product is most of a decoding step" in report


def test_a_busy_machine_is_refused_when_strict(tmp_path: Path, monkeypatch) -> None:
    from seq2seq_lib.errors import UserError

    monkeypatch.setattr(bench.os, "getloadavg", lambda: (64.0, 64.0, 64.0))
    with pytest.raises(UserError, match="the machine is busy"):
        run_benchmark(quick=True, out_dir=str(tmp_path), tiny=True, strict=True)
    assert not (tmp_path / "bench.json").exists()


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_a_tied_output_layer_becomes_an_untied_reference_of_the_same_function(name: str, batch) -> None:
    model, reference = pair(name, TINY_DIMS, torch.device("cpu"), seed=0, tie=True)
    assert model.output.proj.weight is model.tgt_embed.weight
    ours = model(batch.src, batch.src_lengths, batch.tgt_in).logits  # (B, T, V)
    torch.testing.assert_close(reference(batch.src, batch.src_lengths, batch.tgt_in), ours, atol=1e-5, rtol=1e-4)


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
    assert tokens == ref_tokens == bench.target_pieces(batch)
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
    assert bench.ours_loss(model, False)(batch).item() == ours.item()
    assert bench.reference_loss(reference)(batch).item() == theirs.item()


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_reference_decoding_matches_ours(name: str, batch) -> None:
    model, reference = pair(name, TINY_DIMS, torch.device("cpu"), seed=0)
    src, lengths = batch.src[:4], batch.src_lengths[:4]
    with torch.inference_mode():
        ref_greedy = reference_greedy(reference, src, lengths, 12, eos_id=NO_EOS)
        ref_beam = reference_beam(reference, src, lengths, 3, 8, min_len=8)
    assert forced_search(model, src, lengths, "greedy", 12).tokens == ref_greedy
    assert all(len(tokens) == 12 for tokens in ref_greedy)
    # with <eos> forbidden until max_len, both beams keep the hypothesis of the highest log-probability
    assert forced_search(model, src, lengths, "beam", 8, beam_width=3).tokens == ref_beam


def test_scaling_report_compares_two_processes_with_two_threads():
    from seq2seq_lib.lab.scaling import markdown

    # Two threads give 1.5x per model; two processes of one thread keep each at its one-thread speed.
    one = {"rnn": 20.0, "lstm": 20.0, "attention": 10.0}
    results = {"commit": "abc", "cpus": 2, "rounds": 3, "load_at_start": 0.1, "1_thread": one,
               "2_thread": {m: 1.5 * v for m, v in one.items()}, "2_processes_1_thread": one}
    report = markdown(results)
    assert "| attention | 10 | 15 | 1.50x | 10 |" in report
    # one after the other: (1/30 + 1/30 + 1/15) = 0.1333 s per piece; side by side: max(1/10, 1/20 + 1/20) = 0.1 s
    assert "1.33x faster side by side" in report
    runs = [{"mode": mode, "wall_s": 9.0, "train_s": {"rnn": 1.0, "lstm": 2.0, "attention": 3.0}, "valid_loss": {}}
            for mode in ("side", "side-bf16", "one")]
    rows = markdown({**results, "end_to_end": runs}).splitlines()
    assert "| 1 | side by side | 9.0 | 1.0 / 2.0 / 3.0 |" in rows
    assert "| 2 | side by side, bfloat16 output layer | 9.0 | 1.0 / 2.0 / 3.0 |" in rows
    assert "| 3 | one after the other | 9.0 | 1.0 / 2.0 / 3.0 |" in rows
