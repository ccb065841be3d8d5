"""Training losses: token cross-entropy over non-pad positions, and its fused, chunked twin.

At vocabularies of several thousand the output projection and the softmax are most of a training
step (see `python -m seq2seq_lib bench`). `linear_cross_entropy` computes
`F.cross_entropy(F.linear(features, weight, bias), targets)` chunk by chunk:
the (N, V) logits never exist at once, each chunk's softmax turns into its gradient while
it is in cache, and the gradients are accumulated in the forward pass. An optional sparse bias (the copy
bonus of `models/copy.py`: a few additions per row) is added to each chunk's logits before the softmax.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ..data.batching import EncodedDataset, make_loader
from ..data.vocab import PAD_ID
from ..models.base import Seq2Seq
from ..models.copy import SparseLogitBias

CHUNK_ROWS = 128
TINY = torch.finfo(torch.float32).tiny  # the smallest normal float32


def sequence_loss(logits: Tensor, targets: Tensor) -> tuple[Tensor, int]:
    """Mean cross-entropy over non-pad target tokens; returns (loss, number of tokens)."""
    # logits (B, T, V), targets (B, T) -> flattened (B*T, V) and (B*T,)
    loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=PAD_ID)
    return loss, int((targets != PAD_ID).sum())


class _LinearCrossEntropy(torch.autograd.Function):
    """Mean cross-entropy of Linear(features) against targets, chunk by chunk."""

    @staticmethod
    @torch.amp.custom_fwd(device_type="cuda", cast_inputs=torch.float32)
    def forward(
        ctx: Any,
        features: Tensor,
        weight: Tensor,
        bias: Tensor,
        targets: Tensor,
        extra_index: Tensor | None,
        extra_value: Tensor | None,
        bf16: bool,
    ) -> Tensor:
        """features (N, D), weight (V, D), bias (V,), targets (N,), optional sparse extras (N, M) -> mean loss ().

        With bf16 the three matrix products read bfloat16 copies of their operands; the logits, the softmax and the
        accumulated gradients stay float32."""
        count = max(features.size(0), 1)
        grad_features = torch.empty_like(features)
        grad_weight, grad_bias = torch.zeros_like(weight), torch.zeros_like(bias)
        grad_extra = None if extra_value is None else torch.empty_like(extra_value)
        total = features.new_zeros(())
        x_all, w = (features.bfloat16(), weight.bfloat16()) if bf16 else (features, weight)  # (N, D), (V, D)
        for start in range(0, features.size(0), CHUNK_ROWS):
            chunk = slice(start, start + CHUNK_ROWS)
            x, y = x_all[chunk], targets[chunk]  # (C, D), (C,)
            rows = torch.arange(y.size(0), device=y.device)
            # (C, V) float32; the bfloat16 product is widened before the bias is added (a mixed-type add is slow)
            logits = (x @ w.t()).float().add_(bias) if bf16 else torch.addmm(bias, x, w.t())
            if extra_index is not None:
                logits.scatter_add_(1, extra_index[chunk], extra_value[chunk])  # (C, V) plus (C, M) extras
            grad = torch.softmax(logits, dim=1)  # (C, V): one fused pass, one exp per logit
            total -= grad[rows, y].clamp_min(TINY).log().sum()  # -log p(gold), at most -log(TINY) = 87.3 nats
            grad[rows, y] -= 1.0  # the gradient of the chunk's summed loss; divided by count in backward
            grad_bias += grad.sum(dim=0)
            if grad_extra is not None:
                torch.gather(grad, 1, extra_index[chunk], out=grad_extra[chunk])  # (C, M)
            if bf16:
                grad = grad.bfloat16()
                grad_features[chunk] = grad @ w
                grad_weight += grad.t() @ x  # (V, D), each chunk's share rounded once
            else:
                torch.mm(grad, w, out=grad_features[chunk])
                grad_weight.addmm_(grad.t(), x)
        ctx.count = count
        ctx.save_for_backward(grad_features, grad_weight, grad_bias, grad_extra)
        return total / count

    @staticmethod
    @torch.amp.custom_bwd(device_type="cuda")
    def backward(ctx: Any, grad_loss: Tensor) -> tuple[Tensor | None, ...]:
        """Scale the gradients of the summed loss computed in forward to the mean's, times the incoming gradient."""
        grad_features, grad_weight, grad_bias, grad_extra = ctx.saved_tensors
        scale = grad_loss / ctx.count
        extra = None if grad_extra is None else grad_extra * scale
        return grad_features * scale, grad_weight * scale, grad_bias * scale, None, None, extra, None


