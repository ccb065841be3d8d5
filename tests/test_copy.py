"""Copying docstring words: the spelling table, the gated bonus, the fused loss with it, training and loading."""

import pytest
import torch
import torch.nn.functional as F

from seq2seq_lib.training.checkpoints import export_weights, load_model
from seq2seq_lib.config import load_config, profile_config_path
from seq2seq_lib.errors import UserError
from seq2seq_lib.paths import RunPaths
from seq2seq_lib.training.data import prepare_training_data
from seq2seq_lib.training.losses import linear_cross_entropy, sequence_loss
from seq2seq_lib.models import build_model
from seq2seq_lib.models.copy import copy_table, spelled_word
from seq2seq_lib.training.loop import train_model
from seq2seq_lib.data.vocab import PAD_ID, SOS_ID, Vocab

SRC = Vocab(["<pad>", "<sos>", "<eos>", "<unk>", "(", "get", "name", "the", "user"])
TGT = Vocab(["<pad>", "<sos>", "<eos>", "<unk>", "##Name", "##_name", "##_user", "(", "def", "get", "user"])


def copying_model(forms: int = 3, **kwargs) -> torch.nn.Module:
    """A tiny attention model that copies with the table of SRC and TGT."""
    torch.manual_seed(0)
    model = build_model("attention", len(SRC), len(TGT), emb_dim=8, hidden_dim=16, copy_forms=forms, **kwargs)
    model.copy_bonus.set_table(copy_table(SRC, TGT, forms))
    return model


def test_spelled_word_strips_continuation_separators_and_case():
    assert [spelled_word(p) for p in ("##_User", "##▁data", "USER", "get", "(", "##_")] == [
        "user", "data", "user", "get", "(", "##_",
    ]


def test_copy_table_lists_the_pieces_that_spell_each_word_most_frequent_first():
    table = copy_table(SRC, TGT, 2)
    assert table.shape == (len(SRC), 2)
    spelled = {SRC.itos[i]: [TGT.itos[j] for j in row if j != PAD_ID] for i, row in enumerate(table.tolist())}
    assert spelled == {
        "<pad>": [], "<sos>": [], "<eos>": [], "<unk>": [], "(": [],  # specials and punctuation copy nothing
        "get": ["get"], "name": ["##Name", "##_name"], "the": [], "user": ["##_user", "user"],
    }
    assert copy_table(SRC, TGT, 1)[SRC.stoi["name"]].tolist() == [TGT.stoi["##Name"]]


def test_bonus_adds_gate_times_attention_to_the_spellings_of_the_attended_words_only():
    model = copying_model().eval()
    src = torch.tensor([[SRC.stoi["get"], SRC.stoi["user"], SRC.stoi["user"], SRC.stoi["the"]]])  # (1, 4)
    enc = model.encode(src, torch.tensor([4]))
    logits, _, attn = model.decode_step(torch.tensor([SOS_ID]), enc.state, enc)  # (1, V), (1, S)
    embedded = model.tgt_embed(torch.tensor([SOS_ID]))
    h, c, context, _ = model._step(embedded, enc.state.hidden[0], enc.state.cell[0], enc)
    features = model.output.features(model._readout(h, context, embedded))
    bonus = logits - model.output.proj(features)  # (1, V)
    gate = F.softplus(model.copy_bonus.gate(features)).item()
    expected = torch.zeros(len(TGT))
    expected[TGT.stoi["get"]] = gate * attn[0, 0]
    expected[TGT.stoi["##_user"]] = expected[TGT.stoi["user"]] = gate * (attn[0, 1] + attn[0, 2])
    assert gate > 0
    torch.testing.assert_close(bonus[0], expected, atol=1e-6, rtol=1e-5)


def test_copying_fast_path_matches_the_step_loop():
    model = copying_model().eval()
    src = torch.randint(4, len(SRC), (3, 5))
    tgt_in = torch.randint(4, len(TGT), (3, 6))
    lengths = torch.tensor([5, 3, 4])
    fast, _ = model(src, lengths, tgt_in)
    slow, _ = model.decode_stepwise(model.encode(src, lengths), tgt_in, 1.0)
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=1e-5)


