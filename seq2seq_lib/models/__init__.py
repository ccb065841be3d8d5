"""The three seq2seq models behind one interface, and build_model() to make them by name."""

from __future__ import annotations

from typing import Any

from ..errors import UserError
from .attention import AttentionSeq2Seq
from .base import Seq2Seq, count_parameters
from .lstm import LSTMSeq2Seq
from .rnn import RNNSeq2Seq

_MODELS: dict[str, type[Seq2Seq]] = {"rnn": RNNSeq2Seq, "lstm": LSTMSeq2Seq, "attention": AttentionSeq2Seq}
MODEL_NAMES = ("rnn", "lstm", "attention")



def build_model(name: str, src_vocab_size: int, tgt_vocab_size: int, copy_forms: int = 0, **sizes: Any) -> Seq2Seq:
    """Build the model called `name` (one of MODEL_NAMES) with the sizes its class takes (emb_dim, hidden_dim,
    num_layers, dropout, tie_embeddings); copy_forms > 0 (attention only) makes it copy."""
    if name not in _MODELS:
        raise UserError(f"unknown model {name!r}: choose one of {', '.join(MODEL_NAMES)}")
    if copy_forms and not can_copy(name):
        raise UserError(f"model {name!r} cannot copy (it has no attention); set model.copy_forms to 0")
    return _MODELS[name](src_vocab_size, tgt_vocab_size, **({"copy_forms": copy_forms} if copy_forms else {}), **sizes)


def can_copy(name: str) -> bool:
    """Whether the model called `name` attends, and so can copy docstring words (model.copy_forms)."""
    return _MODELS[name].has_attention