def linear_cross_entropy(
    features: Tensor,
    projection: torch.nn.Linear,
    targets: Tensor,
    extra: SparseLogitBias | None = None,
    bf16: bool = False,
) -> tuple[Tensor, int]:
    """sequence_loss of projection(features) (+ extra, a sparse bias (B, T, M)) without the full logits:
    features (B, T, D), targets (B, T); bf16: the matrix products in bfloat16."""
    keep = targets != PAD_ID  # (B, T): padding costs nothing
    index, value = (None, None) if extra is None else (extra.index[keep], extra.value[keep])  # (N, M) each
    loss = _LinearCrossEntropy.apply(
        features[keep], projection.weight, projection.bias, targets[keep], index, value, bf16
    )
    return loss, int(keep.sum())


@torch.inference_mode()
def validate(model: Seq2Seq, dataset: EncodedDataset, batch_size: int, device: torch.device) -> dict[str, float]:
    """Teacher-forced validation loss, perplexity and next-token accuracy over a dataset."""
    model.eval()
    total_loss, total_tokens, correct = 0.0, 0, 0
    for batch in make_loader(dataset, batch_size, shuffle=False, seed=0):
        batch = batch.to(device)
        logits, _ = model(batch.src, batch.src_lengths, batch.tgt_in)
        loss, tokens = sequence_loss(logits, batch.tgt_out)
        total_loss += loss.item() * tokens
        total_tokens += tokens
        correct += int(((logits.argmax(dim=-1) == batch.tgt_out) & (batch.tgt_out != PAD_ID)).sum())
    mean = total_loss / max(total_tokens, 1)
    return {"valid_loss": mean, "valid_ppl": math.exp(min(mean, 50.0)), "valid_token_acc": correct / max(total_tokens, 1)}


POSITION_EDGES = (5, 20, 60)  # target positions (from 0): 0-4, 5-19, 20-59, 60 and later


@torch.inference_mode()
def loss_by_position(
    model: Seq2Seq, dataset: EncodedDataset, batch_size: int, device: torch.device, edges: tuple[int, ...] = POSITION_EDGES
) -> tuple[float, list[float]]:
    """Teacher-forced loss (nats per target piece) over a dataset: overall, and per bucket of target position."""
    model.eval()
    sums, counts = torch.zeros(len(edges) + 1), torch.zeros(len(edges) + 1)
    bounds = torch.tensor(edges)
    for batch in make_loader(dataset, batch_size, shuffle=False, seed=0):
        batch = batch.to(device)
        logits, _ = model(batch.src, batch.src_lengths, batch.tgt_in)  # (B, T, V)
        nll = F.cross_entropy(logits.float().transpose(1, 2), batch.tgt_out, reduction="none", ignore_index=PAD_ID)  # (B, T)
        mask = (batch.tgt_out != PAD_ID).cpu()
        bucket = torch.bucketize(torch.arange(nll.size(1)), bounds, right=True).expand_as(mask)  # (B, T)
        sums += torch.bincount(bucket[mask], weights=nll.cpu()[mask].double(), minlength=len(sums)).float()
        counts += torch.bincount(bucket[mask], minlength=len(counts)).float()
    overall = float(sums.sum() / counts.sum().clamp(min=1))
    return overall, (sums / counts.clamp(min=1)).tolist()


def position_labels(edges: tuple[int, ...] = POSITION_EDGES) -> list[str]:
    """Readable labels of the position buckets of `loss_by_position`, e.g. ['1-5', '6-20', '21-60', '61+']."""
    starts = (0, *edges)
    return [f"{a + 1}-{b}" for a, b in zip(starts, edges)] + [f"{edges[-1] + 1}+"]
