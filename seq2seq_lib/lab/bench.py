"""Benchmark the quick recipe against plain tutorial-style references (`python -m seq2seq_lib bench`).

What is timed is what the profile runs: the three models as trained (the local run's checkpoints, else the
shipped `weights/quick/`), batches of real pairs (the corpus's test split, else the committed sample) encoded by
their preprocessor and bucketed by length, our training step (`training.batch_loss`: teacher-forced features, the
fused and chunked `losses.linear_cross_entropy` with the copy bonus, backward, an Adam step), our greedy and beam
search with every option of the profile's `decoding:` section, and the demo's own `generate_code`. Each reference
(`reference_models.py`) gets the same weights (copied), vocabulary and batches and runs the tutorial way: a step
loop with the output layer per step, a full-softmax loss, a per-sentence beam, no search options.

Timings are interleaved (ours, reference, ours, ...) over the plan's rounds and summarised by medians of wall time
and of process CPU time. The load average is recorded; a busy machine is warned about, or refused (`strict`).
"""

from __future__ import annotations

import copy
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader

from ..config import PROJECT_ROOT, Config, load_config, profile_config_path
from ..course.demo import generate_code
from ..data.batching import Batch, BucketBatchSampler, EncodedDataset, collate, encode_records, make_loader
from ..data.corpus import load_split
from ..data.preprocess import Preprocessor
from ..data.vocab import PAD_ID
from ..decoding.search import decode
from ..errors import UserError
from ..io_utils import write_json, write_text
from ..models import MODEL_NAMES, Seq2Seq
from ..paths import git_commit, project_relative, run_paths
from ..runtime import use_bf16_output
from ..training.checkpoints import LoadedModel, find_model_checkpoint, load_model
from ..training.loop import batch_loss
from ..training.losses import linear_cross_entropy, sequence_loss
from .reference_models import build_reference, reference_beam, reference_greedy

BATCH_SIZE = 64
NO_EOS = -1  # an id no reference step can emit: its decoding then runs exactly max_len steps
DEMO_DOCSTRING = "Return the largest number in a list, or None when the list is empty."  # 12 words
BUSY_LOAD_SHARE = 0.5  # a 1-minute load average above this share of the CPUs counts as a busy machine


@dataclass(frozen=True)
class Plan:
    """How much of everything a mode measures."""

    mode: str
    train_batches: int  # bucketed batches of real pairs timed per model, spread over the length distribution
    repeats: int  # interleaved rounds per measurement; the median is kept
    decode_batch: int  # sentences decoded at once
    ref_beam_sentences: int  # the per-sentence reference beam runs on the first this many sentences
    max_len: int | None  # decoding length limit; None: the profile's decoding.max_len
    padding_records: int  # corpus pairs for the padding share (0: all, through token counts)


PLANS = {
    "tiny": Plan("tiny", 1, 1, 4, 2, 12, 0),
    "quick": Plan("quick", 3, 5, 32, 4, None, 0),
    "full": Plan("full", 8, 7, 64, 8, None, 10000),
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
    profile: str = "quick",
    strict: bool = False,
) -> dict[str, Any]:
    """Run the benchmark (quick, full, or `tiny` for tests) on a profile's models; write bench.json and bench.md."""
    plan = PLANS["tiny" if tiny else "quick" if quick else "full"]
    load_start = os.getloadavg()
    busy = load_start[0] > BUSY_LOAD_SHARE * (os.cpu_count() or 1)
    if busy:
        message = (f"the machine is busy (1-minute load average {load_start[0]:.2f} on {os.cpu_count()} CPUs): "
                   "timings will be slow and noisy; stop other work and run the benchmark again")
        if strict:
            raise UserError(message)
        print(f"warning: {message}", flush=True)
    config = load_config(profile_config_path(profile))
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    dev = torch.device(device)
    start = time.perf_counter()
    try:
        models = recipe_models(config)
        records = bench_records(corpus_dir)
        results: dict[str, Any] = {"padding": measure_padding(corpus_dir, plan, config, seed), "models": {}}
        for name, loaded in models.items():
            results["models"][name] = bench_model(loaded, config, records, plan, dev, seed)
        results["demo"] = bench_demo(models["attention"], config, plan, profile)
        results["experiments"] = run_experiments(models["lstm"], config, records, plan, dev, seed, num_threads)
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
        "profile": profile,
        "checkpoints": {name: project_relative(m.path) for name, m in models.items()},
        "decoding": asdict(config.decoding),
        "git_commit": git_commit(),
        "device": str(dev),
        "num_threads": num_threads,
        "cpu_count": os.cpu_count(),
        "cpu_model": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "load_average_start": load_start,
        "load_average_end": os.getloadavg(),
        "busy": busy,
        "elapsed_s": time.perf_counter() - start,
        "batch_size": BATCH_SIZE,
        "method": METHOD_NOTES,
    }
    out = Path(out_dir)
    write_json(out / "bench.json", results)
    write_text(out / "bench.md", markdown_report(results))
    return results


