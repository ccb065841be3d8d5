"""Copying docstring words into code: an attention-weighted bonus on the logits of the pieces that spell them.

A docstring word such as `user` reappears in code as pieces spelt `user`, `##_user`, `##User`, `USER`, ...
(`seq2seq_lib/data/tokenization.py`). `copy_table` lists, for every source word, up to K target pieces that spell
it. At each decoder step the model adds to the logit of each such piece

    bonus_t(w) = g_t * sum_i a_{t,i} [w spells x_i],      g_t = softplus(u^T f_t + b) >= 0,

where a_t is the step's attention over the source and f_t the features the output projection reads: the
attention says which word to copy, the gate g_t how strongly this step copies, and the generator's own
logits still choose the spelling. The bonus is a sparse (K per source position) addition to the logits,
so the fused training loss (`losses.linear_cross_entropy`) adds it chunk by chunk too.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.vocab import PAD_ID, SPECIALS, Vocab

_NOT_SPELLING = "#_▁"


class SparseLogitBias(NamedTuple):
    """Additions to a few logits per row: `value[..., m]` goes to logit `index[..., m]` (index PAD_ID: nothing)."""

    index: Tensor  # (..., M) long target ids
    value: Tensor  # (..., M) float, 0 where index is PAD_ID

    def add_to(self, logits: Tensor) -> Tensor:
        """logits (..., V) plus the bias, out of place."""
        return logits.scatter_add(-1, self.index, self.value.to(logits.dtype))


def spelled_word(piece: str) -> str:
    """The lower-case word a target piece spells: `##_User` -> `user`, `##▁data` -> `data`, `(` -> `(`."""
    word = piece.removeprefix("##").lstrip(_NOT_SPELLING).lower()
    return word or piece


def copy_table(src_vocab: Vocab, tgt_vocab: Vocab, forms: int) -> Tensor:
    """(len(src_vocab), forms) long: for each source word, the ids of the first `forms` target pieces that spell
    it (most frequent first), padded with PAD_ID; special tokens and punctuation-only words copy nothing."""
    spellings: dict[str, list[int]] = {}
    for tgt_id, piece in enumerate(tgt_vocab.itos):
        if piece not in SPECIALS:
            spellings.setdefault(spelled_word(piece), []).append(tgt_id)
    table = torch.full((len(src_vocab), forms), PAD_ID, dtype=torch.long)
    for src_id, word in enumerate(src_vocab.itos):
        if word in SPECIALS or not any(ch.isalnum() for ch in word):
            continue
        ids = spellings.get(word, [])[:forms]
        table[src_id, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    return table


class CopyBonus(nn.Module):
    """The gate g_t and the table from source ids to the target pieces that spell them."""

    def __init__(self, src_vocab_size: int, forms: int, feature_dim: int) -> None:
        super().__init__()
        self.register_buffer("table", torch.full((src_vocab_size, forms), PAD_ID, dtype=torch.long))
        self.gate = nn.Linear(feature_dim, 1)

    def set_table(self, table: Tensor) -> None:
        """Install a table built by `copy_table` (stored with the model's weights from then on)."""
        if table.shape != self.table.shape:
            raise ValueError(f"copy table of shape {tuple(table.shape)} does not fit {tuple(self.table.shape)}")
        self.table.copy_(table)

    def spellings(self, src: Tensor) -> Tensor:
        """Target ids that spell each source token: src (B, S) -> (B, S, K)."""
        return self.table[src]

    def forward(self, features: Tensor, attn: Tensor, spellings: Tensor) -> SparseLogitBias:
        """The bonus for features (B, [T,] D) and attention (B, [T,] S) given spellings (B, S, K): (B, [T,] S*K)."""
        gate = F.softplus(self.gate(features))  # (B, [T,] 1)
        weight = (gate * attn).unsqueeze(-1)  # (B, [T,] S, 1)
        if attn.dim() == 3:
            spellings = spellings.unsqueeze(1).expand(-1, attn.size(1), -1, -1)  # (B, T, S, K)
        value = weight * (spellings != PAD_ID)  # (B, [T,] S, K)
        return SparseLogitBias(spellings.flatten(-2), value.flatten(-2))
