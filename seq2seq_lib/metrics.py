"""Metrics for generated Python code, with cached per-example statistics for a fast bootstrap.

Scales: BLEU, sentence BLEU and CodeBLEU are 0-100; token accuracy, exact match, syntax validity and
the distinct share are fractions 0-1.

Every generated/reference pair is reduced to one row of sufficient statistics (`STAT_COLUMNS`), so
corpus metrics are functions of column sums and a bootstrap resample is one matrix product.
"""

from __future__ import annotations

import ast
import io
import keyword
import logging
import math
import re
import sys
import tokenize
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import sacrebleu

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

# Layout markers, spelled as in `tokenization` (not imported: metrics stay light and standalone).
NEWLINE, INDENT, DEDENT = "<newline>", "<indent>", "<dedent>"

MAX_ORDER = 4

# How tables name "bleu_parsing_only": corpus BLEU with every output that does not parse scored as empty.
PARSING_BLEU_LABEL = "BLEU of parsing outputs"
_PLAIN_NAMES = frozenset({"self", "cls"})  # names every method has: not counted by `name_recall`

# One row per example: BLEU sufficient statistics (n-gram matches and totals for n = 1..4, generated
# and reference length in tokens), then positional token matches, exact match, parses, and
# sentence BLEU.
STAT_COLUMNS = (
    *(f"matches_{n}" for n in range(1, MAX_ORDER + 1)),
    *(f"totals_{n}" for n in range(1, MAX_ORDER + 1)),
    "hyp_len",
    "ref_len",
    "token_matches",
    "exact",
    "parses",
    "sentence_bleu",
)
_COL = {name: i for i, name in enumerate(STAT_COLUMNS)}
_N_BLEU_STATS = 2 * MAX_ORDER + 2

MetricFn = Callable[[np.ndarray, int], np.ndarray]

# ----------------------------------------------------------------------------------------------
# Code tokens
# ----------------------------------------------------------------------------------------------

_SPECIAL_TOKENS = {tokenize.NEWLINE: NEWLINE, tokenize.INDENT: INDENT, tokenize.DEDENT: DEDENT}
_SKIPPED_TYPES = {tokenize.COMMENT, tokenize.NL, tokenize.ENDMARKER, tokenize.ENCODING}
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # Python >= 3.12 only
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)

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
    """Tokens from the standard library tokenizer; raises on code it cannot tokenize.

    Python >= 3.12 splits f-strings into parts; they are joined back into one token as in 3.11.
    """
    lines = code.splitlines(keepends=True)
    tokens: list[str] = []
    fstring_depth, fstring_start = 0, (0, 0)
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == _FSTRING_START:
            fstring_start = tok.start if fstring_depth == 0 else fstring_start
            fstring_depth += 1
        elif tok.type == _FSTRING_END:
            fstring_depth -= 1
            if fstring_depth == 0:
                tokens.append(_source_span(lines, fstring_start, tok.end))
        elif fstring_depth:
            continue
        elif tok.type in _SPECIAL_TOKENS:
            tokens.append(_SPECIAL_TOKENS[tok.type])
        elif tok.type not in _SKIPPED_TYPES and tok.string.strip():
            tokens.append(tok.string)
    return tokens


def _source_span(lines: list[str], start: tuple[int, int], end: tuple[int, int]) -> str:
    """Source text between two (row, col) tokenize positions (rows count from 1)."""
    (row1, col1), (row2, col2) = start, end
    if row1 == row2:
        return lines[row1 - 1][col1:col2]
    return lines[row1 - 1][col1:] + "".join(lines[row1 : row2 - 1]) + lines[row2 - 1][:col2]


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
    return _escape_whitespace(code_tokens(code))


def _escape_whitespace(tokens: Sequence[str]) -> list[str]:
    """Tokens with every whitespace character replaced by U+2581."""
    return [re.sub(r"\s", "\u2581", tok) for tok in tokens]


