"""What the docstring is worth: chrF and BLEU against the true references and against deranged ones.

A system that ignores its input can still score well on code: every function shares `def`, `self`,
`return` and the layout of a block. The *docstring gain* of a system on a metric is its corpus score
minus the mean score of the same outputs against the references permuted so that no output keeps
its own (`DERANGEMENTS` seeded derangements). The *length-matched* gain permutes only within deciles
of reference length, so that predicting only a length from the docstring earns nothing. A constant
output has a gain of exactly 0 by construction.

Every (output, reference) pair is reduced to n-gram count statistics: for chrF, per character order
1..6 the output's n-grams, the reference's and their clipped matches (as sacrebleu's `CHRF`, whitespace
removed); for BLEU, as `metrics.sentence_bleu_stats`. Counts live in sparse matrices over one shared
n-gram vocabulary, so scoring an output against any reference is one sparse minimum, and corpus scores
and bootstrap intervals are functions of column sums.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from ..data.tokenization import code_pieces, detokenize
from .metrics import DEDENT, INDENT, MAX_ORDER, NEWLINE, bleu_from_stats, bleu_tokens, resample_sums

CHAR_ORDER = 6  # sacrebleu's chrF defaults: character 6-grams, no word n-grams, beta 2, whitespace ignored
BETA = 2
DERANGEMENTS = 5
LENGTH_GROUPS = 10  # deciles of reference length for the length-matched derangements
_LAYOUT = frozenset({NEWLINE, INDENT, DEDENT})


def normalise_code(code: str) -> str:
    """Code as the model's targets see it: lexed into pieces and laid out again (comments dropped)."""
    return detokenize(code_pieces(code))


# ----------------------------------------------------------------------------------------------
# Sparse n-gram counts
# ----------------------------------------------------------------------------------------------


def char_ngrams(text: str, order: int = CHAR_ORDER) -> Counter[str]:
    """Character n-grams of orders 1..order with whitespace removed (a gram's length is its order)."""
    text = "".join(text.split())
    return Counter(text[i : i + n] for n in range(1, order + 1) for i in range(len(text) - n + 1))


def token_ngrams(tokens: Sequence[str], order: int = MAX_ORDER) -> Counter[tuple[str, ...]]:
    """Token n-grams of orders 1..order (a gram's length is its order)."""
    return Counter(tuple(tokens[i : i + n]) for n in range(1, order + 1) for i in range(len(tokens) - n + 1))


class NgramTable:
    """A growing n-gram vocabulary: texts become sparse count rows in one column space."""

    def __init__(self, order: int) -> None:
        self.order = order
        self.columns: dict[object, int] = {}
        self.order_of: list[int] = []  # order of each column, 1-based

    def rows(self, grams: Sequence[Counter]) -> sparse.csr_matrix:
        """(len(grams), columns so far) count matrix of n-gram Counters."""
        indptr, indices, data = [0], [], []
        for counter in grams:
            for gram, count in counter.items():
                column = self.columns.get(gram)
                if column is None:
                    column = self.columns[gram] = len(self.order_of)
                    self.order_of.append(len(gram))
                indices.append(column)
                data.append(count)
            indptr.append(len(indices))
        return sparse.csr_matrix((np.array(data, np.float64), indices, indptr), shape=(len(grams), len(self.order_of)))

    def widen(self, matrix: sparse.csr_matrix) -> sparse.csr_matrix:
        """The matrix with as many columns as the vocabulary has now (columns added later are empty)."""
        return sparse.csr_matrix((matrix.data, matrix.indices, matrix.indptr), shape=(matrix.shape[0], len(self.order_of)))

    def by_order(self) -> sparse.csr_matrix:
        """(columns, order) indicator matrix: a count row times it gives counts per order."""
        orders = np.array(self.order_of, dtype=np.int64) - 1
        n = len(orders)
        return sparse.csr_matrix((np.ones(n), (np.arange(n), orders)), shape=(n, self.order))


def count_stats(table: NgramTable, hyps: sparse.csr_matrix, refs: sparse.csr_matrix) -> np.ndarray:
    """(N, 3, order) per row pair and order: output n-grams, reference n-grams, clipped matches."""
    hyps, refs = table.widen(hyps), table.widen(refs)
    per_order = table.by_order()
    counts = [(m @ per_order).toarray() for m in (hyps, refs, hyps.minimum(refs))]
    return np.stack(counts, axis=1)


