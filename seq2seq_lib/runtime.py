"""Where a run computes: seeds, torch threads, the device, and the worker processes that train or decode models side by side."""

from __future__ import annotations

import multiprocessing
import os
import random
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import TypeVar

import numpy as np
import torch

from .config import Config
from .errors import UserError

Job = TypeVar("Job")
Result = TypeVar("Result")
# The cores this process may use (its affinity, where the OS has one), not the host's count.
CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch so CPU runs repeat exactly."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with `count` intra-op torch threads, then restore the previous setting."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def configure_threads(config: Config) -> None:
    """Apply the config's torch thread count (0 keeps torch's default)."""
    if config.training.num_threads > 0:
        torch.set_num_threads(config.training.num_threads)


def resolve_device(name: str) -> torch.device:
    """Turn 'auto' / 'cpu' / 'cuda' into a torch.device ('auto' picks CUDA when present)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("device 'cuda' asked for but no GPU is visible; set device: auto or cpu")
    if name not in ("cpu", "cuda"):
        raise UserError(f"unknown device '{name}'; use auto, cpu or cuda")
    return torch.device(name)


def use_bf16_output(setting: bool | str, device: torch.device) -> bool:
    """Whether the fused loss multiplies in bfloat16: `training.bf16_output` true, false, or "auto" (where the GPU or
    the CPU's oneDNN does bfloat16 natively; emulated, it is slower than float32)."""
    if setting not in (True, False, "auto"):
        raise UserError(f"training.bf16_output must be true, false or auto, got {setting!r}; see configs/quick.yaml")
    if setting != "auto":
        return setting
    return torch.cuda.is_bf16_supported() if device.type == "cuda" else torch.ops.mkldnn._is_mkldnn_bf16_supported()


def worker_plan(config: Config, jobs: int) -> tuple[int, int]:
    """(processes, torch threads each) for `jobs` independent models: `training.workers`, or with 0 one process per
    CPU core and at most one per model (one on a GPU); threads `training.num_threads`, or with 0 the cores shared out.

    Small models' matrix products use a second thread less well than a second process (`lab/scaling.py` measures it)."""
    auto = 1 if resolve_device(config.device).type == "cuda" else CPUS
    workers = max(1, min(config.training.workers or auto, jobs))
    return workers, config.training.num_threads or max(1, CPUS // workers)


def run_in_workers(fn: Callable[[Job], Result], jobs: Sequence[Job], workers: int, threads: int) -> list[Result]:
    """fn(job) for every job, results in job order: in `workers` fresh processes of `threads` torch threads each, a job
    starting as soon as a process is free (so list the longest first); in this process when `workers` is 1."""
    with started_in_workers(fn, jobs, workers, threads) as results:
        return list(results)


@contextmanager
def started_in_workers(
    fn: Callable[[Job], Result], jobs: Sequence[Job], workers: int, threads: int
) -> Iterator[Iterator[Result]]:
    """`run_in_workers`, with the jobs started before the block runs: the block gets an iterator over the results in
    job order, and can do its own work while the workers do theirs (with `workers` 1, each job runs when its result
    is asked for)."""
    if workers <= 1:
        yield (fn(job) for job in jobs)
        return
    with worker_pool(workers, threads) as pool:
        yield pool.map(fn, jobs)


@contextmanager
def worker_pool(workers: int, threads: int) -> Iterator[ProcessPoolExecutor]:
    """An executor of `workers` fresh processes of `threads` torch threads each."""
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter on every OS: no thread pool inherited by fork
    try:
        with ProcessPoolExecutor(workers, mp_context=spawn, initializer=torch.set_num_threads, initargs=(threads,)) as pool:
            yield pool
    except BrokenProcessPool:
        raise UserError("a worker process died (out of memory, killed, or started by a script that does not call "
                        "the package under `if __name__ == \"__main__\":`); fix that, or set training.workers: 1") from None
