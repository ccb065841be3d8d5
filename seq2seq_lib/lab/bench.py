"""Benchmark our three models against plain tutorial-style references (`python -m seq2seq_lib bench`).

Training compares our production step (`training.batch_loss`: teacher-forced features and the fused, chunked
`losses.linear_cross_entropy`, then backward and an Adam step) with the reference's tutorial step (the output
layer applied step by step, full-softmax cross-entropy over every position, backward, Adam). Every ratio compares ours with the reference in `reference_models.py` on the same batches, in the same
run, with the same weights (copied), dimensions, vocabulary and batch size; timings are interleaved
(ours, reference, ours, ...) and summarised by medians, because the machine is shared and noisy.
"""

from __future__ import annotations

import math
import os
import platform
import random
import resource
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader

from ..config import DecodingConfig
from ..data.batching import (
    Batch,
    BucketBatchSampler,
    EncodedDataset,
    collate,
    encode_records,
    make_loader,
)
from ..data.corpus import load_split
from ..data.preprocess import Preprocessor
from ..data.vocab import EOS_ID, PAD_ID
from ..decoding.search import decode
from ..io_utils import write_json, write_text
from ..models import MODEL_NAMES, Seq2Seq, build_model
from ..training.loop import batch_loss
from ..training.losses import linear_cross_entropy, sequence_loss
from .reference_models import build_reference, reference_beam, reference_greedy

BATCH_SIZE = 64
BEAM_WIDTH = 5
NO_EOS = -1  # an id no reference step can emit: its decoding then runs exactly max_len steps (untrained models)


def search(
    model: Seq2Seq, src: Tensor, lengths: Tensor, method: str, max_len: int, min_len: int, beam_width: int = BEAM_WIDTH,
) -> Any:
    """Our greedy or beam search with <eos> forbidden before `min_len` pieces (a length target of min_len and an
    <eos> penalty no hypothesis survives), without the profile's other search options."""
    options = DecodingConfig(method=method, beam_width=beam_width, max_len=max_len, no_repeat_ngram=0, eos_penalty=1e9,
                             length_target=True, target_scale=1.0, syntax_guard=False)
    at_least = SimpleNamespace(length_model=SimpleNamespace(predict=lambda src, _: torch.full((src.size(0),), float(min_len))))
    return decode(model, src, lengths, options, at_least)


@dataclass(frozen=True)
class Dims:
    """Model and vocabulary sizes of one benchmark setting."""

    name: str
    emb_dim: int
    hidden_dim: int
    src_vocab: int
    tgt_vocab: int


QUICK_DIMS = Dims("quick", 128, 128, 8000, 8000)
FULL_DIMS = Dims("full", 256, 256, 16000, 16000)
TINY_DIMS = Dims("tiny", 16, 16, 200, 200)


@dataclass(frozen=True)
class Plan:
    """How much of everything a mode measures."""

    mode: str
    dims: tuple[Dims, ...]
    train_batches: int  # bucketed batches timed per model (spread over the length distribution)
    repeats: int  # interleaved rounds per measurement; the median is kept
    decode_batch: int  # sentences decoded at once
    decode_steps: int  # forced decoding steps (no <eos>)
    ref_beam_sentences: int  # the per-sentence reference beam runs on the first this many sentences
    demo_max_len: int
    demo_min_len: int
    padding_records: int  # corpus pairs for the padding share (0: all, through token counts)
    experiments: bool  # threads, adaptive softmax, pad skipping, grad modes


PLANS = {
    "tiny": Plan("tiny", (TINY_DIMS,), 2, 1, 8, 10, 2, 15, 12, 0, True),
    "quick": Plan("quick", (QUICK_DIMS,), 2, 1, 16, 40, 2, 150, 120, 0, True),
    "full": Plan("full", (QUICK_DIMS, FULL_DIMS), 3, 2, 64, 100, 8, 150, 120, 10000, True),
}


