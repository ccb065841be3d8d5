"""Decoding in worker processes, for the CPU: one torch thread each, whole batches each.

The models are small, so one process with N torch threads leaves most of N cores idle (each step is a
few small matrix products and a Python loop over hypotheses). N processes of one thread each, every
one decoding whole batches of its own, keep the cores busy. Batches are formed once, in the caller,
exactly as for decoding in-process, and a batch's output does not depend on the number of threads
(checked by tests/test_parallel.py and on the quick models), so the outputs are the same either way.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from itertools import repeat
from types import TracebackType

import torch

from .batching import Batch
from .config import DecodingConfig
from .decoding import decode
from .models.base import Seq2Seq
from .preprocess import Preprocessor

_WORKER: dict[str, object] = {}  # the model and preprocessor of this worker process


def default_jobs() -> int:
    """Worker processes worth starting for decoding on the CPU: the usable cores, at most 8."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(8, cores))


def decode_pool(
    model: Seq2Seq, preprocessor: Preprocessor, device: torch.device | str, jobs: int
) -> AbstractContextManager[DecodePool | None]:
    """A DecodePool of `jobs` workers on the CPU; None (decode in this process) for one job or on a GPU."""
    if jobs <= 1 or torch.device(device).type != "cpu":
        return nullcontext(None)
    return DecodePool(model, preprocessor, jobs)


def _start_worker(model: Seq2Seq, preprocessor_state: dict) -> None:
    """Hold the model and its preprocessor for this process's batches, on one torch thread."""
    torch.set_num_threads(1)
    _WORKER["model"], _WORKER["preprocessor"] = model.eval(), Preprocessor.from_dict(preprocessor_state)


def _decode_batch(batch: Batch, decoding: DecodingConfig) -> list[list[int]]:
    """The generated ids of one batch, decoded in a worker."""
    model, preprocessor = _WORKER["model"], _WORKER["preprocessor"]
    return decode(model, batch.src, batch.src_lengths, **decoding.search_options(preprocessor)).tokens


class DecodePool:
    """`jobs` worker processes that decode batches with one model (use as a context manager)."""

    def __init__(self, model: Seq2Seq, preprocessor: Preprocessor, jobs: int) -> None:
        """Start the workers; each receives a copy of the model (on the CPU) and of the preprocessor."""
        self.jobs = jobs
        self._executor = ProcessPoolExecutor(
            jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker,
            initargs=(model, preprocessor.to_dict()),
        )

    def map(self, batches: Sequence[Batch], decoding: DecodingConfig) -> Iterator[list[list[int]]]:
        """Each batch's generated ids, in order; every batch is queued at once and taken by the next free worker."""
        return self._executor.map(_decode_batch, batches, repeat(decoding))

    def __enter__(self) -> DecodePool:
        """The pool itself."""
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        """Stop the workers (cancelling queued batches when leaving on an error)."""
        self._executor.shutdown(wait=True, cancel_futures=error is not None)
