"""Plain tutorial-style reference implementations of the three models, for the benchmark.

Written the way common tutorials do it (the PyTorch seq2seq tutorial, bentrevett/pytorch-seq2seq): a Python
loop over time steps that calls the decoder cell once per step, the output layer applied step by step, and
for attention `attn(cat(hidden.repeat, encoder_outputs))` recomputed at every step. No packing: the encoder
is a cell loop too, and padding is handled by keeping the state unchanged on pad positions, so that a
reference computes exactly the function of our model once `copy_weights_from` has copied our weights (one layer;
a tied output layer becomes an untied one of the same function). A copying model's copy bonus has no reference:
the tutorials do not copy, so the reference computes the same model without it.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..data.vocab import EOS_ID, PAD_ID, SOS_ID
from ..models.base import Seq2Seq

RefState = Tensor | tuple[Tensor, Tensor]  # h (B, H) of an RNNCell, or (h, c) of an LSTMCell
RefEncoded = tuple[RefState, Tensor, Tensor | None]  # initial decoder state, src mask (B, S), memory or None

_CELLS = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell}


def _cell_step(cell: nn.Module, x: Tensor, state: RefState, keep: Tensor) -> RefState:
    """One cell step on x (B, E); rows where keep (B, 1) is False (padding) keep their old state."""
    new = cell(x, state)
    if isinstance(new, tuple):
        return torch.where(keep, new[0], state[0]), torch.where(keep, new[1], state[1])
    return torch.where(keep, new, state)


def _hidden(state: RefState) -> Tensor:
    """h (B, H) of a cell state."""
    return state[0] if isinstance(state, tuple) else state


def _copy_cell(cell: nn.Module, rnn: nn.RNNBase, suffix: str) -> None:
    """Copy layer-0 weights (direction `suffix`: '' or '_reverse') of nn.RNN / nn.LSTM into a cell."""
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(cell, name).copy_(getattr(rnn, f"{name}_l0{suffix}"))


def _copy_output(output: nn.Linear, model: Seq2Seq) -> None:
    """Copy our OutputLayer into a reference's one nn.Linear: a tied projection, with its down-projection multiplied
    in when it has one, becomes the untied matrix of the same function."""
    layer = model.output
    weight = layer.proj.weight if layer.down is None else layer.proj.weight @ layer.down.weight  # (V, in_dim)
    output.weight.copy_(weight)
    output.bias.copy_(layer.proj.bias)


def teacher_forced_steps(model: nn.Module, src: Tensor, src_lengths: Tensor, tgt_in: Tensor) -> Tensor:
    """The tutorial loop: encode, then call model.step once per target position; logits (B, T, V)."""
    enc = model.encode(src, src_lengths)
    state, outputs = enc[0], []
    for t in range(tgt_in.size(1)):
        logits, state, _ = model.step(tgt_in[:, t], state, enc)  # (B, V)
        outputs.append(logits)
    return torch.stack(outputs, dim=1)

class RefRecurrentSeq2Seq(nn.Module):
    """Tutorial RNN / LSTM encoder-decoder: the encoder's final state is the decoder's initial state."""

    has_attention = False

    def __init__(self, cell_type: str, src_vocab_size: int, tgt_vocab_size: int, emb_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.src_embed = nn.Embedding(src_vocab_size, emb_dim, padding_idx=PAD_ID)
        self.tgt_embed = nn.Embedding(tgt_vocab_size, emb_dim, padding_idx=PAD_ID)
        self.encoder = _CELLS[cell_type](emb_dim, hidden_dim)
        self.decoder = _CELLS[cell_type](emb_dim, hidden_dim)
        self.output = nn.Linear(hidden_dim, tgt_vocab_size)

    def encode(self, src: Tensor, src_lengths: Tensor) -> RefEncoded:
        """Cell loop over src (B, S); the state stops changing after each row's last real token."""
        mask = src != PAD_ID  # (B, S)
        embedded = self.src_embed(src)  # (B, S, E)
        batch, hidden = src.size(0), self.encoder.hidden_size
        h = embedded.new_zeros(batch, hidden)  # (B, H)
        state: RefState = (h, h) if isinstance(self.encoder, nn.LSTMCell) else h
        for t in range(src.size(1)):
            state = _cell_step(self.encoder, embedded[:, t], state, mask[:, t : t + 1])
        return state, mask, None

    def step(self, token: Tensor, state: RefState, enc: RefEncoded) -> tuple[Tensor, RefState, None]:
        """One decoder step from token (B,): logits (B, V), the new state."""
        state = self.decoder(self.tgt_embed(token), state)
        return self.output(_hidden(state)), state, None

    def forward(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor) -> Tensor:
        """Teacher-forced logits (B, T, V), one step (cell + output layer) at a time."""
        return teacher_forced_steps(self, src, src_lengths, tgt_in)

    @torch.no_grad()
    def copy_weights_from(self, model: Seq2Seq) -> None:
        """Take the parameters of our RNNSeq2Seq / LSTMSeq2Seq (one layer)."""
        self.src_embed.weight.copy_(model.src_embed.weight)
        self.tgt_embed.weight.copy_(model.tgt_embed.weight)
        _copy_cell(self.encoder, model.encoder, "")
        _copy_cell(self.decoder, model.decoder, "")
        _copy_output(self.output, model)