def run_benchmark(
    quick: bool,
    out_dir: str,
    *,
    tiny: bool = False,
    num_threads: int = 1,
    corpus_dir: str | None = None,
    device: str = "cpu",
    seed: int = 0,
) -> dict[str, Any]:
    """Run the benchmark (quick, full, or `tiny` for tests) and write bench.json and bench.md to out_dir."""
    plan = PLANS["tiny" if tiny else "quick" if quick else "full"]
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    dev = torch.device(device)
    start, load_start = time.perf_counter(), os.getloadavg()
    try:
        results: dict[str, Any] = {"padding": measure_padding(corpus_dir, plan, seed), "dims": {}}
        for dims in plan.dims:
            results["dims"][dims.name] = bench_dims(dims, plan, dev, seed)
        if plan.experiments:
            results["experiments"] = run_experiments(plan.dims[0], plan, dev, seed, num_threads)
    finally:
        torch.set_num_threads(previous_threads)
    results["memory"] = {
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "cuda_max_allocated_mb": torch.cuda.max_memory_allocated() / 2**20 if dev.type == "cuda" else None,
    }
    results["targets"] = check_targets(results)
    results["meta"] = {
        "mode": plan.mode,
        "plan": asdict(plan),
        "device": str(dev),
        "num_threads": num_threads,
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "load_average_start": load_start,
        "load_average_end": os.getloadavg(),
        "elapsed_s": time.perf_counter() - start,
        "batch_size": BATCH_SIZE,
        "method": METHOD_NOTES,
    }
    out = Path(out_dir)
    write_json(out / "bench.json", results)
    write_text(out / "bench.md", markdown_report(results))
    return results


METHOD_NOTES = {
    "batches": "synthetic, fixed seed: lengths lognormal (docstring median 14 in [8, 40], code median 50 in "
    "[20, 120], +<eos>), bucketed by BucketBatchSampler, batches spread over the length quantiles; "
    "ids Zipf-distributed",
    "train": "target tokens/s of a training step: ours = training.batch_loss (teacher forcing 1.0: "
    "forward_features + fused chunked linear_cross_entropy over the non-pad rows) + backward + Adam step; "
    "reference = step loop with the output layer per step + full-softmax sequence_loss + backward + Adam "
    "step; no gradient clipping on either side; dropout 0; median of the interleaved rounds per batch",
    "decode": "sentences/s for one batch, forced decode_steps steps (greedy: no id ends a sentence; beam: "
    "min_len = max_len); reference beam = tutorial per-sentence beam (its K hypotheses batched), timed "
    "on the first ref_beam_sentences sentences",
    "demo": "one 20-word docstring, beam 5, max_len 150, min_len 120 (untrained model), median latency",
    "projection_share": "time of our output projection + loss (the fused linear_cross_entropy) forward and "
    "backward on the captured decoder features, over the time of our whole training step",
}


# ----------------------------------------------------------------------------- synthetic data


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


# ----------------------------------------------------------------------------- timing


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    """Median wall time of `repeats` calls of fn, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved(fns: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Median wall time of every fn, calling them in turn `repeats` times (so that load changes hit all).

    The median process CPU time of fn `name` is returned too, as `name + "_cpu"`: on a shared machine it
    is closer than the wall time to what an idle machine would show (with one thread).
    """
    times: dict[str, list[float]] = {name: [] for name in fns}
    times.update({f"{name}_cpu": [] for name in fns})
    for _ in range(repeats):
        for name, fn in fns.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            times[name].append(time.perf_counter() - start)
            times[f"{name}_cpu"].append(time.process_time() - start_cpu)
    return {name: statistics.median(ts) for name, ts in times.items()}


LossFn = Callable[[Batch], Tensor]  # batch -> mean token loss ()


def train_step(loss_fn: LossFn, optimizer: torch.optim.Optimizer, batch: Batch) -> float:
    """One forward and loss, backward and Adam step; returns the loss."""
    loss = loss_fn(batch)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def pair(name: str, dims: Dims, dev: torch.device, seed: int) -> tuple[Seq2Seq, nn.Module]:
    """Our model `name` (seeded, dropout 0) and its reference with the same weights."""
    torch.manual_seed(seed)
    model = build_model(name, dims.src_vocab, dims.tgt_vocab, emb_dim=dims.emb_dim, hidden_dim=dims.hidden_dim).to(dev)
    return model, build_reference(name, model).to(dev)


def ours_loss(model: Seq2Seq) -> LossFn:
    """Our production training loss: training.batch_loss at teacher forcing 1.0, no label smoothing."""
    return lambda b: batch_loss(model, b, teacher_forcing=1.0)[0]


def reference_loss(reference: nn.Module) -> LossFn:
    """The reference's loss: teacher-forced logits (B, T, V) of its step loop, full-softmax sequence_loss."""
    return lambda b: sequence_loss(reference(b.src, b.src_lengths, b.tgt_in), b.tgt_out)[0]


