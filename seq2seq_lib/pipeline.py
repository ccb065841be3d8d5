"""The whole pipeline of a profile (`run_all.sh` / `python -m seq2seq_lib run-all`).

Stages: corpus -> training -> evaluation -> shipped weights (quick) -> attention figures ->
notebooks -> summary.
Every stage is safe to re-run: trained models are reused (`--force` retrains), files are
written atomically, and the first failing stage stops the run with a one-line message.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any, Callable

import torch

from .config import PROJECT_ROOT, Config, load_config, profile_config_path
from .data.records import load_records
from .errors import UserError
from .io_utils import write_json, write_text
from .models import MODEL_NAMES
from .paths import git_commit, resolve_path, run_paths
from .runtime import CPUS, Job, Result, configure_threads, run_in_workers, set_seed, torch_threads, worker_pool, worker_plan
from .training.data import TrainingData, prepare_training_data
from .training.loop import TrainResult, train_model

SHIPPED_PROFILE = "quick"
TrainJob = tuple[str, Config, TrainingData, Path, bool, bool]


def train_models(config: Config, names: list[str], force: bool = False, progress: bool = True) -> dict[str, TrainResult]:
    """Train (or resume, or reuse) each named model of a config on the same data, side by side in worker processes
    where the config's `worker_plan` gives more than one (each model's seeds are its own, so the results are alike)."""
    jobs, workers, threads = _training_jobs(config, names, force, progress)
    results = {job[0]: result for job, result in zip(jobs, run_in_workers(train_job, jobs, workers, threads))}
    return {name: results[name] for name in names}


def _training_jobs(config: Config, names: list[str], force: bool, progress: bool) -> tuple[list[TrainJob], int, int]:
    """The data prepared once, and a `train_job` per model (the costliest first) with the worker plan to run them."""
    set_seed(config.seed)
    configure_threads(config)
    paths = run_paths(config)
    data = prepare_training_data(config, paths)
    workers, threads = worker_plan(config, len(names))
    print(f"[train] {config.run_name}: {len(data.train)} training pairs ({data.counts['train']}), {len(data.valid)} "
          f"validation pairs, vocabularies {len(data.preprocessor.src_vocab)} / {len(data.preprocessor.tgt_vocab)}"
          + (f"; {len(names)} models, {workers} at a time in their own processes, {threads} thread(s) each" if workers > 1 else ""))
    order = sorted(names, key=MODEL_NAMES.index, reverse=True)  # the costliest (attention) first
    return [(name, config, data, paths.model_dir(name), force, progress and workers == 1) for name in order], workers, threads


def train_and_evaluate(config: Config, force: bool = False) -> tuple[dict[str, TrainResult], str]:
    """Train the config's models and evaluate them on the test split: (training results, comparison table).

    The models train in worker processes (`worker_plan`, one at least). As soon as one is trained, the next free
    worker decodes its test pairs while the others still train; the last one trained is decoded with every core.
    This process scores the outputs as they come, at a lower priority, so that it takes the cores the workers leave."""
    from .evaluation.evaluate import decode_model, evaluate_models

    jobs, workers, threads = _training_jobs(config, list(config.models), force, progress=True)
    records = load_records(config, "test")

    def decoded(pool: ProcessPoolExecutor, training: dict[Future, str]) -> Iterator[tuple[str, tuple[list[str], dict]]]:
        """Each model's test outputs as its decoding ends; a model's decoding starts when its training ends."""
        pending, decoding = set(training), {}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                if future in decoding:
                    yield decoding[future], future.result()
                    continue
                name, trained = training[future], future.result()  # a training that failed stops the run here
                cores = CPUS if all(f.done() for f in training) else threads  # the last one trained: nothing else trains
                job = (name, trained.best_checkpoint, config, records, "test", False)
                pending.add(decode := pool.submit(with_threads, decode_model, (cores, job)))
                decoding[decode] = name

    with worker_pool(workers, threads) as pool:
        training = {pool.submit(train_job, job): job[0] for job in jobs}
        if hasattr(os, "nice"):
            os.nice(19)  # the workers have started: from now on this process takes the CPU time they leave idle
        table = evaluate_models(config, list(config.models), "test", records=records, decoded=decoded(pool, training))
    return {name: future.result() for future, name in training.items()}, table


def train_job(job: TrainJob) -> TrainResult:
    """Train one model: (name, config, data, model folder, force, progress bars) -> its result (a worker's job)."""
    result = train_model(*job)
    print(f"[train] {result.model_name}: best validation loss {result.best_valid_loss:.3f}, "
          f"kept epoch {result.best_epoch}, {result.train_seconds:.0f}s of training", flush=True)
    return result


def with_threads(fn: Callable[[Job], Result], job: tuple[int, Job]) -> Result:
    """fn(job) with `threads` torch threads: (threads, job) -> its result (a worker's job)."""
    with torch_threads(job[0]):
        return fn(job[1])


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (notebook kernels, pip), user and system."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _stage(name: str, timings: dict[str, dict[str, float]], action: Callable[[], object]) -> object:
    """Run one stage, time it (wall and CPU), and turn an unexpected failure into a one-line stage error."""
    print(f"\n=== {name} ===", flush=True)
    started, cpu = time.perf_counter(), _cpu_seconds()
    try:
        result = action()
    except UserError:
        raise
    except Exception as exc:
        raise UserError(f"stage '{name}' failed: {type(exc).__name__}: {exc}") from exc
    timings[name] = {"wall_s": round(time.perf_counter() - started, 1), "cpu_s": round(_cpu_seconds() - cpu, 1)}
    return result


def _cpu_model() -> str:
    """The processor's name (Linux /proc/cpuinfo, else what platform says)."""
    import platform

    info = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in info.read_text().splitlines() if line.startswith("model name")] \
        if info.is_file() else []
    return names[0] if names else platform.processor()