class RefAttentionSeq2Seq(nn.Module):
    """Tutorial Bahdanau model: BiLSTM encoder, `attn(cat(hidden.repeat, encoder_outputs))` at every step."""

    has_attention = True

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, emb_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.src_embed = nn.Embedding(src_vocab_size, emb_dim, padding_idx=PAD_ID)
        self.tgt_embed = nn.Embedding(tgt_vocab_size, emb_dim, padding_idx=PAD_ID)
        self.enc_fwd = nn.LSTMCell(emb_dim, hidden_dim)
        self.enc_bwd = nn.LSTMCell(emb_dim, hidden_dim)
        self.bridge_h = nn.Linear(2 * hidden_dim, hidden_dim)
        self.bridge_c = nn.Linear(2 * hidden_dim, hidden_dim)
        self.attn = nn.Linear(hidden_dim + 2 * hidden_dim, hidden_dim)  # over [s; h_j]: W = [W_s | W_h]
        self.v = nn.Linear(hidden_dim, 1, bias=False)
        self.decoder = nn.LSTMCell(emb_dim + 2 * hidden_dim, hidden_dim)
        self.output = nn.Linear(hidden_dim + 2 * hidden_dim + emb_dim, tgt_vocab_size)

    def encode(self, src: Tensor, src_lengths: Tensor) -> RefEncoded:
        """Forward and backward cell loops over src (B, S): memory (B, S, 2H), zero on padding."""
        mask = src != PAD_ID  # (B, S)
        embedded = self.src_embed(src)  # (B, S, E)
        zeros = embedded.new_zeros(src.size(0), self.enc_fwd.hidden_size)  # (B, H)
        fwd_state: RefState = (zeros, zeros)
        bwd_state: RefState = (zeros, zeros)
        fwd_out, bwd_out = [], []
        for t in range(src.size(1)):
            fwd_state = _cell_step(self.enc_fwd, embedded[:, t], fwd_state, mask[:, t : t + 1])
            fwd_out.append(fwd_state[0])
        for t in reversed(range(src.size(1))):  # starts from zeros at each row's last real token
            bwd_state = _cell_step(self.enc_bwd, embedded[:, t], bwd_state, mask[:, t : t + 1])
            bwd_out.append(bwd_state[0])
        memory = torch.cat([torch.stack(fwd_out, 1), torch.stack(bwd_out[::-1], 1)], dim=2)  # (B, S, 2H)
        memory = memory * mask.unsqueeze(2)
        h0 = torch.tanh(self.bridge_h(torch.cat([fwd_state[0], bwd_state[0]], dim=1)))  # (B, H)
        c0 = self.bridge_c(torch.cat([fwd_state[1], bwd_state[1]], dim=1))  # (B, H)
        return (h0, c0), mask, memory

    def step(self, token: Tensor, state: RefState, enc: RefEncoded) -> tuple[Tensor, RefState, Tensor]:
        """One decoder step from token (B,): logits (B, V), the new state, attention weights (B, S)."""
        _, mask, memory = enc
        h, c = state
        embedded = self.tgt_embed(token)  # (B, E)
        repeated = h.unsqueeze(1).repeat(1, memory.size(1), 1)  # (B, S, H)
        energy = torch.tanh(self.attn(torch.cat([repeated, memory], dim=2)))  # (B, S, H)
        scores = self.v(energy).squeeze(2).masked_fill(~mask, float("-inf"))  # (B, S)
        weights = torch.softmax(scores, dim=1)  # (B, S)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)  # (B, 2H)
        h, c = self.decoder(torch.cat([embedded, context], dim=1), (h, c))
        logits = self.output(torch.cat([h, context, embedded], dim=1))  # (B, V)
        return logits, (h, c), weights

    def forward(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor) -> Tensor:
        """Teacher-forced logits (B, T, V), one step (cell + output layer) at a time."""
        return teacher_forced_steps(self, src, src_lengths, tgt_in)

    @torch.no_grad()
    def copy_weights_from(self, model: Seq2Seq) -> None:
        """Take the parameters of our AttentionSeq2Seq (one layer); W_s, W_h become one Linear."""
        self.src_embed.weight.copy_(model.src_embed.weight)
        self.tgt_embed.weight.copy_(model.tgt_embed.weight)
        _copy_cell(self.enc_fwd, model.encoder, "")
        _copy_cell(self.enc_bwd, model.encoder, "_reverse")
        self.bridge_h.load_state_dict(model.bridge_h.state_dict())
        self.bridge_c.load_state_dict(model.bridge_c.state_dict())
        attention = model.attention
        self.attn.weight.copy_(torch.cat([attention.query_proj.weight, attention.key_proj.weight], dim=1))
        self.attn.bias.copy_(attention.query_proj.bias + attention.key_proj.bias)
        self.v.weight.copy_(attention.v.weight)
        self.decoder.load_state_dict(model.decoder.state_dict())
        _copy_output(self.output, model)