def warm_up(batch: Batch) -> Batch:
    """The first 4 rows of a batch (a cheap first call that pays one-off setup costs)."""
    return Batch(batch.src[:4], batch.src_lengths[:4], batch.tgt_in[:4], batch.tgt_out[:4], batch.indices[:4])


def ratio(ours: float, reference: float) -> float:
    """ours / reference, NaN when the reference is 0."""
    return ours / reference if reference else float("nan")


# ----------------------------------------------------------------------------- per dims and model


def bench_dims(dims: Dims, plan: Plan, dev: torch.device, seed: int) -> dict[str, Any]:
    """Training, decoding and demo figures of every model at `dims`."""
    batches = [b.to(dev) for b in synthetic_batches(dims, plan.train_batches, seed)]
    decode_src = batches[len(batches) // 2]
    out: dict[str, Any] = {"dims": asdict(dims), "models": {}}
    for name in MODEL_NAMES:
        model, reference = pair(name, dims, dev, seed)
        out["models"][name] = {
            "train": bench_training(model, reference, batches, plan.repeats),
            "projection_share": projection_share(model, batches[-1], plan.repeats),
            **bench_decoding(model, reference, decode_src, plan),
            "demo": bench_demo(model, reference, dims, plan, dev, seed),
        }
    return out


def bench_training(model: Seq2Seq, reference: nn.Module, batches: list[Batch], repeats: int) -> dict[str, Any]:
    """Target tokens/s of training steps, our production step against the reference's."""
    steps = {
        "ours": partial(train_step, ours_loss(model), torch.optim.Adam(model.parameters())),
        "ref": partial(train_step, reference_loss(reference), torch.optim.Adam(reference.parameters())),
    }
    for step in steps.values():
        step(warm_up(batches[0]))
    totals: dict[str, float] = {}
    for batch in batches:
        times = interleaved({key: partial(step, batch) for key, step in steps.items()}, repeats)
        for key, seconds in times.items():
            totals[key] = totals.get(key, 0.0) + seconds
    tokens = sum(b.num_tgt_tokens for b in batches)
    out: dict[str, Any] = {"tokens": tokens, "batches": len(batches)}
    for key in steps:
        out[f"{key}_tok_s"] = tokens / totals[key]
        out[f"{key}_cpu_tok_s"] = tokens / totals[f"{key}_cpu"]
    out["ratio"] = ratio(out["ours_tok_s"], out["ref_tok_s"])
    out["ratio_cpu"] = ratio(out["ours_cpu_tok_s"], out["ref_cpu_tok_s"])
    return out


def output_features(model: Seq2Seq, batch: Batch) -> Tensor:
    """The input of model.output.proj in the teacher-forced pass (B, T, D), detached and requiring grad."""
    with torch.no_grad():
        features, _ = model.forward_features(batch.src, batch.src_lengths, batch.tgt_in)  # (B, T, D)
    return features.detach().requires_grad_(True)


def projection_share(model: Seq2Seq, batch: Batch, repeats: int) -> dict[str, float]:
    """Share of our training step taken by the output projection + loss (the fused loss, forward and backward)."""
    features = output_features(model, batch)  # (B, T, D)
    optimizer = torch.optim.Adam(model.parameters())

    def projection() -> None:
        """Projection and loss forward and backward only, as batch_loss does them."""
        loss, _ = linear_cross_entropy(features, model.output.proj, batch.tgt_out)
        loss.backward()

    times = interleaved({"step": lambda: train_step(ours_loss(model), optimizer, batch), "projection": projection}, repeats)
    model.zero_grad(set_to_none=True)
    return {"step_s": times["step"], "projection_s": times["projection"], "share": times["projection"] / times["step"]}


def bench_decoding(model: Seq2Seq, reference: nn.Module, batch: Batch, plan: Plan) -> dict[str, Any]:
    """Greedy and beam-5 sentences/s for one batch, ours against the reference."""
    src, lengths = batch.src[: plan.decode_batch], batch.src_lengths[: plan.decode_batch]
    steps, n_ref = plan.decode_steps, plan.ref_beam_sentences
    model.eval()
    greedy = interleaved(
        {
            "ours": lambda: search(model, src, lengths, "greedy", steps, steps),
            "reference": lambda: run_inference(lambda: reference_greedy(reference, src, lengths, steps, eos_id=NO_EOS)),
        },
        plan.repeats,
    )
    beam = interleaved(
        {
            "ours": lambda: search(model, src, lengths, "beam", steps, steps),
            "reference": lambda: run_inference(
                lambda: reference_beam(reference, src[:n_ref], lengths[:n_ref], BEAM_WIDTH, steps, min_len=steps)
            ),
        },
        plan.repeats,
    )
    model.train()
    out = {}
    for key, times, ref_sentences in (("greedy", greedy, len(src)), ("beam", beam, min(n_ref, len(src)))):
        ours, ref = len(src) / times["ours"], ref_sentences / times["reference"]
        out[key] = {"ours_sent_s": ours, "ref_sent_s": ref, "ratio": ratio(ours, ref), "steps": steps, "sentences": len(src)}
    return out


def run_inference(fn: Callable[[], Any], mode: str = "inference_mode") -> Any:
    """Call fn under torch.inference_mode, torch.no_grad or with autograd ("grad")."""
    if mode == "inference_mode":
        with torch.inference_mode():
            return fn()
    with torch.set_grad_enabled(mode == "grad"):
        return fn()


def demo_source(dims: Dims, dev: torch.device, seed: int) -> tuple[Tensor, Tensor]:
    """A 20-word docstring (+<eos>) as src (1, 21) and src_lengths (1,)."""
    ids = zipf_ids(20, dims.src_vocab, torch.Generator().manual_seed(seed + 1))
    return torch.tensor([[*ids, EOS_ID]], device=dev), torch.tensor([21])


def bench_demo(model: Seq2Seq, reference: nn.Module, dims: Dims, plan: Plan, dev: torch.device, seed: int) -> dict[str, Any]:
    """Single-docstring latency, beam 5, max_len 150, <eos> forbidden before min_len (untrained model)."""
    src, lengths = demo_source(dims, dev, seed)
    max_len, min_len = plan.demo_max_len, plan.demo_min_len
    result = search(model, src, lengths, "beam", max_len, min_len)
    times = interleaved(
        {
            "ours": lambda: search(model, src, lengths, "beam", max_len, min_len),
            "reference": lambda: run_inference(lambda: reference_beam(reference, src, lengths, BEAM_WIDTH, max_len, min_len)),
        },
        max(3, plan.repeats),
    )
    return {
        "ours_ms": 1000 * times["ours"],
        "ref_ms": 1000 * times["reference"],
        "ours_cpu_ms": 1000 * times["ours_cpu"],
        "ref_cpu_ms": 1000 * times["reference_cpu"],
        "output_tokens": len(result.tokens[0]),
        "max_len": max_len,
        "min_len": min_len,
    }


# ----------------------------------------------------------------------------- padding


def random_loader(dataset: EncodedDataset, batch_size: int, seed: int = 0) -> DataLoader:
    """DataLoader of Batches in plain random order (the no-bucketing reference for `padding_fraction`)."""
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=True, generator=generator, collate_fn=collate, num_workers=0
    )