def test_fused_loss_with_the_bonus_equals_the_plain_loss_and_gradients():
    model = copying_model(tie_embeddings=True).train()
    model.dropout.p = 0.0
    src, lengths = torch.randint(4, len(SRC), (3, 5)), torch.tensor([5, 3, 4])
    tgt_in, tgt_out = torch.randint(4, len(TGT), (3, 6)), torch.randint(4, len(TGT), (3, 6))
    tgt_out[1, 3:] = PAD_ID
    params = [model.copy_bonus.gate.weight, model.attention.v.weight, model.tgt_embed.weight]
    features, bonus = model.forward_features(src, lengths, tgt_in)
    fused, count = linear_cross_entropy(features, model.output.proj, tgt_out, bonus)
    fused_grads = torch.autograd.grad(fused, params)
    logits, _ = model(src, lengths, tgt_in)
    plain, plain_count = sequence_loss(logits, tgt_out)
    plain_grads = torch.autograd.grad(plain, params)
    assert count == plain_count == 15
    assert fused.item() == pytest.approx(plain.item(), rel=1e-5)
    assert fused_grads[0].abs().sum() > 0  # the gate learns
    for ours, reference in zip(fused_grads, plain_grads):
        torch.testing.assert_close(ours, reference, atol=1e-6, rtol=1e-4)


def test_copying_generalises_to_words_never_seen_as_targets():
    """Task: write the docstring's one content word. Trained on 12 words, asked for 6 others whose target
    pieces the decoder never produced: only the copying model can write them."""
    words = [f"w{i}" for i in range(18)]
    src_vocab = Vocab(["<pad>", "<sos>", "<eos>", "<unk>", "return", *words])
    tgt_vocab = Vocab(["<pad>", "<sos>", "<eos>", "<unk>", *words])
    src = torch.tensor([[src_vocab.stoi["return"], src_vocab.stoi[w]] for w in words])  # (18, 2)
    tgt = torch.tensor([[tgt_vocab.stoi[w]] for w in words])  # (18, 1)
    tgt_in, tgt_out = torch.cat([torch.full((18, 1), SOS_ID), tgt], 1), torch.cat([tgt, torch.full((18, 1), 2)], 1)
    lengths, seen, unseen = torch.full((18,), 2), slice(0, 12), slice(12, 18)
    accuracy = {}
    for forms in (0, 1):
        torch.manual_seed(0)
        model = build_model("attention", len(src_vocab), len(tgt_vocab), emb_dim=16, hidden_dim=16, copy_forms=forms)
        if forms:
            model.copy_bonus.set_table(copy_table(src_vocab, tgt_vocab, forms))
        optimizer = torch.optim.Adam(model.parameters(), lr=0.005)
        for _ in range(150):
            features, bonus = model.forward_features(src[seen], lengths[seen], tgt_in[seen])
            loss, _ = linear_cross_entropy(features, model.output.proj, tgt_out[seen], bonus)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            logits, _ = model(src, lengths, tgt_in)  # (18, 2, V)
        first = logits[:, 0].argmax(-1)
        accuracy[forms] = [(first[part] == tgt[part, 0]).float().mean().item() for part in (seen, unseen)]
    assert accuracy[0][0] == accuracy[1][0] == 1.0  # both fit the training words
    assert accuracy[0][1] == 0.0  # never trained to produce them
    assert accuracy[1][1] == 1.0


def test_only_attention_models_copy(tmp_path):
    with pytest.raises(UserError, match="cannot copy"):
        build_model("rnn", 10, 10, copy_forms=2)
    config = load_config(
        profile_config_path("smoke"),
        {"data.max_train_pairs": 32, "data.max_valid_pairs": 8, "data.max_tgt_len": 40, "data.src_vocab_size": 200,
         "data.tgt_vocab_size": 200, "model.emb_dim": 8, "model.hidden_dim": 8, "model.copy_forms": 3,
         "training.epochs": 1, "training.batch_size": 16},
    )
    data = prepare_training_data(config, RunPaths(tmp_path, config.profile, config.seed))
    plain = train_model("lstm", config, data, tmp_path / "lstm", progress=False)  # the setting leaves it alone
    assert load_model(plain.best_checkpoint).model.copy_bonus is None
    copying = train_model("attention", config, data, tmp_path / "attention", progress=False)
    expected = copy_table(data.preprocessor.src_vocab, data.preprocessor.tgt_vocab, 3)
    assert (expected != PAD_ID).any()
    shipped = tmp_path / "shipped.pt"
    export_weights(copying.best_checkpoint, shipped)
    for path in (copying.best_checkpoint, shipped):
        table = load_model(path).model.copy_bonus.table
        assert table.dtype == torch.long and torch.equal(table, expected)
    with pytest.raises(UserError, match="copy_forms"):
        train_model("attention", load_config(profile_config_path("smoke"), {"model.copy_forms": -1}), data, tmp_path / "x")
