"""The one training loop shared by the three models.

Adam, cross-entropy over non-pad tokens (optional label smoothing), teacher forcing with a
configurable ratio, gradient clipping, a learning-rate schedule, optionally an exponential moving
average of the weights (`training.ema_decay`: then the average is what is validated and kept), early
stopping on validation loss or validation BLEU (`training.select_by`), the best checkpoint by that
measure kept, and resumption from the last finished epoch.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.optim.swa_utils import AveragedModel

from .progress import tqdm

from .batching import Batch, make_loader
from .checkpoints import read_checkpoint, save_checkpoint
from .config import Config, TrainingConfig
from .errors import UserError
from .evaluation import validation_scores
from .experiment import TrainingData, resolve_device
from .io_utils import write_json, write_text
from .losses import linear_cross_entropy, sequence_loss, validate
from .models import build_model, can_copy
from .models.copy import copy_table
from .models.base import Seq2Seq

SELECT_BY = ("loss", "bleu")
EMBED_INITS = ("normal", "scaled")


@dataclass
class TrainResult:
    """What one model's training produced."""

    model_name: str
    best_checkpoint: Path
    history: list[dict[str, Any]]
    best_valid_loss: float
    train_seconds: float
    resumed_from_epoch: int
    best_epoch: int  # the epoch kept in checkpoint.pt (by training.select_by)


def batch_loss(model: Seq2Seq, batch: Batch, teacher_forcing: float, label_smoothing: float) -> tuple[torch.Tensor, int]:
    """Training loss of one batch: fused and chunked on the teacher-forced fast path, plain otherwise."""
    if teacher_forcing >= 1.0:
        features, bonus = model.forward_features(batch.src, batch.src_lengths, batch.tgt_in)  # (B, T, D)
        return linear_cross_entropy(features, model.output.proj, batch.tgt_out, label_smoothing, bonus)
    logits, _ = model(batch.src, batch.src_lengths, batch.tgt_in, teacher_forcing=teacher_forcing)  # (B, T, V)
    return sequence_loss(logits.float(), batch.tgt_out, label_smoothing)


def teacher_forcing_ratio(config: Config, epoch: int) -> float:
    """Teacher-forcing ratio of an epoch: constant, or linear from `teacher_forcing` to `teacher_forcing_final`."""
    start, final = config.training.teacher_forcing, config.training.teacher_forcing_final
    if final is None or config.training.epochs <= 1:
        return start
    return start + (final - start) * epoch / (config.training.epochs - 1)


def _make_scheduler(config: Config, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler | torch.optim.lr_scheduler.ReduceLROnPlateau | None:
    """The configured learning-rate schedule, stepped once per epoch."""
    kind = config.training.scheduler
    if kind == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=config.training.plateau_factor, patience=config.training.plateau_patience
        )
    if kind == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(config.training.epochs, 1))
    return None


def ema_update(decay: float) -> Callable[[Tensor, Tensor, Tensor], Tensor]:
    """AveragedModel's avg_fn for a moving average whose decay warms up: min(decay, (1 + n) / (10 + n)) after n
    updates (TensorFlow's ExponentialMovingAverage with num_updates), so early weights fade fast."""

    def update(averaged: Tensor, current: Tensor, num_averaged: Tensor) -> Tensor:
        n = float(num_averaged)
        return torch.lerp(averaged, current, 1.0 - min(decay, (1.0 + n) / (10.0 + n)))

    return update


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
    in decoding, in the number of epochs, and in keys added to the config since `saved` was written (those
    take their defaults). So a run copied to another profile's folder goes on there, for more epochs."""
    def strip(c: dict[str, Any]) -> dict[str, Any]:
        training = {k: v for k, v in c["training"].items() if k != "epochs"}
        return {**{k: v for k, v in c.items() if k not in ("profile", "models", "decoding")}, "training": training}

    return strip(Config.from_dict(saved).to_dict()) == strip(current)


def best_epoch(history: list[dict[str, Any]], training: TrainingConfig) -> int:
    """The epoch (from 1) that selection keeps: the first with the highest validation BLEU or lowest validation
    loss (`training.select_by`); 0 before any epoch."""
    by_bleu = training.select_by == "bleu"
    scores = [h["valid_bleu"] if by_bleu else -h["valid_loss"] for h in history]  # higher is better
    return 1 + scores.index(max(scores)) if scores else 0


