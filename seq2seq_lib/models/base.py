"""The interface every model shares (encode / decode_step / forward) and the pieces they reuse."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..data.vocab import PAD_ID
from .copy import CopyBonus, SparseLogitBias


RecurrentState = Tensor | tuple[Tensor, Tensor]  # the `hx` of nn.RNN, or (h, c) of nn.LSTM


@dataclass
class DecoderState:
    """Recurrent decoder state: `hidden` and `cell` are (layers, B, H); `cell` is None for a vanilla RNN."""

    hidden: Tensor
    cell: Tensor | None = None

    @classmethod
    def from_rnn(cls, hx: RecurrentState) -> DecoderState:
        """Wrap the state returned by nn.RNN (a tensor) or nn.LSTM (an (h, c) tuple)."""
        return cls(*hx) if isinstance(hx, tuple) else cls(hx)

    def as_rnn(self) -> RecurrentState:
        """The `hx` argument that nn.RNN / nn.LSTM expect."""
        return self.hidden if self.cell is None else (self.hidden, self.cell)

    def index_select(self, idx: Tensor) -> DecoderState:
        """Select (repeat or reorder) batch entries; used by beam search."""
        cell = None if self.cell is None else self.cell.index_select(1, idx)
        return DecoderState(self.hidden.index_select(1, idx), cell)


@dataclass
class EncoderOutput:
    """What the decoder needs from the encoder, for a batch of B source sentences."""

    state: DecoderState  # initial decoder state (the fixed context of the rnn / lstm models)
    src_mask: Tensor  # (B, S) bool, True on real tokens
    memory: Tensor | None = None  # (B, S, Hm) encoder outputs to attend over (attention only)
    keys: Tensor | None = None  # (B, S, A) memory projected once per sentence by the attention
    spellings: Tensor | None = None  # (B, S, K) target pieces that spell each source word (copying models only)

    def index_select(self, idx: Tensor) -> EncoderOutput:
        """Select (repeat or reorder) batch entries; used by beam search."""
        memory, keys, spellings = (
            None if t is None else t.index_select(0, idx) for t in (self.memory, self.keys, self.spellings)
        )
        return EncoderOutput(self.state.index_select(idx), self.src_mask.index_select(0, idx), memory, keys, spellings)


class ForwardOutput(NamedTuple):
    """Result of Seq2Seq.forward: logits (B, T, V) and attention weights (B, T, S) or None."""

    logits: Tensor
    attn: Tensor | None


class Seq2Seq(nn.Module, ABC):
    """Encoder-decoder base: source/target embeddings, dropout and the two forward paths."""

    has_attention = False

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, emb_dim: int, dropout: float) -> None:
        super().__init__()
        self.tgt_vocab_size = tgt_vocab_size
        self.src_embed = nn.Embedding(src_vocab_size, emb_dim, padding_idx=PAD_ID)
        self.tgt_embed = nn.Embedding(tgt_vocab_size, emb_dim, padding_idx=PAD_ID)
        self.dropout = nn.Dropout(dropout)
        self.copy_bonus: CopyBonus | None = None  # set by models that copy source words (models/copy.py)

    @abstractmethod
    def encode(self, src: Tensor, src_lengths: Tensor) -> EncoderOutput:
        """Encode src (B, S) with true lengths src_lengths (B,)."""

    @abstractmethod
    def decode_step(
        self, prev_tokens: Tensor, state: DecoderState, enc: EncoderOutput
    ) -> tuple[Tensor, DecoderState, Tensor | None]:
        """One decoder step from prev_tokens (B,): logits (B, V), the new state, attention (B, S) or None."""

    @abstractmethod
    def teacher_forced_features(self, enc: EncoderOutput, tgt_in: Tensor) -> ForwardOutput:
        """Fast path: the whole gold prefix tgt_in (B, T) at once, up to the final projection: (B, T, D)."""

    def logit_bias(self, features: Tensor, attn: Tensor | None, enc: EncoderOutput) -> SparseLogitBias | None:
        """The copy bonus for features (B, [T,] D) and attention (B, [T,] S), or None for a model that does not copy."""
        if self.copy_bonus is None:
            return None
        return self.copy_bonus(features, attn, enc.spellings)

    def logits(self, features: Tensor, attn: Tensor | None, enc: EncoderOutput) -> Tensor:
        """The output projection of features (B, [T,] D), plus the copy bonus where the model copies: (B, [T,] V)."""
        logits = self.output.proj(features)
        bias = self.logit_bias(features, attn, enc)
        return logits if bias is None else bias.add_to(logits)

    def decode_teacher_forced(self, enc: EncoderOutput, tgt_in: Tensor) -> ForwardOutput:
        """Fast path: logits (B, T, V) for the whole gold prefix, with one output projection for all steps."""
        features, attn = self.teacher_forced_features(enc, tgt_in)
        return ForwardOutput(self.logits(features, attn, enc), attn)

    def forward_features(
        self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor
    ) -> tuple[Tensor, SparseLogitBias | None]:
        """Teacher-forced features (B, T, D) before the final projection and the copy bonus (for the fused loss)."""
        enc = self.encode(src, src_lengths)
        features, attn = self.teacher_forced_features(enc, tgt_in)
        return features, self.logit_bias(features, attn, enc)

    def forward(
        self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor, teacher_forcing: float = 1.0
    ) -> ForwardOutput:
        """Logits (B, T, V) for tgt_in (B, T); the fused fast path when teacher_forcing == 1.0."""
        enc = self.encode(src, src_lengths)
        if teacher_forcing >= 1.0:
            return self.decode_teacher_forced(enc, tgt_in)
        return self.decode_stepwise(enc, tgt_in, teacher_forcing)

    def decode_stepwise(self, enc: EncoderOutput, tgt_in: Tensor, teacher_forcing: float) -> ForwardOutput:
        """Step loop (also the reference for the fast path); per example and step, a Bernoulli(teacher_forcing) coin
        picks gold or own argmax."""
        state, tokens = enc.state, tgt_in[:, 0]  # tokens: (B,)
        logits, attns = [], []
        for t in range(tgt_in.size(1)):
            if t > 0:
                tokens = tgt_in[:, t]
                if teacher_forcing < 1.0:
                    own = logits[-1].argmax(dim=-1)  # (B,)
                    coin = torch.rand(own.shape, device=own.device) < teacher_forcing  # (B,) True = gold
                    tokens = torch.where(coin, tokens, own)
            step_logits, state, attn = self.decode_step(tokens, state, enc)  # (B, V), (B, S)|None
            logits.append(step_logits)
            attns.append(attn)
        attn = torch.stack(attns, dim=1) if self.has_attention else None  # (B, T, S)
        return ForwardOutput(torch.stack(logits, dim=1), attn)  # logits: (B, T, V)


def src_padding_mask(src_lengths: Tensor, max_len: int, device: torch.device) -> Tensor:
    """(B, S) bool mask, True on the first src_lengths[b] positions of each row."""
    positions = torch.arange(max_len, device=device)  # (S,)
    return positions.unsqueeze(0) < src_lengths.to(device).unsqueeze(1)  # (B, S)


def run_packed(
    rnn: nn.RNNBase, embedded: Tensor, lengths: Tensor, with_outputs: bool
) -> tuple[Tensor | None, RecurrentState]:
    """Run a batch_first recurrent layer over padded embedded (B, S, E) so that padding is never read.

    Returns the outputs (B, S, dirs*H), zero on padding (None unless with_outputs) and the final state.
    """
    packed = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
    packed_out, hx = rnn(packed)
    if not with_outputs:
        return None, hx
    outputs, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=embedded.size(1))  # (B, S, dirs*H)
    return outputs, hx


class OutputLayer(nn.Module):
    """Linear(in_dim -> V); when tied, Linear(in_dim -> E, no bias) then E -> V with the target embedding's weight.

    The down-projection to E is left out when in_dim == E; the tied projection keeps its own bias. `features`
    is everything before the final projection, so the fused training loss can take over from there.
    """

    def __init__(self, in_dim: int, embedding: nn.Embedding, tie: bool) -> None:
        super().__init__()
        vocab_size, emb_dim = embedding.weight.shape
        self.down = nn.Linear(in_dim, emb_dim, bias=False) if tie and in_dim != emb_dim else None
        self.proj = nn.Linear(emb_dim if tie else in_dim, vocab_size)
        if tie:
            self.proj.weight = embedding.weight

    def features(self, x: Tensor) -> Tensor:
        """What the final projection reads: x (..., in_dim) -> (..., D)."""
        return x if self.down is None else self.down(x)

    def forward(self, x: Tensor) -> Tensor:
        """Logits (..., V)."""
        return self.proj(self.features(x))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (shared tensors counted once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