def write_timings(path: Path, stages: dict[str, dict[str, float]], started: float, fresh_clone: bool,
                  workers: tuple[int, int] = (1, 0)) -> dict[str, Any]:
    """Write timings.json: wall and CPU seconds per stage, the wall time since `started` (a time.time()), the machine,
    and the processes that trained and decoded the models with their threads each (`worker_plan`'s `workers`).

    When run_all.sh started the run (SEQ2SEQ_STARTED), the environment set-up before Python counts as a stage too.
    """
    import torch

    shell_started = float(os.environ.get("SEQ2SEQ_STARTED", 0) or started)
    if shell_started < started:
        stages = {"setup": {"wall_s": round(started - shell_started, 1)}, **stages}
    timings = {
        "total_wall_s": round(time.time() - shell_started, 1), "fresh_clone": fresh_clone, "commit": git_commit(),
        "model_processes": workers[0], "threads": workers[1] if workers[0] > 1 else torch.get_num_threads(), "cpus": CPUS,
        "cpu_model": _cpu_model(), "torch": torch.__version__, "stages": stages,
    }
    write_json(path, timings)
    return timings


def run_all(profile: str, force: bool = False, skip_notebooks: bool = False) -> dict[str, Any]:
    """Run every stage of a profile, write results/<profile>/timings.json and print a summary; returns the timings."""
    from .training.checkpoints import SHIPPED_WEIGHTS_DIR, export_weights
    from .data.corpus import DEFAULT_SAMPLE_DIR, build_corpus, committed_manifest
    from .evaluation.results import readme_table
    from .course.notebooks import execute_notebooks
    from .course.visualize import visualize_attention

    started = time.time()
    config = load_config(profile_config_path(profile))
    paths = run_paths(config)
    timings: dict[str, dict[str, float]] = {}
    corpus_dir = resolve_path(config.data.corpus_dir)
    built = not (corpus_dir / "test.jsonl.gz").is_file()
    if built:
        extra = config.data.training_packages
        _stage("corpus", timings, lambda: build_corpus(
            resolve_path("data/packages.txt"), corpus_dir, resolve_path("data/cache"), manifest_path=committed_manifest(corpus_dir),
            training_packages_file=resolve_path(extra) if extra else None))
    trained, table = _stage("train_evaluate", timings, lambda: train_and_evaluate(config, force))
    if profile == SHIPPED_PROFILE:
        for name in config.models:
            checkpoint, shipped = paths.model_dir(name) / "checkpoint.pt", SHIPPED_WEIGHTS_DIR / profile / f"{name}.pt"
            if not shipped.is_file() or shipped.stat().st_mtime < checkpoint.stat().st_mtime:
                export_weights(checkpoint, shipped)  # only when retrained: the weights stay byte-identical in git
    if "attention" in config.models:
        _stage("attention", timings, lambda: visualize_attention(config, num_examples=5))
    if profile != "smoke":
        update_readme_results(profile, readme_table(paths.results_dir / "comparison.csv"))
    if not skip_notebooks:
        _stage("notebooks", timings, lambda: execute_notebooks(config))
    committed_corpus = corpus_dir == resolve_path(DEFAULT_SAMPLE_DIR)  # the sample ships with the repository
    fresh = (os.environ.get("SEQ2SEQ_FRESH_VENV") == "1" and (built or committed_corpus)
             and all(r.resumed_from_epoch == 0 for r in trained.values()))  # nothing an earlier run left was reused
    summary = write_timings(paths.results_dir / "timings.json", timings, started, fresh,
                            worker_plan(config, len(config.models)))
    print("\n=== summary ===")
    for stage, seconds in summary["stages"].items():
        print(f"{stage:>10}: {seconds['wall_s'] / 60:6.1f} min")
    print(f"{'total':>10}: {summary['total_wall_s'] / 60:6.1f} min (results/{profile}/timings.json)")
    print(f"\n{table}\n\nfigures: {paths.figures_dir}/   results: {paths.results_dir}/")
    return summary


def update_readme_results(profile: str, table: str, readme: Path = PROJECT_ROOT / "README.md") -> bool:
    """Replace the README's results block of a profile with a fresh table; False when it has no such block."""
    start, end = f"<!-- results:{profile}:start -->", f"<!-- results:{profile}:end -->"
    text = readme.read_text(encoding="utf-8")
    if start not in text or end not in text:
        return False
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    write_text(readme, f"{head}{start}\n{table.strip()}\n{end}{tail}")
    return True
