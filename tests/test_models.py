"""Tests for the three seq2seq models: sizes, shapes, masking, the two forward paths, learning."""

from __future__ import annotations


import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from seq2seq_lib.errors import UserError
from seq2seq_lib.models import MODEL_NAMES, Seq2Seq, build_model, count_parameters

PAD, SOS, EOS = 0, 1, 2


def random_batch(
    batch: int, src_vocab: int, tgt_vocab: int, src_len: tuple[int, int], tgt_len: tuple[int, int], seed: int = 0
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Padded src (B, S), src_lengths (B,), tgt_in (B, T) and tgt_out (B, T) with random content ids >= 4."""
    gen = torch.Generator().manual_seed(seed)
    src_lengths = torch.randint(src_len[0], src_len[1] + 1, (batch,), generator=gen)
    tgt_lengths = torch.randint(tgt_len[0], tgt_len[1] + 1, (batch,), generator=gen)
    src = torch.zeros(batch, int(src_lengths.max()), dtype=torch.long)
    tgt_in = torch.zeros(batch, int(tgt_lengths.max()) + 1, dtype=torch.long)
    tgt_out = torch.zeros_like(tgt_in)
    for b, (n, m) in enumerate(zip(src_lengths.tolist(), tgt_lengths.tolist())):
        src[b, :n] = torch.randint(4, src_vocab, (n,), generator=gen)
        words = torch.randint(4, tgt_vocab, (m,), generator=gen)
        tgt_in[b, : m + 1] = torch.cat([torch.tensor([SOS]), words])
        tgt_out[b, : m + 1] = torch.cat([words, torch.tensor([EOS])])
    return src, src_lengths, tgt_in, tgt_out


def loss_of(logits: Tensor, tgt_out: Tensor) -> Tensor:
    """Token-level cross-entropy ignoring padding."""
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1), ignore_index=PAD)


@pytest.mark.parametrize(
    ("name", "expected"), [("rnn", 422_890), ("lstm", 621_034), ("attention", 1_433_450)]
)
def test_parameter_counts_at_reference_configuration(name: str, expected: int) -> None:
    assert count_parameters(build_model(name, 519, 1130)) == expected


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_tied_embeddings_share_the_target_embedding(name: str) -> None:
    model = build_model(name, 519, 1130, tie_embeddings=True)
    shared = [p for p in model.output.parameters() if p is model.tgt_embed.weight]
    assert len(shared) == 1
    assert count_parameters(model) < count_parameters(build_model(name, 519, 1130))
    src, lengths, tgt_in, _ = random_batch(2, 519, 1130, (3, 5), (2, 4))
    assert model(src, lengths, tgt_in).logits.shape == (*tgt_in.shape, 1130)


def test_unknown_model_name_is_a_one_line_user_error() -> None:
    with pytest.raises(UserError) as info:
        build_model("transformer", 10, 10)
    message = str(info.value)
    assert "\n" not in message and all(name in message for name in MODEL_NAMES)


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("num_layers", [1, 2])
def test_output_shapes(name: str, num_layers: int) -> None:
    torch.manual_seed(0)
    model = build_model(name, 40, 30, emb_dim=16, hidden_dim=24, num_layers=num_layers)
    src, lengths, tgt_in, _ = random_batch(4, 40, 30, (3, 7), (2, 6))
    (batch, src_len), tgt_len = src.shape, tgt_in.size(1)
    logits, attn = model(src, lengths, tgt_in)
    assert logits.shape == (batch, tgt_len, 30)
    enc = model.encode(src, lengths)
    assert enc.src_mask.shape == (batch, src_len)
    step_logits, state, step_attn = model.decode_step(tgt_in[:, 0], enc.state, enc)
    assert step_logits.shape == (batch, 30)
    assert state.hidden.shape[1:] == (batch, 24)
    if name == "attention":
        assert attn.shape == (batch, tgt_len, src_len) and step_attn.shape == (batch, src_len)
        assert enc.memory.shape == (batch, src_len, 48) and enc.keys.shape == (batch, src_len, 24)
    else:
        assert attn is None and step_attn is None and enc.memory is None
        assert state.hidden.shape[0] == num_layers


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_index_select_repeats_encoder_output_and_state(name: str) -> None:
    model = build_model(name, 40, 30, emb_dim=16, hidden_dim=16)
    src, lengths, _, _ = random_batch(3, 40, 30, (2, 6), (2, 3))
    enc = model.encode(src, lengths)
    idx = torch.tensor([2, 2, 0])
    picked = enc.index_select(idx)
    assert torch.equal(picked.state.hidden, enc.state.hidden[:, idx])
    assert torch.equal(picked.src_mask, enc.src_mask[idx])
    if enc.memory is not None:
        assert torch.equal(picked.keys, enc.keys[idx]) and torch.equal(picked.state.cell, enc.state.cell[:, idx])


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_extra_padding_changes_nothing(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, 40, 30, emb_dim=16, hidden_dim=16).eval()
    src, lengths, tgt_in, _ = random_batch(3, 40, 30, (2, 6), (2, 5))
    padded = F.pad(src, (0, 4), value=PAD)  # 4 more PAD columns, same lengths
    enc, enc_padded = model.encode(src, lengths), model.encode(padded, lengths)
    torch.testing.assert_close(enc_padded.state.hidden, enc.state.hidden, rtol=0, atol=1e-6)
    out, out_padded = model(src, lengths, tgt_in), model(padded, lengths, tgt_in)
    torch.testing.assert_close(out_padded.logits, out.logits, rtol=0, atol=1e-6)
    if name == "attention":
        torch.testing.assert_close(enc_padded.memory[:, : src.size(1)], enc.memory, rtol=0, atol=1e-6)
        assert torch.all(out_padded.attn[:, :, src.size(1) :] == 0)
        torch.testing.assert_close(out_padded.attn[:, :, : src.size(1)], out.attn, rtol=0, atol=1e-6)


def test_attention_rows_sum_to_one_over_real_tokens_and_are_zero_on_padding() -> None:
    torch.manual_seed(0)
    model = build_model("attention", 40, 30, emb_dim=16, hidden_dim=16)
    src, lengths, tgt_in, _ = random_batch(5, 40, 30, (1, 8), (2, 6), seed=3)
    attn = model(src, lengths, tgt_in).attn  # (B, T, S)
    real = torch.arange(src.size(1)) < lengths.unsqueeze(1)  # (B, S)
    torch.testing.assert_close(attn.sum(-1), torch.ones(attn.shape[:2]))
    assert torch.all(attn.masked_select(~real.unsqueeze(1)) == 0)
    assert torch.all(attn.masked_select(real.unsqueeze(1)) > 0)


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("num_layers", [1, 2])
def test_fast_path_and_step_path_give_the_same_loss(name: str, num_layers: int) -> None:
    torch.manual_seed(0)
    model = build_model(name, 40, 30, emb_dim=16, hidden_dim=16, num_layers=num_layers)
    src, lengths, tgt_in, tgt_out = random_batch(4, 40, 30, (2, 7), (3, 8))
    fast, step = model(src, lengths, tgt_in), model.decode_stepwise(model.encode(src, lengths), tgt_in, 1.0)
    assert abs(loss_of(fast.logits, tgt_out).item() - loss_of(step.logits, tgt_out).item()) < 1e-5
    torch.testing.assert_close(fast.logits, step.logits, rtol=0, atol=1e-5)
    if name == "attention":
        torch.testing.assert_close(fast.attn, step.attn, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_scheduled_sampling_is_reproducible_under_manual_seed(name: str) -> None:
    model = build_model(name, 40, 30, emb_dim=16, hidden_dim=16)
    src, lengths, tgt_in, _ = random_batch(4, 40, 30, (2, 7), (3, 8))
    runs = []
    for _ in range(2):
        torch.manual_seed(7)
        runs.append(model(src, lengths, tgt_in, teacher_forcing=0.5).logits)
    assert torch.equal(runs[0], runs[1])
    free = model(src, lengths, tgt_in, teacher_forcing=0.0).logits
    assert not torch.allclose(free, model(src, lengths, tgt_in).logits)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_dropout_is_active_in_training_and_off_in_eval(name: str) -> None:
    model = build_model(name, 40, 30, emb_dim=16, hidden_dim=16, dropout=0.5)
    src, lengths, tgt_in, _ = random_batch(4, 40, 30, (2, 7), (3, 8))
    assert not torch.equal(model(src, lengths, tgt_in).logits, model(src, lengths, tgt_in).logits)
    model.eval()
    assert torch.equal(model(src, lengths, tgt_in).logits, model(src, lengths, tgt_in).logits)


def train_steps(name: str, steps: int, seed: int) -> tuple[Seq2Seq, float]:
    """Train a small model on 20 random pairs (full batch, Adam) and return it with its last loss."""
    torch.manual_seed(seed)
    model = build_model(name, 30, 30, emb_dim=32, hidden_dim=64)
    src, lengths, tgt_in, tgt_out = random_batch(20, 30, 30, (5, 8), (5, 10), seed=seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_of(model(src, lengths, tgt_in).logits, tgt_out)
        loss.backward()
        optimizer.step()
    return model, loss.item()


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_overfits_a_tiny_data_set(name: str) -> None:
    _, loss = train_steps(name, steps=200, seed=0)
    assert loss < 0.05


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_manual_seed_makes_training_identical(name: str) -> None:
    (first, loss_a), (second, loss_b) = train_steps(name, 3, seed=1), train_steps(name, 3, seed=1)
    assert loss_a == loss_b
    assert all(torch.equal(a, b) for a, b in zip(first.parameters(), second.parameters()))
