"""Metrics for generated Python code: code tokens and BLEU from statistics, compiling, and the bootstrap.

A system's outputs are reduced to one row of sufficient statistics per example (`gain.GainScorer`), so corpus
metrics are functions of column sums and a bootstrap resample is one matrix product (`resample_sums`).
"""

from __future__ import annotations

import re
import tokenize
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from ..data.tokenization import DEDENT, INDENT, NEWLINE, raw_tokens

MAX_ORDER = 4  # BLEU-4

MetricFn = Callable[[np.ndarray, int], np.ndarray]  # summed statistics (..., K) over n examples -> metric (...)

# ----------------------------------------------------------------------------------------------
# Code tokens
# ----------------------------------------------------------------------------------------------

_SPECIAL_TOKENS = {tokenize.NEWLINE: NEWLINE, tokenize.INDENT: INDENT, tokenize.DEDENT: DEDENT}
_SKIPPED_TYPES = {tokenize.COMMENT, tokenize.NL, tokenize.ENDMARKER, tokenize.ENCODING}

_FALLBACK_TOKEN = re.compile(
    r"""(?P<comment>\#.*)
    |(?P<token>
        [rRbBuUfF]{0,2}(?:'''.*?(?:'''|$)|\"\"\".*?(?:\"\"\"|$)
                        |'(?:\\.|[^'\\])*'?|"(?:\\.|[^"\\])*"?)
      | 0[xXoObB][\da-fA-F_]+ | (?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][-+]?\d[\d_]*)?[jJ]?
      | \w+
      | \*\*=?|//=?|>>=?|<<=?|->|:=|\.\.\.|[-+*/%&|^@=<>!]=
      | [^\s\\])""",
    re.VERBOSE,
)
_OPENING, _CLOSING = set("([{"), set(")]}")


def code_tokens(code: str) -> list[str]:
    """Python `tokenize` tokens of `code`, NEWLINE/INDENT/DEDENT as markers; best effort if broken.

    Identifiers, literals and operators are whole tokens; comments, NL and ENDMARKER are dropped.
    Code that `tokenize` rejects (unclosed bracket or triple-quoted string, inconsistent dedent)
    goes through `_fallback_tokens`, a line-by-line regex tokenizer that never raises.
    """
    try:
        return _strict_tokens(code)
    except (tokenize.TokenError, SyntaxError):
        return _fallback_tokens(code)


def _strict_tokens(code: str) -> list[str]:
    """Tokens from the standard library tokenizer (an f-string one token, as in 3.11); raises on code it cannot tokenize."""
    tokens: list[str] = []
    for kind, text in raw_tokens(code):
        if kind in _SPECIAL_TOKENS:
            tokens.append(_SPECIAL_TOKENS[kind])
        elif kind not in _SKIPPED_TYPES and text.strip():
            tokens.append(text)
    return tokens


def _fallback_tokens(code: str) -> list[str]:
    """Regex tokens line by line, with indentation markers from leading whitespace (never raises).

    On code that tokenizes, this mostly agrees with `tokenize`; it differs on strings spanning
    lines, which it cuts at line ends, and it reads an unterminated quote as a string to the end
    of the line.
    Inside open brackets or after a trailing backslash, lines continue without markers.
    """
    tokens: list[str] = []
    indents, depth, continued = [0], 0, False
    for line in code.splitlines():
        words = [m["token"] for m in _FALLBACK_TOKEN.finditer(line) if m["token"]]
        if not words:
            continue
        if depth == 0 and not continued:
            tokens.extend(_indent_markers(line, indents))
        tokens.extend(words)
        depth += sum(w in _OPENING for w in words) - sum(w in _CLOSING for w in words)
        depth = max(depth, 0)
        continued = line.rstrip().endswith("\\")
        if depth == 0 and not continued:
            tokens.append(NEWLINE)
    if tokens and tokens[-1] != NEWLINE:
        tokens.append(NEWLINE)
    return tokens + [DEDENT] * (len(indents) - 1)


def _indent_markers(line: str, indents: list[int]) -> list[str]:
    """INDENT/DEDENT markers for a logical line starting at `line`; updates the indent stack."""
    expanded = line.expandtabs(8)
    width = len(expanded) - len(expanded.lstrip())
    if width > indents[-1]:
        indents.append(width)
        return [INDENT]
    markers = []
    while width < indents[-1]:
        indents.pop()
        markers.append(DEDENT)
    return markers


def bleu_tokens(code: str) -> list[str]:
    """`code_tokens` with whitespace inside a token (string literals) replaced by U+2581.

    BLEU is computed on whitespace-joined tokens (sacrebleu `tokenize="none"` splits on whitespace),
    so this keeps every code token one BLEU token and the cached statistics equal to sacrebleu's.
    """
    return [re.sub(r"\s", "\u2581", token) for token in code_tokens(code)]


# ----------------------------------------------------------------------------------------------
# BLEU, compiling, distinct outputs
# ----------------------------------------------------------------------------------------------