METHOD_NOTES = {
    "batches": "real pairs (the corpus's test split, else data/sample's), encoded by the model's preprocessor "
    "within the profile's length limits, bucketed by BucketBatchSampler; the timed batches spread over the "
    "length quantiles",
    "train": "target tokens/s of a training step: ours = training.batch_loss (teacher forcing 1.0: "
    "forward_features + fused chunked linear_cross_entropy with the copy bonus over the non-pad rows) + backward "
    "+ Adam step; reference = step loop with the output layer per step + full-softmax sequence_loss + backward + "
    "Adam step; dropout as trained; median of the interleaved rounds per batch",
    "decode": "sentences/s on one batch: ours = decoding.search with the profile's options (greedy: the same "
    "options with method greedy); reference = tutorial greedy over the batch for as many steps as our longest "
    "output, and tutorial per-sentence beam (the first ref_beam_sentences sentences) forced to the length of our "
    "output for each: the same pieces written, without the search options",
    "demo": "course.demo.generate_code (tokenize, beam search with the profile's options, detokenize) for one "
    "12-word docstring with the attention model, beam 5, at the configured max_len, median latency on the "
    "bench's threads; reference = tutorial beam on the same encoded docstring, as many pieces as ours wrote",
    "projection_share": "time of our output projection + loss (the fused linear_cross_entropy) forward and "
    "backward on the captured decoder features, over the time of our whole training step",
}


# ----------------------------------------------------------------------------- the recipe's models and data


def recipe_models(config: Config) -> dict[str, LoadedModel]:
    """The profile's three trained models: the local run's checkpoints, else the shipped weights."""
    run_dir = run_paths(config).run_dir
    return {name: load_model(find_model_checkpoint(run_dir, name, config.profile)) for name in MODEL_NAMES}


def corpus_folders(corpus_dir: str | None) -> list[Path]:
    """Where the benchmark looks for pairs: `corpus_dir` when given, else data/corpus then the committed sample."""
    return [Path(corpus_dir)] if corpus_dir else [PROJECT_ROOT / "data" / "corpus", PROJECT_ROOT / "data" / "sample"]


def find_split(corpus_dir: str | None, split: str) -> Path | None:
    """The first of `corpus_folders` that holds `split`, or None."""
    return next((f for f in corpus_folders(corpus_dir) if (f / f"{split}.jsonl.gz").is_file()), None)


def bench_records(corpus_dir: str | None) -> list[dict]:
    """The pairs batches are drawn from: the test split of `corpus_dir`, data/corpus or the committed sample."""
    folder = find_split(corpus_dir, "test")
    if folder is None:
        raise UserError(f"no test split in {', '.join(map(str, corpus_folders(corpus_dir)))}; "
                        "build the corpus with `python -m seq2seq_lib data build`")
    return load_split(folder, "test")


