"""The retrieval baseline: the code of the training example with the most similar docstring (TF-IDF cosine).

The other baselines, the best constant outputs, are chosen in `evaluation.choose_constants` (scores in `gain`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer


_WORD = re.compile(r"[^\W_]+")


def word_tokens(text: str) -> list[str]:
    """Lower-cased runs of letters and digits (snake_case and dotted names are split)."""
    return _WORD.findall(text.lower())


@dataclass
class RetrievalBaseline:
    """Return the code of the training example whose docstring is most similar by TF-IDF cosine.

    Ties (equal cosine, including queries sharing no word with any training docstring, which
    score 0 everywhere) go to the earliest training example.
    """

    vectorizer: TfidfVectorizer  # fitted on the training docstrings
    train_t: sparse.csr_matrix  # the transposed training TF-IDF matrix
    codes: list[str]  # the training code, in the same order
    chunk_size: int = 256

    @classmethod
    def fit(
        cls,
        train_docstrings: Sequence[str],
        train_codes: Sequence[str],
        tokenizer: Callable[[str], list[str]] = word_tokens,
        chunk_size: int = 256,
    ) -> RetrievalBaseline:
        """Index training docstrings as L2-normalised TF-IDF rows; score chunk_size queries at once."""
        if len(train_docstrings) != len(train_codes):
            raise ValueError(f"{len(train_docstrings)} docstrings but {len(train_codes)} codes")
        vectorizer = TfidfVectorizer(tokenizer=tokenizer, lowercase=False, token_pattern=None)
        train_t = vectorizer.fit_transform(train_docstrings).T.tocsr()
        return cls(vectorizer, train_t, list(train_codes), chunk_size)

    def nearest(self, docstrings: Sequence[str]) -> np.ndarray:
        """Index of the most similar training docstring per query (sparse products in chunks)."""
        if len(docstrings) == 0:
            return np.zeros(0, dtype=np.int64)
        queries = self.vectorizer.transform(docstrings)
        best = [
            (queries[start : start + self.chunk_size] @ self.train_t).toarray().argmax(axis=1)
            for start in range(0, queries.shape[0], self.chunk_size)
        ]
        return np.concatenate(best)

    def predict(self, docstrings: Sequence[str]) -> list[str]:
        """The code of the nearest training example for each docstring."""
        return [self.codes[i] for i in self.nearest(docstrings)]
