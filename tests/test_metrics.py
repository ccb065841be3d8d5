"""Metrics on hand-checked examples, cross-checked against sacrebleu and NLTK."""

import math
import random
import warnings

import numpy as np
import pytest
import sacrebleu
from nltk.translate.bleu_score import corpus_bleu as nltk_corpus_bleu

from seq2seq_lib.evaluation import gain as G
from seq2seq_lib.evaluation import metrics as M

SNIPPET = """def add(a, b=1.5e-3):  # adds
    # a comment line

    if a:
        return 'x y'
    return a + b
"""
SNIPPET_TOKENS = [
    "def", "add", "(", "a", ",", "b", "=", "1.5e-3", ")", ":", "<newline>",
    "<indent>", "if", "a", ":", "<newline>",
    "<indent>", "return", "'x y'", "<newline>",
    "<dedent>", "return", "a", "+", "b", "<newline>", "<dedent>",
]
BROKEN = [
    "def f(:\n    return (1,",
    "def f():\n        x = 1\n    y = 2\n",
    "x = '''never closed\n  y",
    "def f():\n\treturn $ ?",
    "\x00",
    ")))",
]


def random_corpus(seed: int, n: int, min_hyp_len: int = 0) -> tuple[list, list]:
    """Random token-list pairs with partial overlap, from a small vocabulary."""
    rng = random.Random(seed)
    vocab = "a b c d e f ( ) : = + return def if".split()
    refs = [[rng.choice(vocab) for _ in range(rng.randint(4, 30))] for _ in range(n)]
    hyps = []
    for ref in refs:
        noisy = [t if rng.random() < 0.7 else rng.choice(vocab) for t in ref]
        hyps.append(noisy[: rng.randint(min_hyp_len, len(noisy) + 3)])
    return hyps, refs


def bleu_stats(hyps: list[list[str]], refs: list[list[str]]) -> np.ndarray:
    """(N, 10) BLEU statistics of token lists, as the evaluation computes them (gain.GainScorer)."""
    table = G.NgramTable(M.MAX_ORDER)
    rows = [table.rows([G.token_ngrams(t) for t in side]) for side in (hyps, refs)]
    return G.bleu_columns(G.count_stats(table, *rows))


def sacre_bleu(hyps: list[str], refs: list[str]) -> float:
    """sacrebleu's corpus BLEU of code over `bleu_tokens`."""
    joined = [[" ".join(M.bleu_tokens(c)) for c in side] for side in (hyps, refs)]
    return sacrebleu.corpus_bleu(joined[0], [joined[1]], tokenize="none").score


# --- code tokens -------------------------------------------------------------------------------


def test_code_tokens_keeps_literals_and_layout_and_drops_comments():
    assert M.code_tokens(SNIPPET) == SNIPPET_TOKENS


def test_code_tokens_trailing_newline_and_empty_input():
    assert M.code_tokens("x = 1") == M.code_tokens("x = 1\n") == ["x", "=", "1", "<newline>"]
    assert M.code_tokens("") == []


@pytest.mark.parametrize("code", BROKEN)
def test_code_tokens_broken_code_does_not_crash(code):
    tokens = M.code_tokens(code)
    assert isinstance(tokens, list) and all(isinstance(t, str) and t for t in tokens)


def test_fallback_tokenizer_agrees_with_tokenize_on_valid_code():
    assert M._fallback_tokens(SNIPPET) == SNIPPET_TOKENS
    expected = ["def", "f", "(", ":", "return", "(", "1", ",", "<newline>"]
    assert M.code_tokens("def f(:\n    return (1,") == expected


def test_code_tokens_keep_f_strings_whole():
    code = 'x = f"a {b!r:>{w}} c" + f"q{z}"\n'
    assert M.code_tokens(code) == ["x", "=", 'f"a {b!r:>{w}} c"', "+", 'f"q{z}"', "<newline>"]


def test_bleu_tokens_keep_string_literals_one_token():
    assert M.bleu_tokens("s = 'a b'") == ["s", "=", "'a\u2581b'", "<newline>"]


# --- BLEU --------------------------------------------------------------------------------------


def test_hand_computed_bleu():
    hyp, ref = "a b c d e f".split(), "a b c d e g h".split()
    stats = bleu_stats([hyp], [ref])
    assert stats[0].tolist() == [5, 4, 3, 2, 6, 5, 4, 3, 6, 7]
    # precisions 5/6, 4/5, 3/4, 2/3 (product 1/3); brevity penalty exp(1 - 7/6)
    expected = 100 * math.exp(1 - 7 / 6) * (1 / 3) ** 0.25
    assert M.bleu_from_stats(stats[0]) == pytest.approx(expected, abs=1e-9)
    raw = sacrebleu.corpus_bleu([" ".join(hyp)], [[" ".join(ref)]], tokenize="none").score
    assert raw == pytest.approx(expected, abs=1e-9)


def test_ngram_matches_are_clipped():
    assert bleu_stats([["the"] * 3], [["the", "cat"]])[0, :4].tolist() == [1, 0, 0, 0]