def padding_fraction(batches: Iterable[Batch]) -> float:
    """Share of pad positions in src + tgt_out over all batches."""
    pad = total = 0
    for batch in batches:
        pad += int((batch.src == PAD_ID).sum()) + int((batch.tgt_out == PAD_ID).sum())
        total += batch.src.numel() + batch.tgt_out.numel()
    return pad / total if total else 0.0


def corpus_lengths(corpus_dir: Path, limit: int) -> tuple[list[tuple[int, int]], str]:
    """(src, tgt) lengths with <eos> of the train split, within the quick profile's limits (40, 120).

    With `limit` > 0, the first `limit` records go through a fitted Preprocessor and encode_records;
    with 0, every record is counted from the corpus token lists (fast).
    """
    records = load_split(corpus_dir, "train")
    if limit > 0:
        records = records[:limit]
        dataset, _ = encode_records(records, Preprocessor.fit(records), 40, 120)
        return dataset.lengths(), f"Preprocessor + encode_records, first {limit} pairs"
    lengths = [(len(r["func_documentation_tokens"]) + 1, len(r["func_code_tokens"]) + 1) for r in records]
    return [(s, t) for s, t in lengths if s <= 40 and t <= 120], "corpus token counts (func_*_tokens + <eos>)"


def measure_padding(corpus_dir: str | None, plan: Plan, seed: int) -> dict[str, Any]:
    """Pad share (src + tgt) of length-bucketed against random batches of 64 on the real corpus."""
    if corpus_dir is None:
        found = [Path(d) for d in ("data/corpus", "data/sample") if (Path(d) / "train.jsonl.gz").is_file()]
        if not found:
            return {"source": "no corpus found", "bucketed": None, "random": None}
        corpus = found[0]
    else:
        corpus = Path(corpus_dir)
    lengths, how = corpus_lengths(corpus, plan.padding_records)
    dataset = EncodedDataset([([4] * s, [4] * t) for s, t in lengths], list(range(len(lengths))))
    return {
        "corpus": str(corpus),
        "source": how,
        "pairs": len(lengths),
        "bucketed": padding_fraction(make_loader(dataset, BATCH_SIZE, shuffle=True, seed=seed)),
        "random": padding_fraction(random_loader(dataset, BATCH_SIZE, seed=seed)),
    }