# ----------------------------------------------------------------------------------------------
# BLEU
# ----------------------------------------------------------------------------------------------


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU-4 (0-100) by sacrebleu over `bleu_tokens`, tokenize="none", smoothing "exp"."""
    _check_same_length(hypotheses, references)
    hyps = [" ".join(bleu_tokens(h)) for h in hypotheses]
    refs = [" ".join(bleu_tokens(r)) for r in references]
    return float(sacrebleu.corpus_bleu(hyps, [refs], tokenize="none", smooth_method="exp").score)


def _ngram_counts(tokens: Sequence[str], order: int) -> Counter[tuple[str, ...]]:
    """Counts of the n-grams of length `order` in `tokens`."""
    return Counter(tuple(tokens[i : i + order]) for i in range(len(tokens) - order + 1))


def sentence_bleu_stats(hyp_tokens: Sequence[str], ref_tokens: Sequence[str]) -> list[int]:
    """BLEU statistics of one pair: clipped matches n=1..4, totals n=1..4, hyp len, ref len."""
    matches, totals = [], []
    for order in range(1, MAX_ORDER + 1):
        hyp_counts, ref_counts = _ngram_counts(hyp_tokens, order), _ngram_counts(ref_tokens, order)
        matches.append(sum(min(count, ref_counts[gram]) for gram, count in hyp_counts.items()))
        totals.append(max(len(hyp_tokens) - order + 1, 0))
    return [*matches, *totals, len(hyp_tokens), len(ref_tokens)]


def bleu_stats(
    hyp_tokens_list: Sequence[Sequence[str]], ref_tokens_list: Sequence[Sequence[str]]
) -> np.ndarray:
    """Per-sentence BLEU statistics as an (N, 10) int64 array (see `sentence_bleu_stats`)."""
    _check_same_length(hyp_tokens_list, ref_tokens_list)
    rows = [sentence_bleu_stats(h, r) for h, r in zip(hyp_tokens_list, ref_tokens_list)]
    return np.array(rows, dtype=np.int64).reshape(len(rows), _N_BLEU_STATS)


def bleu_from_stats(stats_sum: np.ndarray) -> np.ndarray | float:
    """Corpus BLEU-4 (0-100) from summed statistics (..., 10), as sacrebleu with "exp" smoothing.

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


def smoothed_bleu_from_stats(stats: Sequence[float]) -> float:
    """CodeXGLUE smoothed sentence BLEU-4 (0-100) from one row of BLEU statistics.

    Faithful port of `score_cooked(..., smooth=1)` in CodeXGLUE's `smooth_bleu.py`
    (Code-Text/code-to-text/evaluator/bleu.py, adapted from MOSES; Lin & Och 2004): add one to
    matches and totals for n > 1, `sys.float_info.min` inside every log, and the brevity penalty
    min(0, 1 - (ref_len + 1) / (hyp_len + 1)) in log space. Quirk kept: an empty output scores
    100 * exp(-ref_len), tiny but not 0.
    """
    log_bleu = 0.0
    for k in range(MAX_ORDER):
        add = 1 if k > 0 else 0
        correct, guess = stats[k] + add, stats[MAX_ORDER + k] + add
        log_bleu += math.log(correct + sys.float_info.min) - math.log(guess + sys.float_info.min)
    hyp_len, ref_len = stats[2 * MAX_ORDER], stats[2 * MAX_ORDER + 1]
    brevity = min(0.0, 1.0 - (ref_len + 1) / (hyp_len + 1))
    return 100.0 * math.exp(log_bleu / MAX_ORDER + brevity)


def sentence_bleu_smoothed(hyp_tokens: Sequence[str], ref_tokens: Sequence[str]) -> float:
    """CodeXGLUE smoothed sentence BLEU-4 (0-100) of one pair of token lists.

    Unlike CodeXGLUE's `bleuFromMaps`, tokens are used as given (no lower-casing, no punctuation
    split).
    """
    return smoothed_bleu_from_stats(sentence_bleu_stats(hyp_tokens, ref_tokens))


# ----------------------------------------------------------------------------------------------
# Token accuracy, exact match, syntax validity
# ----------------------------------------------------------------------------------------------