def bleu_from_stats(stats_sum: np.ndarray) -> np.ndarray | float:
    """Corpus BLEU-4 (0-100) from summed statistics (..., 10): clipped n-gram matches for n = 1..4, n-gram totals
    for n = 1..4, output and reference length, as sacrebleu computes it with "exp" smoothing.

    Vectorised over leading axes (a float for one row). As in sacrebleu: the score is 0 when there
    is no unigram match or some n-gram order has no candidates (fewer than 4 generated tokens in
    total); the k-th order with zero matches gets precision 1 / (2^k * total) instead of 0.
    """
    stats = np.asarray(stats_sum, dtype=np.float64)
    matches, totals = stats[..., :MAX_ORDER], stats[..., MAX_ORDER : 2 * MAX_ORDER]
    hyp_len, ref_len = stats[..., 2 * MAX_ORDER], stats[..., 2 * MAX_ORDER + 1]
    zero = matches == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        smoothed = 1.0 / (2.0 ** np.cumsum(zero, axis=-1) * totals)
        precisions = np.where(zero, smoothed, matches / totals)
        log_precision = np.log(precisions).mean(axis=-1)
        brevity = np.where(hyp_len < ref_len, np.exp(1.0 - ref_len / hyp_len), 1.0)
        score = 100.0 * brevity * np.exp(log_precision)
    degenerate = zero[..., 0] | (totals == 0).any(axis=-1)
    result = np.where(degenerate, 0.0, score)
    return float(result) if result.ndim == 0 else result


def compiles(code: str) -> bool:
    """True when the output is non-empty and `compile(code, "<generated>", "exec")` accepts it (warnings silenced).

    Stricter than `ast.parse`: it also rejects what the compiler checks after parsing, such as a repeated
    argument name (`def f(a, a)`) or keyword argument, or `return` outside a function.
    """
    if not code.strip():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(code, "<generated>", "exec")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
    return True


def distinct_share(outputs: Sequence[str]) -> float:
    """Share of distinct strings among the outputs (1 = all different; 0 for no outputs)."""
    return len(set(outputs)) / len(outputs) if outputs else 0.0


# ----------------------------------------------------------------------------------------------
# Bootstrap
# ----------------------------------------------------------------------------------------------

_MAX_DRAWS_PER_CHUNK = 4_000_000


def resample_sums(stats: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """(R, K) column sums of R bootstrap resamples (N rows drawn with replacement) of stats (N, K).

    Vectorised: per chunk of resamples, draw an (r, N) index matrix, turn it into per-row counts
    with one `bincount`, and sum as counts @ stats.
    """
    stats = np.asarray(stats, dtype=np.float64)
    n = len(stats)
    if n == 0:
        raise ValueError("cannot bootstrap an empty set of examples")
    rng = np.random.default_rng(seed)
    sums = np.empty((n_resamples, stats.shape[1]))
    chunk = max(1, _MAX_DRAWS_PER_CHUNK // n)
    for start in range(0, n_resamples, chunk):
        rows = min(chunk, n_resamples - start)
        index = rng.integers(0, n, size=(rows, n)) + n * np.arange(rows)[:, None]
        counts = np.bincount(index.ravel(), minlength=rows * n).reshape(rows, n)
        sums[start : start + rows] = counts @ stats
    return sums


def paired_bootstrap(
    stats_a: np.ndarray,
    stats_b: np.ndarray,
    metric_fn: MetricFn,
    n_resamples: int = 1000,
    seed: int = 0,
) -> dict[str, float]:
    """Paired bootstrap test (Koehn 2004) of system A against B on the same examples, by `metric_fn`.

    Both systems are scored on the same resampled example sets. Returns the observed metrics and
    delta (A - B), the mean delta and its 95% interval over resamples, win_rate = share of resamples
    where A scores strictly higher, and p_value = 1 - win_rate (one-sided, null: A is not better).
    """
    stats_a, stats_b = np.asarray(stats_a, np.float64), np.asarray(stats_b, np.float64)
    if stats_a.shape != stats_b.shape:
        shapes = f"{stats_a.shape} vs {stats_b.shape}"
        raise ValueError(f"paired bootstrap needs statistics of the same examples: {shapes}")
    n, k = stats_a.shape
    sums = resample_sums(np.hstack([stats_a, stats_b]), n_resamples, seed)
    delta = metric_fn(sums[:, :k], n) - metric_fn(sums[:, k:], n)
    metric_a, metric_b = float(metric_fn(stats_a.sum(0), n)), float(metric_fn(stats_b.sum(0), n))
    win_rate = float(np.mean(delta > 0))
    low, high = np.percentile(delta, [2.5, 97.5])
    return {
        "metric_a": metric_a,
        "metric_b": metric_b,
        "delta": metric_a - metric_b,
        "mean_delta": float(delta.mean()),
        "delta_low": float(low),
        "delta_high": float(high),
        "win_rate": win_rate,
        "p_value": 1.0 - win_rate,
    }


# ----------------------------------------------------------------------------------------------
# Length buckets
# ----------------------------------------------------------------------------------------------


def length_buckets(values: Sequence[float], edges: Sequence[float]) -> np.ndarray:
    """Bucket index per value for increasing edges [e1..ek]: <e1, [e1, e2), .., >=ek (k+1 buckets)."""
    if any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError(f"bucket edges must be strictly increasing, got {list(edges)}")
    return np.searchsorted(np.asarray(edges), np.asarray(values), side="right")


def bucket_label(bucket: int, edges: Sequence[int]) -> str:
    """Readable label of an integer-length bucket, e.g. "<10", "10-19", ">=50"."""
    if bucket == 0:
        return f"<{edges[0]}"
    if bucket == len(edges):
        return f">={edges[-1]}"
    return f"{edges[bucket - 1]}-{edges[bucket] - 1}"