# ----------------------------------------------------------------------------- experiments


def run_experiments(dims: Dims, plan: Plan, dev: torch.device, seed: int, num_threads: int) -> dict[str, Any]:
    """Threads 1 vs 2, adaptive softmax, skipping pad rows in the projection, grad modes for decoding."""
    batch = synthetic_batches(dims, 1, seed)[0].to(dev)
    model, reference = pair("lstm", dims, dev, seed)
    loss_fn, optimizer = ours_loss(model), torch.optim.Adam(model.parameters())
    small = Batch(batch.src[:16], batch.src_lengths[:16], batch.tgt_in[:16], batch.tgt_out[:16], batch.indices[:16])
    train_step(loss_fn, optimizer, warm_up(batch))
    threads: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(plan.repeats):
        for n, times in threads.items():
            torch.set_num_threads(n)
            times.append(median_time(lambda: train_step(loss_fn, optimizer, small), 1))
    torch.set_num_threads(num_threads)
    thread_tok_s = {f"{n}_threads_tok_s": small.num_tgt_tokens / statistics.median(ts) for n, ts in threads.items()}
    return {
        "model": "lstm",
        "threads": {"batch_rows": 16, **thread_tok_s},
        "output_layer": output_layer_options(model, batch, plan.repeats),
        "decode_grad_mode": grad_modes(reference, batch, plan),
    }


