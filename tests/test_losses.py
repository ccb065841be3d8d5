"""The fused, chunked linear cross-entropy is the same function as projection + cross-entropy."""

import math

import pytest
import torch

from seq2seq_lib.training.losses import CHUNK_ROWS, linear_cross_entropy, sequence_loss
from seq2seq_lib.models import build_model
from seq2seq_lib.training.loop import batch_loss
from seq2seq_lib.data.batching import Batch
from seq2seq_lib.models.copy import SparseLogitBias


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


def test_bf16_products_stay_within_bfloat16_rounding_of_the_float32_loss():
    torch.manual_seed(0)
    features = torch.randn(2, CHUNK_ROWS + 9, 64, requires_grad=True)  # a partial last chunk
    targets = torch.randint(1, 300, (2, CHUNK_ROWS + 9))
    targets[1, -5:] = 0
    proj = torch.nn.Linear(64, 300)
    extra = SparseLogitBias(torch.randint(1, 300, (2, CHUNK_ROWS + 9, 3)), torch.rand(2, CHUNK_ROWS + 9, 3))
    extra.value.requires_grad_(True)
    inputs = [features, proj.weight, proj.bias, extra.value]
    exact, _ = linear_cross_entropy(features, proj, targets, extra)
    low, _ = linear_cross_entropy(features, proj, targets, extra, bf16=True)
    assert low.item() == pytest.approx(exact.item(), rel=1e-3)
    assert low.item() != exact.item()  # the products really ran in bfloat16
    for got, want in zip(torch.autograd.grad(low, inputs), torch.autograd.grad(exact, inputs)):
        assert got.dtype == torch.float32
        assert float((got - want).norm() / want.norm()) < 1e-2  # bfloat16 keeps 8 bits of mantissa


def test_a_hopeless_gold_piece_gives_a_bounded_loss_and_the_exact_gradient():
    # the gold logit 200 nats below the best: p(gold) underflows, the loss is clamped, the gradient stays p - onehot
    features = torch.zeros(2, 1, 3, requires_grad=True)
    proj = torch.nn.Linear(3, 4)
    with torch.no_grad():
        proj.weight.zero_()
        proj.bias.copy_(torch.tensor([0.0, 0.0, -200.0, 0.0]))
    targets = torch.tensor([[2], [1]])
    loss, _ = linear_cross_entropy(features, proj, targets)
    (grad_bias,) = torch.autograd.grad(loss, [proj.bias])
    hopeless = 87.34  # -log(the smallest normal float32), where the true loss would be 201.1
    assert loss.item() == pytest.approx((hopeless + math.log(3)) / 2, abs=0.01)  # row 2: p(gold) = 1/3
    want = torch.tensor([2 / 3, 2 / 3 - 1, -1.0, 2 / 3]) / 2  # mean over the 2 rows of softmax - onehot
    torch.testing.assert_close(grad_bias, want)


def test_bf16_output_auto_follows_the_hardware_and_rejects_other_words(monkeypatch):
    from seq2seq_lib.errors import UserError
    from seq2seq_lib.runtime import use_bf16_output

    cpu = torch.device("cpu")
    assert use_bf16_output(True, cpu) and not use_bf16_output(False, cpu)
    for native in (True, False):
        monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda native=native: native)
        assert use_bf16_output("auto", cpu) is native
    with pytest.raises(UserError, match="true, false or auto"):
        use_bf16_output("yes", cpu)


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