def build_reference(name: str, model: Seq2Seq) -> nn.Module:
    """The reference of model `name` ("rnn", "lstm", "attention") with the same sizes and weights as `model`."""
    src_vocab, emb_dim = model.src_embed.weight.shape
    tgt_vocab = model.tgt_vocab_size
    if name == "attention":
        reference: nn.Module = RefAttentionSeq2Seq(src_vocab, tgt_vocab, emb_dim, model.decoder.hidden_size)
    else:
        reference = RefRecurrentSeq2Seq(name, src_vocab, tgt_vocab, emb_dim, model.decoder.hidden_size)
    reference.copy_weights_from(model)
    return reference


def reference_greedy(
    reference: nn.Module, src: Tensor, src_lengths: Tensor, max_len: int, eos_id: int = EOS_ID
) -> list[list[int]]:
    """Greedy step loop over the batch src (B, S) until every row emitted eos_id or max_len steps.

    Like reference_beam, call it under torch.inference_mode() (or no_grad): the grad mode is the caller's.
    """
    enc = reference.encode(src, src_lengths)
    state = enc[0]
    token = torch.full((src.size(0),), SOS_ID, dtype=torch.long, device=src.device)  # (B,)
    finished = torch.zeros(src.size(0), dtype=torch.bool, device=src.device)  # (B,)
    steps = []
    for _ in range(max_len):
        logits, state, _ = reference.step(token, state, enc)
        token = logits.argmax(dim=1)  # (B,)
        steps.append(token)
        finished |= token == eos_id
        if finished.all():
            break
    rows = torch.stack(steps, dim=1).tolist()  # (B, t)
    return [row[: row.index(eos_id)] if eos_id in row else row for row in rows]


def reference_beam(
    reference: nn.Module, src: Tensor, src_lengths: Tensor, beam_width: int, max_len: int, min_len: int = 0
) -> list[list[int]]:
    """Tutorial beam search: one sentence at a time, its beam_width hypotheses batched through the step.

    Hypotheses are ranked by summed log-probability; a finished (<eos>) hypothesis leaves the beam and the
    best finished one (or the best alive one at max_len) is returned. No length penalty.
    """
    outputs = []
    for b in range(src.size(0)):
        length = int(src_lengths[b])
        enc = reference.encode(src[b : b + 1, :length], src_lengths[b : b + 1])
        state, mask, memory = enc
        seqs: list[list[int]] = [[]]
        scores = torch.zeros(1, device=src.device)  # (K,)
        finished: list[tuple[float, list[int]]] = []
        for t in range(max_len):
            alive = len(seqs)
            tokens = torch.tensor([seq[-1] if seq else SOS_ID for seq in seqs], device=src.device)  # (K,)
            expanded = (state, mask.expand(alive, -1), None if memory is None else memory.expand(alive, -1, -1))
            logits, state, _ = reference.step(tokens, state, expanded)
            log_probs = torch.log_softmax(logits, dim=1)  # (K, V)
            if t < min_len:
                log_probs[:, EOS_ID] = float("-inf")
            top_scores, top_ids = (scores.unsqueeze(1) + log_probs).view(-1).topk(beam_width)  # (K,), (K,)
            parents, words = (top_ids // log_probs.size(1)).tolist(), (top_ids % log_probs.size(1)).tolist()
            keep = []
            for score, parent, word in zip(top_scores.tolist(), parents, words):
                if word == EOS_ID:
                    finished.append((score, seqs[parent]))
                else:
                    keep.append((parent, word))
            if not keep or (finished and max(s for s, _ in finished) >= top_scores.max().item()):
                break
            index = torch.tensor([parent for parent, _ in keep], device=src.device)  # (K',)
            seqs = [seqs[parent] + [word] for parent, word in keep]
            scores = top_scores[[i for i, w in enumerate(words) if w != EOS_ID]]
            state = tuple(s.index_select(0, index) for s in state) if isinstance(state, tuple) else state.index_select(0, index)
        candidates = finished or [(float(s), seq) for s, seq in zip(scores.tolist(), seqs)]
        outputs.append(max(candidates, key=lambda pair: pair[0])[1])
    return outputs
