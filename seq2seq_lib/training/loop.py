"""The one training loop shared by the three models.

Adam, cross-entropy over non-pad tokens, teacher forcing with a configurable ratio, gradient clipping,
the learning rate halved when validation loss stops falling, early stopping on validation loss, the
epoch of lowest validation loss kept, and resumption from the last finished epoch.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..progress import tqdm

from ..config import Config, TrainingConfig
from ..data.batching import Batch, make_loader
from ..errors import UserError
from ..io_utils import write_json, write_text
from ..models import build_model, can_copy
from ..models.base import Seq2Seq
from ..models.copy import copy_table
from ..runtime import resolve_device, use_bf16_output
from .checkpoints import read_checkpoint, save_checkpoint
from .data import TrainingData
from .losses import linear_cross_entropy, sequence_loss, validate


@dataclass
class TrainResult:
    """What one model's training produced."""

    model_name: str
    best_checkpoint: Path
    history: list[dict[str, Any]]
    best_valid_loss: float
    train_seconds: float
    resumed_from_epoch: int
    best_epoch: int  # the epoch kept in checkpoint.pt (lowest validation loss)


def batch_loss(model: Seq2Seq, batch: Batch, teacher_forcing: float, bf16: bool = False) -> tuple[torch.Tensor, int]:
    """Training loss of one batch: fused and chunked on the teacher-forced fast path (its products in bfloat16 when
    `bf16`), plain otherwise."""
    if teacher_forcing >= 1.0:
        features, bonus = model.forward_features(batch.src, batch.src_lengths, batch.tgt_in)  # (B, T, D)
        return linear_cross_entropy(features, model.output.proj, batch.tgt_out, bonus, bf16)
    logits, _ = model(batch.src, batch.src_lengths, batch.tgt_in, teacher_forcing=teacher_forcing)  # (B, T, V)
    return sequence_loss(logits.float(), batch.tgt_out)


def train_epoch(
    model: Seq2Seq, batches: Iterable[Batch], optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
    clip_norm: float, teacher_forcing: float, use_amp: bool = False, report: Callable[[float], None] | None = None,
    bf16: bool = False,
) -> tuple[float, int]:
    """One pass over the training batches: loss, backward, clipped gradients, an Adam step per batch.

    Returns the summed loss over target pieces and their count (the epoch's mean loss is their ratio);
    `report`, when given, receives the running mean loss after every batch (the progress bar shows it).
    """
    device = next(model.parameters()).device
    loss_sum, token_sum = 0.0, 0
    for batch in batches:
        batch = batch.to(device)
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, enabled=use_amp):  # mixed precision on a GPU only
            loss, tokens = batch_loss(model, batch, teacher_forcing, bf16)  # mean over the batch's `tokens` pieces
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        scaler.step(optimizer)
        scaler.update()
        loss_sum += loss.item() * tokens
        token_sum += tokens
        if report is not None:
            report(loss_sum / max(token_sum, 1))
    return loss_sum, token_sum


def _make_scheduler(config: Config, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.ReduceLROnPlateau:
    """Halve the learning rate after `plateau_patience` epochs without a lower validation loss."""
    return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=config.training.plateau_patience)


def model_kwargs(config: Config, data: TrainingData, model_name: str) -> dict[str, Any]:
    """Constructor arguments of a model for this config and vocabulary sizes (copying applies to attention only)."""
    m = config.model
    copying = {"copy_forms": m.copy_forms} if m.copy_forms and can_copy(model_name) else {}
    return dict(
        src_vocab_size=len(data.preprocessor.src_vocab),
        tgt_vocab_size=len(data.preprocessor.tgt_vocab),
        emb_dim=m.emb_dim,
        hidden_dim=m.hidden_dim,
        num_layers=m.num_layers,
        dropout=m.dropout,
        tie_embeddings=m.tie_embeddings,
        **copying,
    )


def _same_experiment(saved: dict[str, Any], current: dict[str, Any]) -> bool:
    """True when two configs train the same way: they may differ in name (profile), in which models they list,
    in decoding, in the number of epochs, in processes, threads and bfloat16 products, and in keys added to the
    config since `saved` was written (those take their defaults). So a run copied to another profile's folder goes
    on there, for more epochs."""
    def strip(c: dict[str, Any]) -> dict[str, Any]:
        training = {k: v for k, v in c["training"].items() if k not in ("epochs", "workers", "num_threads", "bf16_output")}
        return {**{k: v for k, v in c.items() if k not in ("profile", "models", "decoding")}, "training": training}

    return strip(Config.from_dict(saved).to_dict()) == strip(current)


def best_epoch(history: list[dict[str, Any]]) -> int:
    """The epoch (from 1) that selection keeps: the first with the lowest validation loss; 0 before any epoch."""
    losses = [h["valid_loss"] for h in history]
    return 1 + losses.index(min(losses)) if losses else 0


def finished(history: list[dict[str, Any]], training: TrainingConfig) -> bool:
    """True when a run's history ends where `train_model` stops: all its epochs, or early stopping (the epochs
    since the lowest validation loss reached the patience)."""
    if len(history) >= training.epochs:
        return True
    return bool(history) and len(history) - best_epoch(history) >= training.early_stopping_patience


