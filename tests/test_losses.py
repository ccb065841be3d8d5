"""The fused, chunked linear cross-entropy is the same function as projection + cross-entropy."""

import math

import pytest
import torch

from seq2seq_lib.training.losses import CHUNK_ROWS, linear_cross_entropy, sequence_loss
from seq2seq_lib.models import build_model
from seq2seq_lib.training.loop import batch_loss
from seq2seq_lib.data.batching import Batch


def test_fused_loss_and_gradients_match_plain_loss():
    torch.manual_seed(0)
    features = torch.randn(3, CHUNK_ROWS, 16, requires_grad=True)  # several chunks
    targets = torch.randint(1, 50, (3, CHUNK_ROWS))
    targets[:, -7:] = 0  # padding
    proj = torch.nn.Linear(16, 50)
    fused, tokens = linear_cross_entropy(features, proj, targets)
    grads = torch.autograd.grad(fused, [features, proj.weight, proj.bias])
    plain, plain_tokens = sequence_loss(proj(features), targets)
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
    fused, _ = batch_loss(model, batch, teacher_forcing=1.0)
    logits, _ = model(batch.src, batch.src_lengths, batch.tgt_in)
    plain, _ = sequence_loss(logits, batch.tgt_out)
    assert fused.item() == pytest.approx(plain.item(), abs=1e-5)


def test_loss_by_position_splits_the_validation_loss_by_target_position():
    from seq2seq_lib.data.batching import EncodedDataset
    from seq2seq_lib.training.losses import loss_by_position, position_labels, validate

    torch.manual_seed(2)
    model = build_model("attention", 30, 40, emb_dim=8, hidden_dim=8)
    pairs = [([int(t) for t in torch.randint(4, 30, (n % 5 + 2,))] + [2], [int(t) for t in torch.randint(4, 40, (n,))] + [2])
             for n in (3, 9, 25, 70, 4, 12)]  # targets of 4 to 71 pieces (with <eos>)
    dataset = EncodedDataset(pairs, list(range(len(pairs))))
    overall, by_position = loss_by_position(model, dataset, batch_size=4, device="cpu")
    assert overall == pytest.approx(validate(model, dataset, 4, "cpu")["valid_loss"], rel=1e-5)
    assert len(by_position) == len(position_labels()) == 4 and all(v > 0 for v in by_position)
    pieces = [min(len(t), 5) for _, t in pairs], [max(0, min(len(t), 20) - 5) for _, t in pairs]
    assert position_labels() == ["1-5", "6-20", "21-60", "61+"]
    # the overall mean is the piece-weighted mean of the buckets
    counts = [sum(pieces[0]), sum(pieces[1]), sum(max(0, min(len(t), 60) - 20) for _, t in pairs),
              sum(max(0, len(t) - 60) for _, t in pairs)]
    assert sum(c * v for c, v in zip(counts, by_position)) / sum(counts) == pytest.approx(overall, rel=1e-5)


def test_sampled_loss_with_every_piece_a_candidate_is_the_full_softmax():
    torch.manual_seed(3)
    features = torch.randn(2, 40, 16, requires_grad=True)
    targets = torch.randint(1, 30, (2, 40))
    targets[1, -5:] = 0
    proj = torch.nn.Linear(16, 30)
    full, _ = linear_cross_entropy(features, proj, targets)
    sampled, _ = linear_cross_entropy(features, proj, targets, negatives=30)  # the rest is smaller than 30
    want = torch.autograd.grad(full, [features, proj.weight, proj.bias])
    got = torch.autograd.grad(sampled, [features, proj.weight, proj.bias])
    assert sampled.item() == pytest.approx(full.item(), abs=1e-5)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, atol=1e-6, rtol=1e-4)


def test_sampled_candidates_keep_the_required_pieces_and_weight_the_drawn_ones():
    from seq2seq_lib.training.losses import sample_candidates

    torch.manual_seed(4)
    required = torch.tensor([5, 5, 9, 0])
    candidates, log_weight = sample_candidates(100, required, negatives=16)
    assert candidates.tolist() == sorted(set(candidates.tolist())) and len(candidates) == 3 + 16
    assert {0, 5, 9} <= set(candidates.tolist())
    is_required = torch.isin(candidates, torch.tensor([0, 5, 9]))
    assert log_weight[is_required].eq(0).all()
    # 97 pieces are not required, 16 of them drawn: each stands for 97 / 16 of them
    torch.testing.assert_close(log_weight[~is_required], torch.full((16,), math.log(97 / 16)))


def test_sampled_loss_keeps_the_copy_bonus_and_estimates_the_full_loss():
    torch.manual_seed(5)
    model = build_model("attention", 30, 200, emb_dim=8, hidden_dim=8, tie_embeddings=True, copy_forms=2)
    model.copy_bonus.set_table(torch.randint(4, 200, model.copy_bonus.table.shape))  # pieces that spell each word
    src = torch.randint(4, 30, (4, 6))
    tgt = torch.randint(4, 200, (4, 30))
    batch = Batch(src, torch.tensor([6, 5, 4, 6]), tgt[:, :-1], tgt[:, 1:], torch.arange(4))
    full, _ = batch_loss(model, batch, teacher_forcing=1.0)
    every, _ = batch_loss(model, batch, 1.0, negatives=200)  # every piece a candidate: copy bonus included
    assert every.item() == pytest.approx(full.item(), abs=1e-5)
    estimates = torch.stack([batch_loss(model, batch, 1.0, negatives=40)[0] for _ in range(200)])
    # an importance-weighted partition function: its log is close to the full loss on average
    assert abs(estimates.mean().item() - full.item()) < 0.05 * full.item()
    assert estimates.std().item() > 0  # the negatives are drawn afresh each call
    sampled, _ = batch_loss(model, batch, 1.0, negatives=40)
    sampled.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