def test_bleu_of_summed_stats_equals_sacrebleu():
    hyps, refs = random_corpus(0, 300)
    hyp_code, ref_code = [" ".join(h) for h in hyps], [" ".join(r) for r in refs]
    stats = bleu_stats([M.bleu_tokens(h) for h in hyp_code], [M.bleu_tokens(r) for r in ref_code])
    assert stats.shape == (300, 10)
    assert M.bleu_from_stats(stats.sum(axis=0)) == pytest.approx(sacre_bleu(hyp_code, ref_code), abs=1e-9)


def test_bleu_from_stats_matches_sacrebleu_row_by_row_including_smoothing():
    hyps, refs = random_corpus(1, 200)
    stats = bleu_stats(hyps, refs)
    vectorised = M.bleu_from_stats(stats)
    for row, value in zip(stats, vectorised):
        ref = sacrebleu.metrics.BLEU.compute_bleu(
            list(row[:4]), list(row[4:8]), int(row[8]), int(row[9]), smooth_method="exp"
        ).score
        assert value == pytest.approx(ref, abs=1e-9)


def test_corpus_bleu_equals_nltk_when_no_precision_is_zero():
    # NLTK counts a denominator of at least 1 per sentence and does not smooth, so compare on
    # outputs of at least 4 tokens where every corpus-level n-gram precision is positive.
    hyps, refs = random_corpus(2, 300, min_hyp_len=4)
    stats = bleu_stats(hyps, refs).sum(axis=0)
    assert (stats[:4] > 0).all()
    nltk_score = 100 * nltk_corpus_bleu([[r] for r in refs], hyps)
    assert M.bleu_from_stats(stats) == pytest.approx(nltk_score, abs=1e-6)


def test_bleu_degenerate_cases():
    assert M.bleu_from_stats(np.zeros(10)) == 0.0
    assert M.bleu_from_stats(bleu_stats([[]], [M.bleu_tokens("def f():\n    return 1\n")])[0]) == 0.0
    assert M.bleu_from_stats(bleu_stats([["x", "<newline>"]], [["x", "<newline>"]])[0]) == 0.0  # no 3- or 4-grams


# --- compiling, distinct outputs ---------------------------------------------------------------


def test_compiles_is_stricter_than_parsing_and_quiet():
    outputs = ["def f():\n    return 1\n", "def f(:\n", "x = 1", "def f(a, a):\n    pass\n", ""]
    assert [M.compiles(o) for o in outputs] == [True, False, True, False, False]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert M.compiles('x = "\\d"')
    assert not M.compiles("\x00")


def test_distinct_share():
    assert M.distinct_share(["a", "a", "b", "c"]) == 0.75
    assert M.distinct_share([]) == 0.0


# --- bootstrap ---------------------------------------------------------------------------------


def system_stats(seed: int, keep: float, n: int = 400) -> np.ndarray:
    """BLEU statistics of a noisy copy of random references that keeps each token with probability `keep`."""
    rng = random.Random(seed)
    vocab = "a b c d e f g h i j".split()
    refs = [[rng.choice(vocab) for _ in range(rng.randint(5, 25))] for _ in range(n)]
    hyps = [[t if rng.random() < keep else rng.choice(vocab) for t in r] for r in refs]
    return bleu_stats(hyps, refs)


def bleu_metric(sums: np.ndarray, n: int) -> np.ndarray:
    """BLEU as a metric function of summed statistics."""
    return M.bleu_from_stats(sums)


def test_resample_sums_equal_naive_resampling():
    stats = np.arange(30, dtype=float).reshape(10, 3)
    index = np.random.default_rng(7).integers(0, 10, size=(50, 10))
    assert np.allclose(M.resample_sums(stats, 50, seed=7), stats[index].sum(axis=1))


def test_paired_bootstrap_prefers_the_better_system():
    good, bad = system_stats(0, keep=0.8), system_stats(0, keep=0.6)
    result = M.paired_bootstrap(good, bad, bleu_metric, n_resamples=500, seed=1)
    assert result["delta"] > 0 and result["delta_low"] > 0
    assert result["win_rate"] > 0.95 and result["p_value"] < 0.05
    reverse = M.paired_bootstrap(bad, good, bleu_metric, 500, seed=1)
    assert reverse["win_rate"] < 0.05 and reverse["mean_delta"] < 0
    assert M.paired_bootstrap(good, bad, bleu_metric, 500, seed=1) == result  # seeded
    with pytest.raises(ValueError):
        M.paired_bootstrap(good, bad[:10], bleu_metric)


# --- length buckets ----------------------------------------------------------------------------


def test_length_buckets_and_their_labels():
    assert M.length_buckets([0, 2, 3, 5, 6, 100], [3, 6]).tolist() == [0, 0, 1, 1, 2, 2]
    assert [M.bucket_label(b, [3, 6]) for b in range(3)] == ["<3", "3-5", ">=6"]
    with pytest.raises(ValueError):
        M.length_buckets([1], [5, 5])