def save_history(model_dir: Path, history: list[dict[str, Any]]) -> None:
    """Write the per-epoch history as JSON and CSV (atomically)."""
    write_json(model_dir / "history.json", history)
    if history:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
        write_text(model_dir / "history.csv", buffer.getvalue())


def train_model(
    model_name: str,
    config: Config,
    data: TrainingData,
    model_dir: Path,
    force: bool = False,
    progress: bool = True,
) -> TrainResult:
    """Train one model with the shared loop; resume from `last.pt` unless `force`."""
    device = resolve_device(config.device)
    if config.model.copy_forms < 0:
        raise UserError(f"model.copy_forms must be 0 (no copying) or more, got {config.model.copy_forms}")
    kwargs = model_kwargs(config, data, model_name)
    torch.manual_seed(config.seed)
    model = build_model(model_name, **kwargs)
    if model.copy_bonus is not None:
        vocabularies = data.preprocessor.src_vocab, data.preprocessor.tgt_vocab
        model.copy_bonus.set_table(copy_table(*vocabularies, config.model.copy_forms))
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.training.lr)
    scheduler = _make_scheduler(config, optimizer)
    use_amp = config.training.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    bf16 = use_bf16_output(config.training.bf16_output, device)

    last_path, best_path = model_dir / "last.pt", model_dir / "checkpoint.pt"
    history: list[dict[str, Any]] = []
    start_epoch, train_seconds = 0, 0.0
    if last_path.is_file() and not force:
        state = read_checkpoint(last_path)
        if state["model_kwargs"] != kwargs or not _same_experiment(state["config"], config.to_dict()):
            raise UserError(
                f"{last_path} was trained with another config or vocabulary; "
                f"retrain with --force (or delete {model_dir})"
            )
        model.load_state_dict(state["model_state"])
        optimizer.load_state_dict(state["optimizer_state"])
        if state.get("scheduler_state"):
            scheduler.load_state_dict(state["scheduler_state"])
        history, start_epoch, train_seconds = state["history"], state["epoch"], state["train_seconds"]
    resumed_from = start_epoch

    def payload(epoch: int) -> dict[str, Any]:
        """The checkpoint dict after `epoch` finished epochs."""
        return {
            "model_name": model_name,
            "model_kwargs": kwargs,
            "model_state": model.state_dict(),
            "preprocessor": data.preprocessor.to_dict(),
            "config": config.to_dict(),
            "history": history,
            "epoch": epoch,
            "best_valid_loss": _best_loss(history),
            "best_epoch": best_epoch(history),
            "train_seconds": train_seconds,
            "optimizer_state": optimizer.state_dict(),
            "scheduler_state": scheduler.state_dict(),
        }

    for epoch in range(start_epoch, config.training.epochs):
        if finished(history, config.training):  # stopped early (here or before a resume)
            break
        torch.manual_seed(config.seed * 1000 + epoch)  # per-epoch seed: a resumed run repeats exactly
        model.train()
        loader = make_loader(data.train, config.training.batch_size, shuffle=True, seed=config.seed + epoch)
        ratio = config.training.teacher_forcing
        started = time.perf_counter()
        bar = tqdm(loader, desc=f"{model_name} epoch {epoch + 1}/{config.training.epochs}", disable=not progress, leave=False)
        loss_sum, token_sum = train_epoch(model, bar, optimizer, scaler, config.training.clip_norm, ratio, use_amp,
                                          report=lambda loss: bar.set_postfix(loss=f"{loss:.3f}"), bf16=bf16)
        bar.close()
        seconds = time.perf_counter() - started
        train_seconds += seconds
        metrics = validate(model, data.valid, config.training.batch_size, device)
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step(metrics["valid_loss"])
        history.append({
            "epoch": epoch + 1, "train_loss": loss_sum / max(token_sum, 1), **metrics, "seconds": seconds,
            "tokens_per_second": token_sum / max(seconds, 1e-9), "lr": lr, "teacher_forcing": ratio, "bf16_output": bf16,
        })
        tqdm.write(  # also without bars (a worker process): one line per epoch
            f"{model_name} epoch {epoch + 1}: train loss {history[-1]['train_loss']:.3f}, "
            f"valid loss {metrics['valid_loss']:.3f} (ppl {metrics['valid_ppl']:.1f}), "
            f"{history[-1]['tokens_per_second']:.0f} tok/s, {seconds:.0f}s"
        )
        state = payload(epoch + 1)
        if best_epoch(history) == epoch + 1:  # a new lowest validation loss
            save_checkpoint(best_path, state)
        save_checkpoint(last_path, state)
        save_history(model_dir, history)
    kept = best_epoch(history)
    return TrainResult(model_name, best_path, history, _best_loss(history), train_seconds, resumed_from, kept)


def _best_loss(history: list[dict[str, Any]]) -> float:
    """The lowest validation loss of a history (inf before any epoch)."""
    return min((h["valid_loss"] for h in history), default=math.inf)