def real_batches(records: list[dict], preprocessor: Preprocessor, config: Config, count: int, seed: int,
                 batch_size: int = BATCH_SIZE) -> list[Batch]:
    """`count` full bucketed batches of real pairs whose target lengths spread over the quantiles of all batches."""
    dataset, _ = encode_records(records[: batch_size * 40], preprocessor, config.data.max_src_len, config.data.max_tgt_len)
    lengths = dataset.lengths()
    groups = sorted(BucketBatchSampler(lengths, batch_size, shuffle=True, seed=seed), key=lambda g: lengths[g[0]][1])
    groups = [g for g in groups if len(g) == batch_size]
    if not groups:
        raise UserError(f"fewer than {batch_size} pairs within the length limits: too few records to benchmark")
    chosen = [groups[int((i + 0.5) * len(groups) / count)] for i in range(count)]
    return [collate([dataset[i] for i in group]) for group in chosen]


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


def target_pieces(batch: Batch) -> int:
    """Non-pad target pieces of a batch (what a training step's speed is counted in)."""
    return int((batch.tgt_out != PAD_ID).sum())


def train_step(loss_fn: LossFn, optimizer: torch.optim.Optimizer, batch: Batch) -> float:
    """One forward and loss, backward and Adam step; returns the loss."""
    loss = loss_fn(batch)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def ours_loss(model: Seq2Seq, bf16: bool) -> LossFn:
    """Our production training loss: training.batch_loss at teacher forcing 1.0, bfloat16 products as the profile
    resolves `training.bf16_output` here."""
    return lambda b: batch_loss(model, b, teacher_forcing=1.0, bf16=bf16)[0]


def reference_loss(reference: nn.Module) -> LossFn:
    """The reference's loss: teacher-forced logits (B, T, V) of its step loop, full-softmax sequence_loss."""
    return lambda b: sequence_loss(reference(b.src, b.src_lengths, b.tgt_in), b.tgt_out)[0]


def warm_up(batch: Batch) -> Batch:
    """The first 4 rows of a batch (a cheap first call that pays one-off setup costs)."""
    return Batch(batch.src[:4], batch.src_lengths[:4], batch.tgt_in[:4], batch.tgt_out[:4], batch.indices[:4])


def ratio(ours: float, reference: float) -> float:
    """ours / reference, NaN when the reference is 0."""
    return ours / reference if reference else float("nan")


# ----------------------------------------------------------------------------- per model


def bench_model(loaded: LoadedModel, config: Config, records: list[dict], plan: Plan, dev: torch.device,
                seed: int) -> dict[str, Any]:
    """Training and decoding figures of one trained model against its reference."""
    batches = [b.to(dev) for b in real_batches(records, loaded.preprocessor, config, plan.train_batches, seed)]
    model = loaded.model.to(dev)
    out = bench_decoding(model, build_reference(loaded.name, model).to(dev), loaded.preprocessor, batches[0], config, plan)
    trainee = copy.deepcopy(model).train()  # the trained weights stay as they are for the demo
    bf16 = use_bf16_output(config.training.bf16_output, dev)
    out["train"] = bench_training(trainee, build_reference(loaded.name, trainee).to(dev), batches, plan.repeats, bf16)
    out["projection_share"] = projection_share(trainee, batches[-1], plan.repeats, bf16)
    return out


def bench_training(model: Seq2Seq, reference: nn.Module, batches: list[Batch], repeats: int, bf16: bool) -> dict[str, Any]:
    """Target tokens/s of training steps, our production step against the reference's (float32, as tutorials)."""
    steps = {
        "ours": partial(train_step, ours_loss(model, bf16), torch.optim.Adam(model.parameters())),
        "ref": partial(train_step, reference_loss(reference), torch.optim.Adam(reference.parameters())),
    }
    for step in steps.values():
        step(warm_up(batches[0]))
    totals: dict[str, float] = {}
    for batch in batches:
        times = interleaved({key: partial(step, batch) for key, step in steps.items()}, repeats)
        for key, seconds in times.items():
            totals[key] = totals.get(key, 0.0) + seconds
    tokens = sum(target_pieces(b) for b in batches)
    out: dict[str, Any] = {"tokens": tokens, "batches": len(batches), "bf16_output": bf16}
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


