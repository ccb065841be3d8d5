"""How long should the function be? A docstring-to-length regression that decoding aims each output at.

Greedy and beam search decide the length of an output token by token, and a seq2seq model hears about
length only through `<eos>`, so short functions come out too long and long ones too short. A ridge
regression of log code length (target pieces) on the docstring's TF-IDF (source ids, sublinear term
frequency, plus its log length and square) is fitted on the training split with the vocabularies; with
`DecodingConfig.length_target` decoding applies its `<eos>` penalty only before the predicted length.

Features come from source ids, so the prediction is computed inside `decode` from the batch itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from scipy import sparse
from sklearn.linear_model import Ridge
from torch import Tensor

from ..data.vocab import EOS_ID, PAD_ID, SOS_ID

RIDGE_ALPHA = 3.0  # ridge regularisation strength (chosen on validation)
_NOT_WORDS = (PAD_ID, SOS_ID, EOS_ID)


class LengthModel:
    """Predicted number of target pieces for a batch of source id sequences."""

    def __init__(
        self, idf: Sequence[float], coef: Sequence[float], length_coef: Sequence[float], intercept: float
    ) -> None:
        """Hold the inverse document frequency and weight of every source id, and the two length weights."""
        self.idf = torch.tensor(idf, dtype=torch.float32)  # (V,)
        self.coef = torch.tensor(coef, dtype=torch.float32)  # (V,)
        self.length_coef = torch.tensor(length_coef, dtype=torch.float32)  # (2,) for log1p(n) and its square
        self.intercept = float(intercept)

    @classmethod
    def fit(cls, src_ids: Sequence[Sequence[int]], tgt_lengths: Sequence[int], vocab_size: int) -> LengthModel:
        """Ridge regression of log(target length) on the features of each source (ids as `encode_src` gives them)."""
        if len(src_ids) != len(tgt_lengths) or not src_ids:
            raise ValueError(f"need as many target lengths as sources (got {len(src_ids)} and {len(tgt_lengths)})")
        counts = _count_matrix(src_ids, vocab_size)  # (N, V)
        df = np.asarray((counts > 0).sum(axis=0)).ravel()
        idf = np.log((1 + len(src_ids)) / (1 + df)) + 1.0  # scikit-learn's smoothed idf
        idf[list(_NOT_WORDS)] = 0.0
        features = sparse.hstack([_tfidf(counts, idf), _length_features(counts)]).tocsr()
        ridge = Ridge(alpha=RIDGE_ALPHA).fit(features, np.log(np.maximum(tgt_lengths, 1)))
        return cls(idf.tolist(), ridge.coef_[:vocab_size].tolist(), ridge.coef_[vocab_size:].tolist(), ridge.intercept_)

    def predict(self, src: Tensor, src_lengths: Tensor) -> Tensor:
        """Expected target pieces (B,) for the padded batch src (B, S); computed on src's device."""
        idf, coef, length_coef = (t.to(src.device) for t in (self.idf, self.coef, self.length_coef))
        words = (src.unsqueeze(-1) != torch.tensor(_NOT_WORDS, device=src.device)).all(-1)  # (B, S)
        counts = torch.zeros(src.size(0), idf.numel(), device=src.device)  # (B, V)
        counts.scatter_add_(1, src, words.float())
        tf = torch.where(counts > 0, 1.0 + torch.log(counts.clamp(min=1.0)), counts) * idf  # (B, V) sublinear tf-idf
        tf = tf / tf.norm(dim=1, keepdim=True).clamp(min=1e-12)
        n = torch.log1p(words.sum(dim=1).float())  # (B,)
        log_length = tf @ coef + n * length_coef[0] + n.square() * length_coef[1] + self.intercept  # (B,)
        return log_length.exp()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready weights (the preprocessor embeds them)."""
        return {"idf": self.idf.tolist(), "coef": self.coef.tolist(), "length_coef": self.length_coef.tolist(),
                "intercept": self.intercept}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LengthModel:
        """Rebuild from `to_dict()` output."""
        return cls(data["idf"], data["coef"], data["length_coef"], data["intercept"])


def _count_matrix(src_ids: Sequence[Sequence[int]], vocab_size: int) -> sparse.csr_matrix:
    """Sparse (N, V) counts of each id per source, special ids excluded."""
    rows, cols = [], []
    for row, ids in enumerate(src_ids):
        words = [i for i in ids if i not in _NOT_WORDS]
        rows.extend([row] * len(words))
        cols.extend(words)
    data = np.ones(len(cols), dtype=np.float64)
    return sparse.csr_matrix((data, (rows, cols)), shape=(len(src_ids), vocab_size))  # duplicates are summed


def _tfidf(counts: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    """L2-normalised sublinear tf-idf rows, as `predict` computes them."""
    tf = counts.copy()
    tf.data = 1.0 + np.log(tf.data)
    weighted = tf.multiply(idf).tocsr()
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    return sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ weighted


def _length_features(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    """log1p(number of source words) and its square, one row per source."""
    n = np.log1p(np.asarray(counts.sum(axis=1)).ravel())
    return sparse.csr_matrix(np.column_stack([n, n**2]))