def positional_matches(hyp_tokens: Sequence[str], ref_tokens: Sequence[str]) -> int:
    """Number of reference positions where the generated token at the same position is equal."""
    return sum(h == r for h, r in zip(hyp_tokens, ref_tokens))


def token_accuracy(hyp_tokens: Sequence[str], ref_tokens: Sequence[str]) -> float:
    """Positional token accuracy: share of reference positions holding the same generated token.

    Positions past the end of a shorter output count as misses; extra generated tokens beyond the
    reference are not penalised here (BLEU's precision sees them). Empty reference: 1 if the output
    is empty too, else 0. At corpus level `evaluate_outputs` micro-averages: sum of matches / sum
    of reference lengths.
    """
    if not ref_tokens:
        return float(not hyp_tokens)
    return positional_matches(hyp_tokens, ref_tokens) / len(ref_tokens)


def teacher_forced_accuracy(
    logits: torch.Tensor, targets: torch.Tensor, pad_id: int = 0
) -> tuple[int, int]:
    """(correct, total) argmax predictions on non-pad targets; logits (B, T, V), targets (B, T)."""
    mask = targets != pad_id
    correct = (logits.argmax(dim=-1) == targets) & mask
    return int(correct.sum().item()), int(mask.sum().item())


def exact_match(hypothesis: str, reference: str) -> bool:
    """True when both have the same `code_tokens` (whitespace, blank lines, comments ignored)."""
    return code_tokens(hypothesis) == code_tokens(reference)


def parses(code: str) -> bool:
    """True when the output is non-empty and `ast.parse` accepts it as generated (no repair).

    An empty output is not a function, so it does not count as valid (else a model that emits
    nothing would look syntactically perfect). Warnings are silenced.
    """
    if not code.strip():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ast.parse(code)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
    return True


def compiles(code: str) -> bool:
    """True when the output is non-empty and `compile(code, "<generated>", "exec")` accepts it (warnings silenced).

    Stricter than `parses`: it also rejects what the compiler checks after parsing, such as a repeated
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


def compile_rate(outputs: Sequence[str]) -> float:
    """Share of outputs that `compiles` accepts (0 for no outputs)."""
    return sum(map(compiles, outputs)) / len(outputs) if outputs else 0.0


def parsing_only(outputs: Sequence[str], parsed: Sequence[bool] | None = None) -> list[str]:
    """The outputs with every one that does not parse replaced by "" (`parsed`: the checks, when already made)."""
    parsed = list(map(parses, outputs)) if parsed is None else parsed
    return [output if ok else "" for output, ok in zip(outputs, parsed)]


def syntax_validity(outputs: Sequence[str]) -> float:
    """Share of generated functions that parse with `ast.parse` (0 for no outputs)."""
    return sum(map(parses, outputs)) / len(outputs) if outputs else 0.0


def code_names(code: str) -> set[str]:
    """The distinct identifiers `code` uses (names, attributes, the function's own name); keywords, `self` and
    `cls` left out."""
    return {tok for tok in code_tokens(code) if tok.isidentifier() and not keyword.iskeyword(tok)} - _PLAIN_NAMES


def name_recall(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Share of the references' names (`code_names`, counted once per function) that the matching hypothesis
    uses too, pooled over all pairs: how many of the names a function needs the model wrote (0 without names)."""
    wanted = found = 0
    for hypothesis, reference in zip(hypotheses, references):
        names = code_names(reference)
        wanted += len(names)
        found += len(names & code_names(hypothesis))
    return found / wanted if wanted else 0.0


def distinct_share(outputs: Sequence[str]) -> float:
    """Share of distinct strings among the outputs (1 = all different; 0 for no outputs)."""
    return len(set(outputs)) / len(outputs) if outputs else 0.0


# ----------------------------------------------------------------------------------------------
# CodeBLEU (optional)
# ----------------------------------------------------------------------------------------------


def codebleu_score(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float] | None:
    """CodeBLEU and its four components (0-100) via the optional `codebleu` package, or None.

    Any import or runtime failure (package or tree-sitter grammar missing, empty input) is logged
    as a warning and gives None, so an evaluation never fails because of this metric. Beware: its
    data-flow match can take many minutes on long degenerate outputs (and swallows interrupts), so
    the evaluation pipeline leaves it off unless asked.
    """
    try:
        from codebleu import calc_codebleu

        scores = calc_codebleu(list(references), list(hypotheses), lang="python")
    except Exception as exc:  # optional metric: report the reason and carry on
        logger.warning("CodeBLEU skipped: %s: %s", type(exc).__name__, exc)
        return None
    return {name: 100.0 * float(value) for name, value in scores.items()}


# ----------------------------------------------------------------------------------------------
# Per-example statistics and headline metrics
# ----------------------------------------------------------------------------------------------


def example_scores(hypothesis: str, reference: str) -> dict[str, Any]:
    """JSON-ready per-example scores and sufficient statistics of one generated/reference pair."""
    hyp, ref = code_tokens(hypothesis), code_tokens(reference)
    stats = sentence_bleu_stats(_escape_whitespace(hyp), _escape_whitespace(ref))
    return {
        "matches": stats[:MAX_ORDER],
        "totals": stats[MAX_ORDER : 2 * MAX_ORDER],
        "hyp_len": len(hyp),
        "ref_len": len(ref),
        "token_matches": positional_matches(hyp, ref),
        "token_accuracy": token_accuracy(hyp, ref),
        "exact": hyp == ref,
        "parses": parses(hypothesis),
        "sentence_bleu": smoothed_bleu_from_stats(stats),
    }


def stats_matrix(examples: Sequence[dict[str, Any]]) -> np.ndarray:
    """(N, len(STAT_COLUMNS)) float array of the sufficient statistics in `example_scores` dicts."""
    rows = [
        [*e["matches"], *e["totals"], e["hyp_len"], e["ref_len"], e["token_matches"],
         float(e["exact"]), float(e["parses"]), e["sentence_bleu"]]
        for e in examples
    ]
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(STAT_COLUMNS))