# ----------------------------------------------------------------------------------------------
# chrF and BLEU from count statistics
# ----------------------------------------------------------------------------------------------


def chrf_columns(counts: np.ndarray) -> np.ndarray:
    """(N, 3 * order) chrF statistics in sacrebleu's layout [hyp, ref, match] per order.

    As sacrebleu does, an output's n-grams of an order count only when the reference has some of that order.
    """
    hyp, ref, match = counts[:, 0], counts[:, 1], counts[:, 2]
    hyp = np.where(ref > 0, hyp, 0.0)
    return np.stack([hyp, ref, match], axis=2).reshape(len(counts), -1)


def chrf_from_stats(sums: np.ndarray, beta: float = BETA) -> np.ndarray | float:
    """Corpus chrF (0-100) from summed chrF statistics (..., 3 * order), as sacrebleu (no eps smoothing).

    Precision and recall are averaged over the orders where both sides have n-grams, then combined.
    """
    stats = np.asarray(sums, dtype=np.float64)
    hyp, ref, match = stats[..., 0::3], stats[..., 1::3], stats[..., 2::3]
    effective = (hyp > 0) & (ref > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(effective, match / hyp, 0.0)
        recall = np.where(effective, match / ref, 0.0)
    orders = effective.sum(axis=-1)
    avg_p = np.where(orders > 0, precision.sum(axis=-1) / np.maximum(orders, 1), 0.0)
    avg_r = np.where(orders > 0, recall.sum(axis=-1) / np.maximum(orders, 1), 0.0)
    factor = beta**2
    denominator = factor * avg_p + avg_r
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(denominator > 0, 100.0 * (1 + factor) * avg_p * avg_r / denominator, 0.0)
    return float(score) if score.ndim == 0 else score


def bleu_columns(counts: np.ndarray) -> np.ndarray:
    """(N, 10) BLEU statistics in `metrics.sentence_bleu_stats`' layout from token n-gram counts (order 4)."""
    hyp, ref, match = counts[:, 0], counts[:, 1], counts[:, 2]
    return np.concatenate([match, hyp, hyp[:, :1], ref[:, :1]], axis=1)


def no_layout(tokens: Sequence[str]) -> list[str]:
    """Code tokens without the NEWLINE/INDENT/DEDENT markers."""
    return [t for t in tokens if t not in _LAYOUT]


# ----------------------------------------------------------------------------------------------
# Derangements
# ----------------------------------------------------------------------------------------------


def derangement(n: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random permutation of range(n) with no fixed point (n >= 2), by rejection."""
    if n < 2:
        raise ValueError(f"a derangement needs at least 2 items, got {n}")
    while True:
        perm = rng.permutation(n)
        if not np.any(perm == np.arange(n)):
            return perm


def length_groups(lengths: Sequence[int], groups: int = LENGTH_GROUPS) -> list[np.ndarray]:
    """Indices split into `groups` equal-sized groups by length rank (fewer when there are under 2 per group)."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    count = max(1, min(groups, len(order) // 2))
    return list(np.array_split(order, count))


def grouped_derangement(groups: Sequence[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    """A permutation of range(n) that moves every index to another index of its own group."""
    perm = np.empty(n, dtype=np.int64)
    for group in groups:
        perm[group] = group[derangement(len(group), rng)]
    return perm


def derangements(lengths: Sequence[int], seed: int, count: int = DERANGEMENTS) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(plain, length-matched) lists of `count` seeded derangements of the references."""
    n = len(lengths)
    groups = length_groups(lengths)
    plain = [derangement(n, np.random.default_rng([seed, k])) for k in range(count)]
    matched = [grouped_derangement(groups, n, np.random.default_rng([seed, count + k])) for k in range(count)]
    return plain, matched


# ----------------------------------------------------------------------------------------------
# Scoring systems against true and deranged references
# ----------------------------------------------------------------------------------------------

# Statistic blocks of a system: true references, then each plain and each length-matched derangement.
CHRF_WIDTH, BLEU_WIDTH = 3 * CHAR_ORDER, 2 * MAX_ORDER + 2


@dataclass
class Layout:
    """Where each block of statistics sits in a system's (N, K) matrix."""

    derangements: int = DERANGEMENTS

    @property
    def blocks(self) -> int:
        """Reference sets: the true one, the plain derangements, the length-matched ones."""
        return 1 + 2 * self.derangements

    def chrf(self, block: int) -> slice:
        """Columns of the chrF statistics against reference set `block`."""
        return slice(block * CHRF_WIDTH, (block + 1) * CHRF_WIDTH)

    def bleu(self, block: int) -> slice:
        """Columns of the BLEU statistics against reference set `block`."""
        start = self.blocks * CHRF_WIDTH + block * BLEU_WIDTH
        return slice(start, start + BLEU_WIDTH)

    def bleu_no_layout(self) -> slice:
        """Columns of the BLEU statistics without layout markers (true references only)."""
        start = self.blocks * (CHRF_WIDTH + BLEU_WIDTH)
        return slice(start, start + BLEU_WIDTH)

    def plain(self) -> range:
        """Blocks of the plain derangements."""
        return range(1, 1 + self.derangements)

    def matched(self) -> range:
        """Blocks of the length-matched derangements."""
        return range(1 + self.derangements, self.blocks)


MetricFn = Callable[[np.ndarray, int], np.ndarray]


def _score(metric: Callable[[np.ndarray], np.ndarray], columns: slice) -> MetricFn:
    """Metric function over summed statistics: `metric` of one block of columns."""
    return lambda sums, n: metric(sums[..., columns])


def _gain(metric: Callable[[np.ndarray], np.ndarray], true: slice, shuffled: list[slice]) -> MetricFn:
    """Metric function: the true score minus the mean score over the shuffled blocks (a mean of differences, so a
    constant output gains exactly 0)."""
    return lambda sums, n: np.mean([metric(sums[..., true]) - metric(sums[..., s]) for s in shuffled], axis=0)


def gain_metrics(layout: Layout) -> dict[str, MetricFn]:
    """Every score and gain as a function of a system's summed statistics."""
    chrf, bleu = chrf_from_stats, bleu_from_stats
    return {
        "chrf": _score(chrf, layout.chrf(0)),
        "chrf_gain": _gain(chrf, layout.chrf(0), [layout.chrf(b) for b in layout.matched()]),
        "chrf_gain_plain": _gain(chrf, layout.chrf(0), [layout.chrf(b) for b in layout.plain()]),
        "bleu": _score(bleu, layout.bleu(0)),
        "bleu_gain": _gain(bleu, layout.bleu(0), [layout.bleu(b) for b in layout.matched()]),
        "bleu_gain_plain": _gain(bleu, layout.bleu(0), [layout.bleu(b) for b in layout.plain()]),
        "bleu_no_layout": _score(bleu, layout.bleu_no_layout()),
    }


class GainScorer:
    """The normalised references of a split with their n-grams and derangements, ready to score any outputs."""

    def __init__(self, references: Sequence[str], seed: int, count: int = DERANGEMENTS) -> None:
        self.references = [normalise_code(r) for r in references]
        self.layout = Layout(count)
        self.metrics = gain_metrics(self.layout)
        self.chars, self.tokens, self.bare = NgramTable(CHAR_ORDER), NgramTable(MAX_ORDER), NgramTable(MAX_ORDER)
        ref_tokens = [bleu_tokens(r) for r in self.references]
        self.ref_chars = self.chars.rows([char_ngrams(r) for r in self.references])
        self.ref_tokens = self.tokens.rows([token_ngrams(t) for t in ref_tokens])
        self.ref_bare = self.bare.rows([token_ngrams(no_layout(t)) for t in ref_tokens])
        self.lengths = [len(t) for t in ref_tokens]
        plain, matched = derangements(self.lengths, seed, count)
        self.permutations = [np.arange(len(self.references)), *plain, *matched]

    def stats(self, hypotheses: Sequence[str]) -> np.ndarray:
        """(N, K) statistics of the outputs against every reference set (see `Layout`)."""
        if len(hypotheses) != len(self.references):
            raise ValueError(f"{len(hypotheses)} outputs for {len(self.references)} references")
        distinct = {h: i for i, h in enumerate(dict.fromkeys(hypotheses))}  # n-grams counted once per distinct output
        rows = [distinct[h] for h in hypotheses]
        hyp_tokens = [bleu_tokens(h) for h in distinct]
        chars = self.chars.rows([char_ngrams(h) for h in distinct])[rows]
        tokens = self.tokens.rows([token_ngrams(t) for t in hyp_tokens])[rows]
        bare = self.bare.rows([token_ngrams(no_layout(t)) for t in hyp_tokens])[rows]
        chrf = [chrf_columns(count_stats(self.chars, chars, self.ref_chars[p])) for p in self.permutations]
        bleu = [bleu_columns(count_stats(self.tokens, tokens, self.ref_tokens[p])) for p in self.permutations]
        bleu_bare = bleu_columns(count_stats(self.bare, bare, self.ref_bare))
        return np.hstack([*chrf, *bleu, bleu_bare])

    def scores(self, stats: np.ndarray) -> dict[str, float]:
        """Every metric of `gain_metrics` on a system's statistics."""
        sums = stats.sum(axis=0)
        return {name: float(fn(sums, len(stats))) for name, fn in self.metrics.items()}

    def intervals(self, stats: np.ndarray, n_resamples: int, seed: int, names: Sequence[str] = ("chrf", "chrf_gain")) -> dict[str, list[float]]:
        """95% percentile bootstrap intervals over examples (permutations held fixed) of the named metrics."""
        sums = resample_sums(stats, n_resamples, seed)
        return {name: [float(v) for v in np.percentile(self.metrics[name](sums, len(stats)), [2.5, 97.5])] for name in names}


# ----------------------------------------------------------------------------------------------
# The best constant output
# ----------------------------------------------------------------------------------------------


def constant_sums(table: NgramTable, refs: sparse.csr_matrix, candidates: sparse.csr_matrix) -> np.ndarray:
    """(C, 3, order) corpus sums of each candidate output repeated for every reference: n-grams, clipped matches.

    sum_i min(h_g, r_ig) over references i is taken column by column over the candidate's n-grams only.
    """
    refs_by_column = table.widen(refs).tocsc()
    candidates = table.widen(candidates)
    order_of = np.array(table.order_of, dtype=np.int64) - 1
    ref_totals = np.asarray((refs_by_column @ table.by_order()).sum(axis=0)).ravel()
    out = np.zeros((candidates.shape[0], 3, table.order))
    for c in range(candidates.shape[0]):
        row = candidates.getrow(c)
        columns, counts = row.indices, row.data
        sub = refs_by_column[:, columns]
        per_entry = np.repeat(counts, np.diff(sub.indptr))
        matches = np.bincount(np.repeat(order_of[columns], np.diff(sub.indptr)), weights=np.minimum(sub.data, per_entry),
                              minlength=table.order)
        out[c, 0] = np.bincount(order_of[columns], weights=counts, minlength=table.order) * refs.shape[0]
        out[c, 1] = ref_totals
        out[c, 2] = matches
    return out


def best_constants(candidates: Sequence[str], references: Sequence[str]) -> dict[str, dict[str, object]]:
    """The candidate output that scores highest on the references when returned for all, by chrF and by BLEU.

    References are normalised as in `GainScorer`; returns {"chrf": {...}, "bleu": {...}} with the chosen index,
    its code and its score, and every candidate's score.
    """
    refs = [normalise_code(r) for r in references]
    candidates = [normalise_code(c) for c in candidates]
    chars, tokens = NgramTable(CHAR_ORDER), NgramTable(MAX_ORDER)
    ref_chars = chars.rows([char_ngrams(r) for r in refs])
    ref_tokens = tokens.rows([token_ngrams(bleu_tokens(r)) for r in refs])
    cand_chars = chars.rows([char_ngrams(c) for c in candidates])
    cand_tokens = tokens.rows([token_ngrams(bleu_tokens(c)) for c in candidates])

    char_sums = constant_sums(chars, ref_chars, cand_chars)
    # sacrebleu counts an output's n-grams of an order only against references that have that order
    has_order = (chars.widen(ref_chars) @ chars.by_order()).toarray() > 0  # (N, order)
    char_sums[:, 0] = char_sums[:, 0] / len(refs) * has_order.sum(axis=0)
    chrf = chrf_from_stats(chrf_columns(char_sums))
    bleu = bleu_from_stats(bleu_columns(constant_sums(tokens, ref_tokens, cand_tokens)))
    chosen = {}
    for name, scores in (("chrf", np.atleast_1d(chrf)), ("bleu", np.atleast_1d(bleu))):
        best = int(np.argmax(scores))  # ties: the first candidate
        chosen[name] = {"index": best, "code": candidates[best], "score": float(scores[best]), "scores": scores.tolist()}
    return chosen