def finished(history: list[dict[str, Any]], training: TrainingConfig) -> bool:
    """True when a run's history ends where `train_model` stops: all its epochs, or early stopping (the epochs
    since the best selection score reached the patience)."""
    if len(history) >= training.epochs:
        return True
    return bool(history) and len(history) - best_epoch(history, training) >= training.early_stopping_patience


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
    if config.model.embed_init not in EMBED_INITS:
        raise UserError(f"model.embed_init must be one of {', '.join(EMBED_INITS)}, got {config.model.embed_init!r}")
    if config.training.select_by not in SELECT_BY:
        raise UserError(f"training.select_by must be one of {', '.join(SELECT_BY)}, got {config.training.select_by!r}")
    if not 0.0 <= config.training.ema_decay < 1.0:
        raise UserError(f"training.ema_decay must be in [0, 1) (0 turns the average off), got {config.training.ema_decay}")
    device = resolve_device(config.device)
    if config.model.copy_forms < 0:
        raise UserError(f"model.copy_forms must be 0 (no copying) or more, got {config.model.copy_forms}")
    kwargs = model_kwargs(config, data, model_name)
    torch.manual_seed(config.seed)
    model = build_model(model_name, **kwargs)
    if model.copy_bonus is not None:
        vocabularies = data.preprocessor.src_vocab, data.preprocessor.tgt_vocab
        model.copy_bonus.set_table(copy_table(*vocabularies, config.model.copy_forms))
    if config.model.embed_init == "scaled":
        model.scale_embedding_init()
    model = model.to(device)
    averaged = AveragedModel(model, avg_fn=ema_update(config.training.ema_decay)) if config.training.ema_decay else None
    evaluated = model if averaged is None else averaged.module  # what is validated, selected and decoded
    optimizer = torch.optim.Adam(model.parameters(), lr=config.training.lr)
    scheduler = _make_scheduler(config, optimizer)
    use_amp = config.training.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)

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
        model.load_state_dict(state["model_state"] if averaged is None else state["trained_state"])
        if averaged is not None:
            averaged.module.load_state_dict(state["model_state"])
            averaged.n_averaged.fill_(state["n_averaged"])
        optimizer.load_state_dict(state["optimizer_state"])
        if scheduler is not None and state.get("scheduler_state"):
            scheduler.load_state_dict(state["scheduler_state"])
        history, start_epoch, train_seconds = state["history"], state["epoch"], state["train_seconds"]
    resumed_from = start_epoch

    def payload(epoch: int) -> dict[str, Any]:
        """The checkpoint dict after `epoch` finished epochs."""
        return {
            "model_name": model_name,
            "model_kwargs": kwargs,
            "model_state": evaluated.state_dict(),
            "trained_state": None if averaged is None else model.state_dict(),  # the weights Adam goes on from
            "n_averaged": None if averaged is None else int(averaged.n_averaged),
            "preprocessor": data.preprocessor.to_dict(),
            "config": config.to_dict(),
            "history": history,
            "epoch": epoch,
            "best_valid_loss": _best_loss(history),
            "best_epoch": best_epoch(history, config.training),
            "train_seconds": train_seconds,
            "optimizer_state": optimizer.state_dict(),
            "scheduler_state": scheduler.state_dict() if scheduler is not None else None,
        }

    for epoch in range(start_epoch, config.training.epochs):
        if finished(history, config.training):  # stopped early (here or before a resume)
            break
        torch.manual_seed(config.seed * 1000 + epoch)  # per-epoch seed: a resumed run repeats exactly
        model.train()
        loader = make_loader(data.train, config.training.batch_size, shuffle=True, seed=config.seed + epoch)
        ratio = teacher_forcing_ratio(config, epoch)
        started, loss_sum, token_sum = time.perf_counter(), 0.0, 0
        bar = tqdm(loader, desc=f"{model_name} epoch {epoch + 1}/{config.training.epochs}", disable=not progress, leave=False)
        for batch in bar:
            batch = batch.to(device)
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device.type, enabled=use_amp):
                loss, tokens = batch_loss(model, batch, ratio, config.training.label_smoothing)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.training.clip_norm)
            scaler.step(optimizer)
            scaler.update()
            if averaged is not None:
                averaged.update_parameters(model)
            loss_sum += loss.item() * tokens
            token_sum += tokens
            bar.set_postfix(loss=f"{loss_sum / max(token_sum, 1):.3f}")
        bar.close()
        seconds = time.perf_counter() - started
        train_seconds += seconds
        metrics = validate(evaluated, data.valid, config.training.batch_size, device)
        if config.training.select_by == "bleu":
            bleu_records = data.valid_records[: config.training.bleu_pairs]
            metrics["valid_bleu"] = validation_scores(evaluated, data.preprocessor, bleu_records, config.decoding, device)["bleu"]
        lr = optimizer.param_groups[0]["lr"]
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(metrics["valid_loss"])
        elif scheduler is not None:
            scheduler.step()
        history.append(
            {
                "epoch": epoch + 1,
                "train_loss": loss_sum / max(token_sum, 1),
                **metrics,
                "seconds": seconds,
                "tokens_per_second": token_sum / max(seconds, 1e-9),
                "lr": lr,
                "teacher_forcing": ratio,
            }
        )
        if progress:
            bleu = f"valid BLEU {metrics['valid_bleu']:.2f}, " if "valid_bleu" in metrics else ""
            tqdm.write(
                f"{model_name} epoch {epoch + 1}: train loss {history[-1]['train_loss']:.3f}, "
                f"valid loss {metrics['valid_loss']:.3f} (ppl {metrics['valid_ppl']:.1f}), {bleu}"
                f"{history[-1]['tokens_per_second']:.0f} tok/s, {seconds:.0f}s"
            )
        state = payload(epoch + 1)
        if best_epoch(history, config.training) == epoch + 1:  # a new best by the selection measure
            save_checkpoint(best_path, state)
        save_checkpoint(last_path, state)
        save_history(model_dir, history)
    kept = best_epoch(history, config.training)
    return TrainResult(model_name, best_path, history, _best_loss(history), train_seconds, resumed_from, kept)


def _best_loss(history: list[dict[str, Any]]) -> float:
    """The lowest validation loss of a history (inf before any epoch)."""
    return min((h["valid_loss"] for h in history), default=math.inf)