def _column_mean(column: str) -> MetricFn:
    """Metric function: mean of one statistics column."""
    return lambda sums, n: sums[..., _COL[column]] / max(n, 1)


def _bleu_metric(sums: np.ndarray, n: int) -> np.ndarray:
    """Metric function: corpus BLEU from summed statistics."""
    return bleu_from_stats(sums[..., :_N_BLEU_STATS])


def _token_accuracy_metric(sums: np.ndarray, n: int) -> np.ndarray:
    """Metric function: micro-averaged positional token accuracy."""
    return sums[..., _COL["token_matches"]] / np.maximum(sums[..., _COL["ref_len"]], 1)


# Metric functions map summed statistics (..., K) over n examples to metric values (...).
HEADLINE_METRICS: dict[str, MetricFn] = {
    "bleu": _bleu_metric,
    "sentence_bleu": _column_mean("sentence_bleu"),
    "token_accuracy": _token_accuracy_metric,
    "exact_match": _column_mean("exact"),
    "syntax_valid": _column_mean("parses"),
}


def length_ratio(examples: Sequence[dict[str, Any]]) -> float:
    """Generated tokens over reference tokens for the whole corpus (below 1, BLEU's brevity penalty bites)."""
    return sum(e["hyp_len"] for e in examples) / max(sum(e["ref_len"] for e in examples), 1)


def headline_metrics(stats: np.ndarray) -> dict[str, float]:
    """Every metric of `HEADLINE_METRICS` on an (N, K) statistics matrix."""
    sums = np.asarray(stats).sum(axis=0)
    return {name: float(fn(sums, len(stats))) for name, fn in HEADLINE_METRICS.items()}