def projection_share(model: Seq2Seq, batch: Batch, repeats: int, bf16: bool) -> dict[str, float]:
    """Share of our training step taken by the output projection + loss (the fused loss, forward and backward)."""
    features = output_features(model, batch)  # (B, T, D)
    optimizer = torch.optim.Adam(model.parameters())

    def projection() -> None:
        """Projection and loss forward and backward only, as batch_loss does them."""
        loss, _ = linear_cross_entropy(features, model.output.proj, batch.tgt_out, bf16=bf16)
        loss.backward()

    times = interleaved({"step": lambda: train_step(ours_loss(model, bf16), optimizer, batch), "projection": projection}, repeats)
    model.zero_grad(set_to_none=True)
    return {"step_s": times["step"], "projection_s": times["projection"], "share": times["projection"] / times["step"]}


def decoding_options(config: Config, plan: Plan, method: str) -> Any:
    """The profile's decoding options with `method` (and the plan's max_len, when it sets one)."""
    return replace(config.decoding, method=method, **({"max_len": plan.max_len} if plan.max_len else {}))


def bench_decoding(model: Seq2Seq, reference: nn.Module, preprocessor: Preprocessor, batch: Batch, config: Config,
                   plan: Plan) -> dict[str, Any]:
    """Greedy and beam sentences/s on one batch: our search with every profile option against the reference's,
    the reference made to write as many pieces per sentence as ours did (it has no length target of its own)."""
    src, lengths = batch.src[: plan.decode_batch], batch.src_lengths[: plan.decode_batch]  # (B, S), (B,)
    n_ref = min(plan.ref_beam_sentences, len(src))
    model.eval()
    out = {}
    for method in ("greedy", "beam"):
        options = decoding_options(config, plan, method)
        ours = partial(decode, model, src, lengths, options, preprocessor)
        produced = [len(tokens) for tokens in ours().tokens]  # also the warm-up
        if method == "greedy":  # one batch, stepped until its longest output is done, as ours is
            theirs = partial(reference_greedy, reference, src, lengths, max(produced), NO_EOS)
        else:  # one sentence at a time, exactly as long as our output for it
            theirs = partial(_reference_beams, reference, src[:n_ref], lengths[:n_ref], options.beam_width, produced[:n_ref])
        times = interleaved({"ours": ours, "reference": lambda: run_inference(theirs)}, plan.repeats)
        ref_sentences = n_ref if method == "beam" else len(src)
        out[method] = {
            "ours_sent_s": len(src) / times["ours"], "ref_sent_s": ref_sentences / times["reference"],
            "ratio": ratio(len(src) / times["ours"], ref_sentences / times["reference"]),
            "ratio_cpu": ratio(len(src) / times["ours_cpu"], ref_sentences / times["reference_cpu"]),
            "sentences": len(src), "ref_sentences": ref_sentences, "ours_pieces": sum(produced), "max_len": options.max_len,
        }
    return out


def _reference_beams(reference: nn.Module, src: Tensor, lengths: Tensor, beam_width: int, steps: list[int]) -> list[list[int]]:
    """The reference beam for each sentence, with <eos> forbidden until exactly its `steps` pieces."""
    return [reference_beam(reference, src[i : i + 1], lengths[i : i + 1], beam_width, n, min_len=n)[0]
            for i, n in enumerate(steps)]


def run_inference(fn: Callable[[], Any], mode: str = "inference_mode") -> Any:
    """Call fn under torch.inference_mode, torch.no_grad or with autograd ("grad")."""
    if mode == "inference_mode":
        with torch.inference_mode():
            return fn()
    with torch.set_grad_enabled(mode == "grad"):
        return fn()


