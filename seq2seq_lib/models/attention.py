"""Bahdanau-style model: bidirectional LSTM encoder, additive attention, LSTM decoder."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .base import DecoderState, EncoderOutput, ForwardOutput, Seq2Seq, OutputLayer, run_packed, src_padding_mask
from .copy import CopyBonus


class AdditiveAttention(nn.Module):
    """score(s, h_j) = v^T tanh(W_h h_j + b_h + W_s s + b_s), softmax over the real source tokens."""

    def __init__(self, key_dim: int, query_dim: int, attn_dim: int) -> None:
        super().__init__()
        self.key_proj = nn.Linear(key_dim, attn_dim)  # W_h, b_h
        self.query_proj = nn.Linear(query_dim, attn_dim)  # W_s, b_s
        self.v = nn.Linear(attn_dim, 1, bias=False)

    def project_keys(self, memory: Tensor) -> Tensor:
        """W_h h_j + b_h for every source position, once per sentence: (B, S, Hm) -> (B, S, A)."""
        return self.key_proj(memory)

    def forward(self, query: Tensor, keys: Tensor, memory: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Context (B, Hm) and weights (B, S) for decoder state query (B, Hq); exactly 0 where mask is False."""
        energy = (keys + self.query_proj(query).unsqueeze(1)).tanh_()  # (B, S, A), tanh in place of the sum
        scores = self.v(energy).squeeze(2).masked_fill(~mask, float("-inf"))  # (B, S)
        weights = torch.softmax(scores, dim=1)  # (B, S)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)  # (B, Hm)
        return context, weights


class AttentionSeq2Seq(Seq2Seq):
    """BiLSTM encoder (num_layers deep), bridged into a one-layer LSTM decoder that attends at every step.

    Step t: context c_t from the previous decoder state s_{t-1}; s_t = LSTM([emb(y_{t-1}); c_t], s_{t-1});
    logits from [s_t; c_t; emb(y_{t-1})]. The decoder initial state is h_0 = tanh(B_h [h_fwd; h_bwd]),
    c_0 = B_c [c_fwd; c_bwd] from the top encoder layer's final states. With copy_forms > 0 the logits of
    the (up to copy_forms) pieces that spell each attended docstring word get a gated bonus (models/copy.py).
    """

    has_attention = True

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, emb_dim: int = 128, hidden_dim: int = 128,
                 num_layers: int = 1, dropout: float = 0.0, tie_embeddings: bool = False, copy_forms: int = 0) -> None:
        super().__init__(src_vocab_size, tgt_vocab_size, emb_dim, dropout)
        memory_dim = 2 * hidden_dim
        between_layers = dropout if num_layers > 1 else 0.0
        self.encoder = nn.LSTM(
            emb_dim, hidden_dim, num_layers, batch_first=True, dropout=between_layers, bidirectional=True
        )
        self.bridge_h = nn.Linear(memory_dim, hidden_dim)
        self.bridge_c = nn.Linear(memory_dim, hidden_dim)
        self.attention = AdditiveAttention(memory_dim, hidden_dim, hidden_dim)
        self.decoder = nn.LSTMCell(emb_dim + memory_dim, hidden_dim)
        self.output = OutputLayer(hidden_dim + memory_dim + emb_dim, self.tgt_embed, tie_embeddings)
        if copy_forms:
            self.copy_bonus = CopyBonus(src_vocab_size, copy_forms, self.output.proj.in_features)

    def encode(self, src: Tensor, src_lengths: Tensor) -> EncoderOutput:
        """Memory (B, S, 2H), its attention keys (B, S, H) and the bridged initial decoder state (1, B, H)."""
        embedded = self.dropout(self.src_embed(src))  # (B, S, E)
        memory, (h_n, c_n) = run_packed(self.encoder, embedded, src_lengths, with_outputs=True)
        # memory: (B, S, 2H); h_n, c_n: (2L, B, H), the last two rows are the top layer's forward / backward
        h_final = torch.cat([h_n[-2], h_n[-1]], dim=1)  # (B, 2H)
        c_final = torch.cat([c_n[-2], c_n[-1]], dim=1)  # (B, 2H)
        state = DecoderState(
            torch.tanh(self.bridge_h(h_final)).unsqueeze(0), self.bridge_c(c_final).unsqueeze(0)
        )  # (1, B, H) each
        mask = src_padding_mask(src_lengths, src.size(1), src.device)  # (B, S)
        spellings = None if self.copy_bonus is None else self.copy_bonus.spellings(src)  # (B, S, K)
        return EncoderOutput(state, mask, memory, self.attention.project_keys(memory), spellings)

    def _step(
        self, embedded: Tensor, h: Tensor, c: Tensor, enc: EncoderOutput
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Attend with s_{t-1} = h (B, H), then one LSTM step on [emb (B, E); context (B, 2H)]."""
        context, weights = self.attention(h, enc.keys, enc.memory, enc.src_mask)  # (B, 2H), (B, S)
        h, c = self.decoder(torch.cat([embedded, context], dim=1), (h, c))  # (B, H) each
        return h, c, context, weights

    def _readout(self, h: Tensor, context: Tensor, embedded: Tensor) -> Tensor:
        """The output layer's input [s_t; c_t; emb(y_{t-1})] (..., H + 2H + E), with dropout."""
        return self.dropout(torch.cat([h, context, embedded], dim=-1))

    def decode_step(
        self, prev_tokens: Tensor, state: DecoderState, enc: EncoderOutput
    ) -> tuple[Tensor, DecoderState, Tensor]:
        """One step from prev_tokens (B,): logits (B, V), new state (1, B, H), attention (B, S)."""
        embedded = self.dropout(self.tgt_embed(prev_tokens))  # (B, E)
        h, c, context, weights = self._step(embedded, state.hidden[0], state.cell[0], enc)
        features = self.output.features(self._readout(h, context, embedded))  # (B, D)
        logits = self.logits(features, weights, enc)  # (B, V)
        return logits, DecoderState(h.unsqueeze(0), c.unsqueeze(0)), weights

    def teacher_forced_features(self, enc: EncoderOutput, tgt_in: Tensor) -> ForwardOutput:
        """Cheap LSTMCell loop for states and contexts; features (B, T, D) for one output projection."""
        embedded = self.dropout(self.tgt_embed(tgt_in))  # (B, T, E)
        h, c = enc.state.hidden[0], enc.state.cell[0]  # (B, H)
        states, contexts, weights = [], [], []
        for emb_t in embedded.unbind(1):  # emb_t: (B, E)
            h, c, context, attn = self._step(emb_t, h, c, enc)
            states.append(h)
            contexts.append(context)
            weights.append(attn)
        readout = self._readout(torch.stack(states, 1), torch.stack(contexts, 1), embedded)  # (B, T, H + 2H + E)
        return ForwardOutput(self.output.features(readout), torch.stack(weights, 1))  # attn: (B, T, S)
