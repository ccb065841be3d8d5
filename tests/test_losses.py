"""The fused, chunked linear cross-entropy is the same function as projection + cross-entropy."""

import pytest
import torch

from seq2seq_lib.losses import CHUNK_ROWS, linear_cross_entropy, sequence_loss
from seq2seq_lib.models import build_model
from seq2seq_lib.training import batch_loss
from seq2seq_lib.batching import Batch


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_fused_loss_and_gradients_match_plain_loss(smoothing):
    torch.manual_seed(0)
    features = torch.randn(3, CHUNK_ROWS, 16, requires_grad=True)  # several chunks
    targets = torch.randint(1, 50, (3, CHUNK_ROWS))
    targets[:, -7:] = 0  # padding
    proj = torch.nn.Linear(16, 50)
    fused, tokens = linear_cross_entropy(features, proj, targets, smoothing)
    grads = torch.autograd.grad(fused, [features, proj.weight, proj.bias])
    plain, plain_tokens = sequence_loss(proj(features), targets, smoothing)
    plain_grads = torch.autograd.grad(plain, [features, proj.weight, proj.bias])
    assert tokens == plain_tokens == 3 * (CHUNK_ROWS - 7)
    assert fused.item() == pytest.approx(plain.item(), abs=1e-5)
    for got, want in zip(grads, plain_grads):
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("name", ["rnn", "lstm", "attention"])
@pytest.mark.parametrize("tie", [False, True])
def test_training_loss_of_every_model_equals_the_logits_path(name, tie):
    torch.manual_seed(1)
    model = build_model(name, 30, 40, emb_dim=8, hidden_dim=8, tie_embeddings=tie)
    src = torch.randint(4, 30, (4, 6))
    tgt = torch.randint(4, 40, (4, 7))
    tgt[2, 5:] = 0
    batch = Batch(src, torch.tensor([6, 5, 4, 6]), tgt[:, :-1], tgt[:, 1:], torch.arange(4))
    fused, _ = batch_loss(model, batch, teacher_forcing=1.0, label_smoothing=0.0)
    logits, _ = model(batch.src, batch.src_lengths, batch.tgt_in)
    plain, _ = sequence_loss(logits, batch.tgt_out)
    assert fused.item() == pytest.approx(plain.item(), abs=1e-5)