def bench_demo(loaded: LoadedModel, config: Config, plan: Plan, profile: str) -> dict[str, Any]:
    """The demo's latency: generate_code for a 12-word docstring (attention, beam 5, configured max_len)."""
    max_len = plan.max_len or config.decoding.max_len
    demo = partial(generate_code, DEMO_DOCSTRING, "attention", 5, profile=profile, max_len=max_len, checkpoint=loaded.path)
    result = demo()  # loads and caches the model
    model = loaded.model.cpu().eval()
    reference = build_reference("attention", model)
    ids = loaded.preprocessor.encode_src(DEMO_DOCSTRING)
    src, lengths = torch.tensor([ids]), torch.tensor([len(ids)])  # (1, S), (1,)
    pieces = len(result.tgt_tokens)  # the reference writes as many, <eos> forbidden before
    times = interleaved(
        {"ours": demo,
         "reference": lambda: run_inference(lambda: reference_beam(reference, src, lengths, 5, pieces, min_len=pieces))},
        max(3, plan.repeats),
    )
    return {
        "docstring": DEMO_DOCSTRING,
        "ours_ms": 1000 * times["ours"],
        "ref_ms": 1000 * times["reference"],
        "ours_cpu_ms": 1000 * times["ours_cpu"],
        "ref_cpu_ms": 1000 * times["reference_cpu"],
        "output_pieces": len(result.tgt_tokens),
        "cut_short": result.cut_short,
        "max_len": max_len,
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


def corpus_lengths(corpus_dir: Path, limit: int, max_src: int, max_tgt: int) -> tuple[list[tuple[int, int]], str]:
    """(src, tgt) lengths with <eos> of the train split, within the profile's length limits.

    With `limit` > 0, the first `limit` records go through a fitted Preprocessor and encode_records;
    with 0, every record is counted from the corpus token lists (fast).
    """
    records = load_split(corpus_dir, "train")
    if limit > 0:
        records = records[:limit]
        dataset, _ = encode_records(records, Preprocessor.fit(records), max_src, max_tgt)
        return dataset.lengths(), f"Preprocessor + encode_records, first {limit} pairs"
    lengths = [(len(r["func_documentation_tokens"]) + 1, len(r["func_code_tokens"]) + 1) for r in records]
    return [(s, t) for s, t in lengths if s <= max_src and t <= max_tgt], "corpus token counts (func_*_tokens + <eos>)"


def measure_padding(corpus_dir: str | None, plan: Plan, config: Config, seed: int) -> dict[str, Any]:
    """Pad share (src + tgt) of length-bucketed against random batches of 64 on the real corpus."""
    corpus = find_split(corpus_dir, "train")
    if corpus is None:
        return {"source": "no corpus found", "bucketed": None, "random": None}
    lengths, how = corpus_lengths(corpus, plan.padding_records, config.data.max_src_len, config.data.max_tgt_len)
    dataset = EncodedDataset([([4] * s, [4] * t) for s, t in lengths], list(range(len(lengths))))
    return {
        "corpus": project_relative(corpus),
        "source": how,
        "pairs": len(lengths),
        "bucketed": padding_fraction(make_loader(dataset, BATCH_SIZE, shuffle=True, seed=seed)),
        "random": padding_fraction(random_loader(dataset, BATCH_SIZE, seed=seed)),
    }


# ----------------------------------------------------------------------------- experiments


def run_experiments(loaded: LoadedModel, config: Config, records: list[dict], plan: Plan, dev: torch.device,
                    seed: int, num_threads: int) -> dict[str, Any]:
    """On the trained LSTM: threads 1 vs 2, output-layer variants, grad modes for the reference's decoding."""
    batch = real_batches(records, loaded.preprocessor, config, 1, seed)[0].to(dev)
    model = copy.deepcopy(loaded.model).to(dev).train()
    reference = build_reference("lstm", model).to(dev)
    loss_fn = ours_loss(model, use_bf16_output(config.training.bf16_output, dev))
    optimizer = torch.optim.Adam(model.parameters())
    small = Batch(batch.src[:16], batch.src_lengths[:16], batch.tgt_in[:16], batch.tgt_out[:16], batch.indices[:16])
    train_step(loss_fn, optimizer, warm_up(batch))
    threads: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(plan.repeats):
        for n, times in threads.items():
            torch.set_num_threads(n)
            times.append(median_time(lambda: train_step(loss_fn, optimizer, small), 1))
    torch.set_num_threads(num_threads)
    thread_tok_s = {f"{n}_threads_tok_s": target_pieces(small) / statistics.median(ts) for n, ts in threads.items()}
    return {
        "model": "lstm",
        "threads": {"batch_rows": 16, **thread_tok_s},
        "output_layer": output_layer_options(model, batch, plan.repeats),
        "decode_projection": decoding_projection(model, plan, config.decoding.beam_width),
        "decode_grad_mode": grad_modes(reference, batch, plan),
    }


def decoding_projection(model: Seq2Seq, plan: Plan, beam_width: int, calls: int = 20) -> dict[str, Any]:
    """The output projection alone, in inference mode, per row: on one sentence's beam (the reference's rows) and on
    decode_batch sentences' beams at once (ours). Their ratio bounds the beam ratio of a model whose decoding step
    is mostly this product: batching is all our search can do about it."""
    proj = model.output.proj
    rows = {"reference": beam_width, "ours": plan.decode_batch * beam_width}
    inputs = {who: torch.randn(n, proj.in_features, device=proj.weight.device) for who, n in rows.items()}

    def project(who: str) -> None:
        """`calls` projections of the rows `who` decodes at once."""
        for _ in range(calls):
            proj(inputs[who])

    with torch.inference_mode():
        times = interleaved({who: partial(project, who) for who in rows}, plan.repeats)
    per_row = {who: times[who] / (calls * n) for who, n in rows.items()}
    return {"rows": rows, **{f"{who}_us_per_row": 1e6 * t for who, t in per_row.items()},
            "ceiling": per_row["reference"] / per_row["ours"]}


def output_layer_options(model: Seq2Seq, batch: Batch, repeats: int) -> dict[str, float]:
    """Projection + loss forward/backward: full softmax, non-pad rows only, fused (float32 and bfloat16 products),
    adaptive (cutoffs V/8, V/2)."""
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

    def fused_bf16() -> None:
        """The same with its matrix products in bfloat16 (`training.bf16_output`)."""
        linear_cross_entropy(features, proj, batch.tgt_out, bf16=True)[0].backward()

    options = {"full": full, "non_pad_rows": real_rows, "fused_chunked": fused, "fused_bf16": fused_bf16,
               "adaptive": adaptive_softmax}
    times = interleaved(options, repeats)
    return {
        **{f"{key}_s": times[key] for key in options},
        **{f"{key}_speedup": times["full"] / times[key] for key in options if key != "full"},
    }


def grad_modes(reference: nn.Module, batch: Batch, plan: Plan) -> dict[str, float]:
    """Reference greedy decoding sentences/s with autograd on, under no_grad and under inference_mode."""
    src, lengths = batch.src[: plan.decode_batch], batch.src_lengths[: plan.decode_batch]
    steps = plan.max_len or 40
    modes = ("grad", "no_grad", "inference_mode")
    times = interleaved(
        {m: (lambda m=m: run_inference(lambda: reference_greedy(reference, src, lengths, steps, NO_EOS), m)) for m in modes},
        plan.repeats,
    )
    return {f"{m}_sent_s": len(src) / times[m] for m in modes}


# ----------------------------------------------------------------------------- report


def _precision(results: dict[str, Any]) -> str:
    """'bfloat16', 'float32' or 'mixed': how our training steps multiplied in the output layer."""
    used = {m["train"].get("bf16_output", False) for m in results["models"].values()}
    return "mixed" if len(used) > 1 else "bfloat16" if used == {True} else "float32"


def check_targets(results: dict[str, Any]) -> dict[str, Any]:
    """The speed issue's targets: training >= 3x and greedy and beam decoding >= 1.5x the reference for each model,
    the demo <= 200 ms, padding < 10%."""
    models = results["models"]
    bucketed = results["padding"]["bucketed"]
    return {
        "train_ratio_ge_3": {name: m["train"]["ratio"] >= 3 for name, m in models.items()},
        "greedy_ratio_ge_1.5": {name: m["greedy"]["ratio"] >= 1.5 for name, m in models.items()},
        "beam_ratio_ge_1.5": {name: m["beam"]["ratio"] >= 1.5 for name, m in models.items()},
        "demo_le_200ms": results["demo"]["ours_ms"] <= 200,
        "padding_lt_10pct": bucketed is not None and bucketed < 0.10,
    }


def markdown_report(results: dict[str, Any]) -> str:
    """A small Markdown summary of the results."""
    meta = results["meta"]
    lines = [
        f"# Benchmark ({meta['mode']}, {meta['profile']} models, {meta['device']}, {meta['num_threads']} thread(s), "
        f"torch {meta['torch']}, commit {meta['git_commit']})",
        "",
        (
            f"Load average at start / end: {meta['load_average_start'][0]:.2f} / {meta['load_average_end'][0]:.2f} "
            f"on {meta['cpu_count']} CPUs{' (busy: timings are noisy)' if meta['busy'] else ''}; "
            f"{meta['elapsed_s']:.0f} s; medians of {meta['plan']['repeats']} interleaved rounds. "
            "Ratios are ours / reference by wall time (by CPU time in brackets); higher is better. Our training "
            f"step's output-layer products: {_precision(results)} (`training.bf16_output`); the references' float32."
        ),
        "",
        "| model | train tok/s ours / ref | train ratio | greedy ratio | beam ratio | projection share |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, m in results["models"].items():
        train, greedy, beam = m["train"], m["greedy"], m["beam"]
        lines.append(
            f"| {name} | {train['ours_tok_s']:.0f} / {train['ref_tok_s']:.0f} | {train['ratio']:.2f}x ({train['ratio_cpu']:.2f}x) "
            f"| {greedy['ratio']:.2f}x ({greedy['ratio_cpu']:.2f}x) | {beam['ratio']:.2f}x ({beam['ratio_cpu']:.2f}x) "
            f"| {m['projection_share']['share']:.0%} |"
        )
    demo = results["demo"]
    lines += ["", f"Demo (attention, beam 5, at most {demo['max_len']} pieces, \"{demo['docstring']}\"): "
              f"{demo['ours_ms']:.0f} ms (CPU {demo['ours_cpu_ms']:.0f} ms), {demo['output_pieces']} pieces; "
              f"reference beam {demo['ref_ms']:.0f} ms."]
    pad = results["padding"]
    if pad["bucketed"] is not None:
        lines += ["", f"Padding share ({pad['source']}, {pad['pairs']} pairs): bucketed {pad['bucketed']:.1%}, random {pad['random']:.1%}."]
    exp = results["experiments"]
    threads = ", ".join(f"{k.split('_')[0]} thread(s) {v:.0f} tok/s" for k, v in exp["threads"].items() if k != "batch_rows")
    layer = exp["output_layer"]
    modes = ", ".join(f"{k[:-7]} {v:.1f}" for k, v in exp["decode_grad_mode"].items())
    proj = exp["decode_projection"]
    lines += [
        f"Threads (lstm training, batch of 16): {threads}.",
        (
            f"Output layer (projection + loss, fwd + bwd), speed-up over the full softmax at every position: "
            f"non-pad rows only {layer['non_pad_rows_speedup']:.2f}x, "
            f"fused chunked loss {layer['fused_chunked_speedup']:.2f}x, the same with bfloat16 products "
            f"{layer['fused_bf16_speedup']:.2f}x (training uses the fused loss, with the products named above), "
            f"adaptive softmax {layer['adaptive_speedup']:.2f}x."
        ),
        (
            f"Beam search's output projection alone (lstm, inference): {proj['reference_us_per_row']:.1f} us per row "
            f"on one sentence's {proj['rows']['reference']} hypotheses (the reference), {proj['ours_us_per_row']:.1f} "
            f"on {proj['rows']['ours']} (ours): where this product is most of a decoding step (the RNN and the LSTM), "
            f"batching cannot make beam search more than {proj['ceiling']:.2f}x the reference."
        ),
        f"Reference greedy sentences/s by grad mode: {modes}.",
    ]
    mem = results["memory"]
    cuda = f", CUDA max allocated {mem['cuda_max_allocated_mb']:.0f} MiB" if mem["cuda_max_allocated_mb"] is not None else ""
    lines += [f"Peak memory: max RSS {mem['max_rss_mb']:.0f} MiB{cuda}.", ""]
    return "\n".join(lines)