def evaluate_outputs(
    hypotheses: Sequence[str],
    references: Sequence[str],
    n_resamples: int = 1000,
    seed: int = 0,
    with_codebleu: bool = True,
) -> dict[str, Any]:
    """Headline metrics, 95% bootstrap CIs (skipped when n_resamples=0) and per-example scores.

    Returns a JSON-ready {"n", "metrics", "ci", "per_example"}: metrics holds `HEADLINE_METRICS`
    plus "distinct_share", "length_ratio", "bleu_parsing_only" (outputs that do not parse scored as empty)
    and "codebleu" (None when skipped or unavailable); ci maps each headline
    metric to [low, high]; per_example holds `example_scores` dicts, which `stats_matrix` turns
    into the statistics for `paired_bootstrap` and `breakdown_by_length` groups.
    """
    _check_same_length(hypotheses, references)
    examples = [example_scores(h, r) for h, r in zip(hypotheses, references)]
    stats = stats_matrix(examples)
    metrics: dict[str, float | None] = {**headline_metrics(stats)}
    metrics["distinct_share"] = distinct_share(hypotheses)
    metrics["length_ratio"] = length_ratio(examples)
    # BLEU earned by outputs that parse: text that is not code still collects n-grams and shortens the brevity penalty
    metrics["bleu_parsing_only"] = corpus_bleu(parsing_only(hypotheses, [e["parses"] for e in examples]), references)
    codebleu = codebleu_score(hypotheses, references) if with_codebleu else None
    metrics["codebleu"] = codebleu["codebleu"] if codebleu else None
    ci = {}
    if n_resamples and examples:
        ci = {
            name: list(bootstrap_ci(stats, fn, n_resamples, seed))
            for name, fn in HEADLINE_METRICS.items()
        }
    return {"n": len(examples), "metrics": metrics, "ci": ci, "per_example": examples}


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


def bootstrap_ci(
    per_example_stats: np.ndarray,
    metric_fn: MetricFn,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of metric_fn(column sums, n) over resampled examples."""
    sums = resample_sums(per_example_stats, n_resamples, seed)
    values = metric_fn(sums, len(per_example_stats))
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return float(low), float(high)


def paired_bootstrap(
    stats_a: np.ndarray,
    stats_b: np.ndarray,
    metric_fn: MetricFn = _bleu_metric,
    n_resamples: int = 1000,
    seed: int = 0,
) -> dict[str, float]:
    """Paired bootstrap test (Koehn 2004) of system A against B on the same examples (default BLEU).

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
# Length breakdown
# ----------------------------------------------------------------------------------------------


def length_buckets(values: Sequence[float], edges: Sequence[float]) -> np.ndarray:
    """Bucket index per value for increasing edges [e1..ek]: <e1, [e1, e2), .., >=ek (k+1 buckets)."""
    if any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError(f"bucket edges must be strictly increasing, got {list(edges)}")
    return np.searchsorted(np.asarray(edges), np.asarray(values), side="right")


def _bucket_label(bucket: int, edges: Sequence[int]) -> str:
    """Readable label of an integer-length bucket, e.g. "<10", "10-19", ">=50"."""
    if bucket == 0:
        return f"<{edges[0]}"
    if bucket == len(edges):
        return f">={edges[-1]}"
    return f"{edges[bucket - 1]}-{edges[bucket] - 1}"


def breakdown_by_length(
    examples: Sequence[dict[str, Any]], key: str, edges: Sequence[int]
) -> list[dict[str, Any]]:
    """Count, BLEU and token accuracy per length bucket of example[key]; empty buckets are left out.

    `examples` are `example_scores` dicts (evaluate_outputs' "per_example"), with any extra length
    field added by the caller (e.g. "doc_len"); "ref_len" is the reference length in code tokens.
    """
    stats = stats_matrix(examples)
    buckets = length_buckets([e[key] for e in examples], edges)
    rows = []
    for bucket in range(len(edges) + 1):
        part = stats[buckets == bucket]
        if len(part):
            sums = part.sum(axis=0)
            rows.append({
                "bucket": _bucket_label(bucket, edges),
                "count": len(part),
                "bleu": float(_bleu_metric(sums, len(part))),
                "token_accuracy": float(_token_accuracy_metric(sums, len(part))),
            })
    return rows


def _check_same_length(hypotheses: Sequence[Any], references: Sequence[Any]) -> None:
    """Raise ValueError unless there is exactly one reference per hypothesis."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