def output_layer_options(model: Seq2Seq, batch: Batch, repeats: int) -> dict[str, float]:
    """Projection + loss forward/backward: full softmax, non-pad rows only, fused, adaptive (cutoffs V/8, V/2)."""
    features = output_features(model, batch)  # (B, T, D)
    proj, vocab = model.output.proj, model.tgt_vocab_size
    keep = batch.tgt_out != PAD_ID  # (B, T)
    adaptive = nn.AdaptiveLogSoftmaxWithLoss(features.size(-1), vocab, [vocab // 8, vocab // 2], div_value=4.0)
    adaptive = adaptive.to(features.device)

    def full() -> None:
        """Every position through the full softmax (what the references do)."""
        sequence_loss(proj(features), batch.tgt_out)[0].backward()

    def real_rows() -> None:
        """Only the non-pad positions (N, D) through the full softmax."""
        F.cross_entropy(proj(features[keep]), batch.tgt_out[keep]).backward()

    def adaptive_softmax() -> None:
        """Only the non-pad positions through nn.AdaptiveLogSoftmaxWithLoss."""
        adaptive(features[keep], batch.tgt_out[keep]).loss.backward()

    def fused() -> None:
        """losses.linear_cross_entropy, what batch_loss trains with (same function as `real_rows`)."""
        linear_cross_entropy(features, proj, batch.tgt_out)[0].backward()

    options = {"full": full, "non_pad_rows": real_rows, "fused_chunked": fused, "adaptive": adaptive_softmax}
    times = interleaved(options, repeats)
    return {
        **{f"{key}_s": times[key] for key in options},
        **{f"{key}_speedup": times["full"] / times[key] for key in options if key != "full"},
    }


def grad_modes(reference: nn.Module, batch: Batch, plan: Plan) -> dict[str, float]:
    """Reference greedy decoding sentences/s with autograd on, under no_grad and under inference_mode."""
    src, lengths = batch.src[: plan.decode_batch], batch.src_lengths[: plan.decode_batch]
    steps = plan.decode_steps
    modes = ("grad", "no_grad", "inference_mode")
    times = interleaved(
        {m: (lambda m=m: run_inference(lambda: reference_greedy(reference, src, lengths, steps, NO_EOS), m)) for m in modes},
        plan.repeats,
    )
    return {f"{m}_sent_s": len(src) / times[m] for m in modes}


# ----------------------------------------------------------------------------- report


def check_targets(results: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets: training >= 1.5x the reference (quick dims), padding < 10%, demo <= 200 ms."""
    dims = results["dims"].get("quick") or next(iter(results["dims"].values()))
    train = {name: m["train"]["ratio"] >= 1.5 for name, m in dims["models"].items()}
    demo = {name: m["demo"]["ours_ms"] <= 200 for name, m in dims["models"].items()}
    bucketed = results["padding"]["bucketed"]
    return {"train_ratio_ge_1.5": train, "padding_lt_10pct": bucketed is not None and bucketed < 0.10, "demo_le_200ms": demo}


def markdown_report(results: dict[str, Any]) -> str:
    """A small Markdown summary of the results."""
    meta = results["meta"]
    lines = [
        f"# Benchmark ({meta['mode']}, {meta['device']}, {meta['num_threads']} thread(s), torch {meta['torch']})",
        "",
        (
            f"Load average at start / end: {meta['load_average_start'][0]:.2f} / {meta['load_average_end'][0]:.2f} "
            f"on {meta['cpu_count']} CPUs; {meta['elapsed_s']:.0f} s. Ratios are ours / reference (higher is better)."
        ),
        "",
        (
            "Training step: ours = `training.batch_loss` (fused, chunked `linear_cross_entropy` over non-pad rows) "
            "+ backward + Adam; reference = output layer per step + full-softmax loss + backward + Adam. "
            "Projection share: our fused projection + loss (fwd + bwd) over our whole training step."
        ),
        "",
        (
            "| dims | model | train tok/s ours / ref | train ratio (cpu time) | greedy ratio "
            "| beam-5 ratio | demo ms ours / ref (ours cpu) | projection share |"
        ),
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for dims_name, dims in results["dims"].items():
        for name, m in dims["models"].items():
            lines.append(
                f"| {dims_name} | {name} | {m['train']['ours_tok_s']:.0f} / {m['train']['ref_tok_s']:.0f} "
                f"| {m['train']['ratio']:.2f}x ({m['train']['ratio_cpu']:.2f}x) "
                f"| {m['greedy']['ratio']:.2f}x | {m['beam']['ratio']:.2f}x "
                f"| {m['demo']['ours_ms']:.0f} / {m['demo']['ref_ms']:.0f} ({m['demo']['ours_cpu_ms']:.0f}) "
                f"| {m['projection_share']['share']:.0%} |"
            )
    pad = results["padding"]
    if pad["bucketed"] is not None:
        lines += ["", f"Padding share ({pad['source']}, {pad['pairs']} pairs): bucketed {pad['bucketed']:.1%}, random {pad['random']:.1%}."]
    if "experiments" in results:
        exp = results["experiments"]
        threads = ", ".join(f"{k.split('_')[0]} thread(s) {v:.0f} tok/s" for k, v in exp["threads"].items() if k != "batch_rows")
        layer = exp["output_layer"]
        modes = ", ".join(f"{k[:-7]} {v:.1f}" for k, v in exp["decode_grad_mode"].items())
        lines += [
            f"Threads (lstm training, batch of 16): {threads}.",
            (
                f"Output layer (projection + loss, fwd + bwd), speed-up over the full softmax at every position: "
                f"non-pad rows only {layer['non_pad_rows_speedup']:.2f}x, "
                f"fused chunked loss (what training uses) {layer['fused_chunked_speedup']:.2f}x, adaptive softmax {layer['adaptive_speedup']:.2f}x."
            ),
            f"Reference greedy sentences/s by grad mode: {modes}.",
        ]
    mem = results["memory"]
    cuda = f", CUDA max allocated {mem['cuda_max_allocated_mb']:.0f} MiB" if mem["cuda_max_allocated_mb"] is not None else ""
    lines += [f"Peak memory: max RSS {mem['max_rss_mb']:.0f} MiB{cuda}.", ""]
    return "\n".join(lines)
