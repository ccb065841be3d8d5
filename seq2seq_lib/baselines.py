"""Non-neural baselines: TF-IDF nearest-docstring retrieval and a constant most-common body."""

from __future__ import annotations

import ast
import re
import textwrap
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from seq2seq_lib.metrics import code_tokens

STUB = "def f():\n    pass\n"
_WORD = re.compile(r"[^\W_]+")


def word_tokens(text: str) -> list[str]:
    """Lower-cased runs of letters and digits (snake_case and dotted names are split)."""
    return _WORD.findall(text.lower())


class RetrievalBaseline:
    """Return the code of the training example whose docstring is most similar by TF-IDF cosine.

    Ties (equal cosine, including queries sharing no word with any training docstring, which
    score 0 everywhere) go to the earliest training example.
    """

    def __init__(
        self,
        vectorizer: TfidfVectorizer,
        train_t: sparse.csr_matrix,
        codes: list[str],
        chunk_size: int = 256,
    ) -> None:
        """Hold a fitted vectorizer, the transposed training TF-IDF matrix and the training code."""
        self.vectorizer = vectorizer
        self.train_t = train_t
        self.codes = codes
        self.chunk_size = chunk_size

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


def function_body(code: str) -> str | None:
    """Dedented source of the statements of the first function in `code`; None if there is none.

    Statements are taken one by one (comments between them go), so one-line bodies such as
    `def f(): return 1` work too.
    """
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    functions = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not functions:
        return None
    segments = (ast.get_source_segment(code, stmt, padded=True) for stmt in functions[0].body)
    return "".join(textwrap.dedent(segment) + "\n" for segment in segments)


class TrivialBaseline:
    """Ignore the docstring; always output `def f():` with the most common training function body.

    Rule: bodies are compared as `code_tokens` sequences (whitespace and comments ignored); the most
    frequent one (ties: first seen) is emitted as first written, if it occurs at least twice.
    If no body repeats (or none parses), the output is the stub `def f():\\n    pass\\n`.
    """

    def __init__(self, code: str = STUB) -> None:
        """Hold the constant output."""
        self.code = code

    @classmethod
    def fit(cls, train_codes: Sequence[str]) -> TrivialBaseline:
        """Pick the constant output from the training functions."""
        first_seen: dict[tuple[str, ...], str] = {}
        counts: Counter[tuple[str, ...]] = Counter()
        for body in filter(None, map(function_body, train_codes)):
            key = tuple(code_tokens(body))
            first_seen.setdefault(key, body)
            counts[key] += 1
        top = counts.most_common(1)
        if not top or top[0][1] < 2:
            return cls()
        return cls("def f():\n" + textwrap.indent(first_seen[top[0][0]], "    "))

    def predict(self, docstrings: Sequence[str]) -> list[str]:
        """The same code for every docstring."""
        return [self.code] * len(docstrings)
