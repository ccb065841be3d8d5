"""Metrics on hand-checked examples, cross-checked against sacrebleu and NLTK."""

import json
import logging
import math
import random
import sys
import time
import warnings

import numpy as np
import pytest
import sacrebleu
import torch
from nltk.translate.bleu_score import corpus_bleu as nltk_corpus_bleu

from seq2seq_lib import metrics as M

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
    stats = M.sentence_bleu_stats(hyp, ref)
    assert stats == [5, 4, 3, 2, 6, 5, 4, 3, 6, 7]
    # precisions 5/6, 4/5, 3/4, 2/3 (product 1/3); brevity penalty exp(1 - 7/6)
    expected = 100 * math.exp(1 - 7 / 6) * (1 / 3) ** 0.25
    assert M.bleu_from_stats(np.array(stats)) == pytest.approx(expected, abs=1e-9)
    raw = sacrebleu.corpus_bleu([" ".join(hyp)], [[" ".join(ref)]], tokenize="none").score
    assert raw == pytest.approx(expected, abs=1e-9)


def test_ngram_matches_are_clipped():
    assert M.sentence_bleu_stats(["the"] * 3, ["the", "cat"])[:4] == [1, 0, 0, 0]


def test_corpus_bleu_equals_summed_stats_and_sacrebleu():
    hyps, refs = random_corpus(0, 300)
    hyp_code, ref_code = [" ".join(h) for h in hyps], [" ".join(r) for r in refs]
    stats = M.bleu_stats([M.bleu_tokens(h) for h in hyp_code], [M.bleu_tokens(r) for r in ref_code])
    assert stats.shape == (300, 10)
    from_stats = M.bleu_from_stats(stats.sum(axis=0))
    assert from_stats == pytest.approx(M.corpus_bleu(hyp_code, ref_code), abs=1e-9)
    joined = sacrebleu.corpus_bleu(
        [" ".join(M.bleu_tokens(h)) for h in hyp_code],
        [[" ".join(M.bleu_tokens(r)) for r in ref_code]],
        tokenize="none",
    )
    assert from_stats == pytest.approx(joined.score, abs=1e-9)


def test_bleu_from_stats_matches_sacrebleu_row_by_row_including_smoothing():
    hyps, refs = random_corpus(1, 200)
    stats = M.bleu_stats(hyps, refs)
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
    stats = M.bleu_stats(hyps, refs).sum(axis=0)
    assert (stats[:4] > 0).all()
    nltk_score = 100 * nltk_corpus_bleu([[r] for r in refs], hyps)
    assert M.bleu_from_stats(stats) == pytest.approx(nltk_score, abs=1e-6)


def test_bleu_degenerate_cases():
    assert M.bleu_from_stats(np.zeros(10)) == 0.0
    assert M.corpus_bleu([""], ["def f():\n    return 1\n"]) == 0.0
    assert M.corpus_bleu(["x"], ["x"]) == 0.0  # 2 tokens: no 3- or 4-grams, as in sacrebleu
    with pytest.raises(ValueError):
        M.corpus_bleu(["a"], [])


def test_smoothed_sentence_bleu_hand_computed():
    hyp, ref = "a b c d e f".split(), "a b c d e g h".split()
    # CodeXGLUE: unigram 5/6, then add-one (4+1)/(5+1), (3+1)/(4+1), (2+1)/(3+1);
    # brevity penalty min(0, 1 - (7 + 1) / (6 + 1)) in log space
    log_p = (math.log(5 / 6) + math.log(5 / 6) + math.log(4 / 5) + math.log(3 / 4)) / 4
    expected = 100 * math.exp(log_p + 1 - 8 / 7)
    assert M.sentence_bleu_smoothed(hyp, ref) == pytest.approx(expected, abs=1e-9)
    assert M.sentence_bleu_smoothed(ref, ref) == pytest.approx(100.0)
    assert M.sentence_bleu_smoothed([], ref) == pytest.approx(100 * math.exp(-7))
    assert M.sentence_bleu_smoothed(["z"], ref) < 1e-70  # log(0 + float_info.min) / 4


# --- token accuracy, exact match, syntax ------------------------------------------------------


def test_token_accuracy_positional():
    assert M.token_accuracy(["a", "b", "c"], ["a", "x", "c", "d"]) == 0.5
    assert M.token_accuracy(["a", "b", "c", "d", "e"], ["a", "b", "c"]) == 1.0
    assert M.token_accuracy(["b", "c"], ["a", "b", "c"]) == 0.0
    assert M.token_accuracy([], ["a"]) == 0.0
    assert M.token_accuracy([], []) == 1.0


def test_teacher_forced_accuracy_ignores_padding():
    targets = torch.tensor([[5, 6, 0], [7, 0, 0]])
    logits = torch.zeros(2, 3, 10)
    logits[0, 0, 5] = logits[0, 1, 1] = logits[1, 0, 7] = 1.0
    logits[0, 2, 0] = 1.0  # a correct "prediction" of padding must not count
    assert M.teacher_forced_accuracy(logits, targets, pad_id=0) == (2, 3)


def test_exact_match_ignores_whitespace_and_comments():
    assert M.exact_match("def f():\n    return 1  # one\n", "def f():\n\n  return  1")
    assert not M.exact_match("def f():\n    return 1\n", "def f():\n    return 2\n")


def test_syntax_validity_counts_and_is_quiet():
    outputs = ["def f():\n    return 1\n", "def f(:\n", "x = 1", "def f():\nreturn 1\n"]
    assert M.syntax_validity(outputs) == 0.5
    assert M.syntax_validity([]) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert M.parses('x = "\\d"')
    assert not M.parses("\x00")


def test_distinct_share():
    assert M.distinct_share(["a", "a", "b", "c"]) == 0.75
    assert M.distinct_share([]) == 0.0


# --- CodeBLEU ----------------------------------------------------------------------------------


def test_codebleu_on_identical_code():
    pytest.importorskip("codebleu")
    code = "def add(a, b):\n    return a + b\n"
    scores = M.codebleu_score([code], [code])
    assert scores is not None and scores["codebleu"] == pytest.approx(100.0)


def test_codebleu_failure_returns_none_and_logs(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "codebleu", None)  # makes the import fail
    with caplog.at_level(logging.WARNING):
        assert M.codebleu_score(["x = 1"], ["x = 1"]) is None
    assert "CodeBLEU skipped" in caplog.text


# --- evaluate_outputs --------------------------------------------------------------------------

REFS = [
    "def f(a):\n    return a + 1\n",
    "def g():\n    return [1, 2, 3]\n",
    "def h(x, y):\n    return x * y\n",
]


def test_evaluate_identical_outputs_score_perfectly():
    result = M.evaluate_outputs(REFS, REFS, n_resamples=200, with_codebleu=False)
    metrics = result["metrics"]
    assert metrics["bleu"] == pytest.approx(100.0)
    assert metrics["sentence_bleu"] == pytest.approx(100.0)
    assert metrics["exact_match"] == metrics["token_accuracy"] == metrics["syntax_valid"] == 1.0
    assert metrics["distinct_share"] == 1.0 and metrics["codebleu"] is None
    assert all(e["exact"] and e["token_accuracy"] == 1.0 for e in result["per_example"])
    assert result["ci"]["bleu"] == pytest.approx([100.0, 100.0])
    json.dumps(result)


def test_evaluate_empty_and_longer_outputs():
    hyps = ["", REFS[1] + "x = 1\n", "def h(x, y):\n    return x *"]
    result = M.evaluate_outputs(hyps, REFS, n_resamples=0, with_codebleu=False)
    empty, longer, broken = result["per_example"]
    assert empty["hyp_len"] == 0 and empty["token_accuracy"] == 0.0 and not empty["exact"]
    assert not empty["parses"]  # an empty output is no function, so it does not count as valid
    assert longer["token_accuracy"] == 1.0 and not longer["exact"] and longer["sentence_bleu"] < 100
    assert not broken["parses"]
    assert result["metrics"]["syntax_valid"] == pytest.approx(1 / 3)
    assert M.parsing_only(hyps) == ["", hyps[1], ""] == M.parsing_only(hyps, [False, True, False])
    assert result["metrics"]["bleu_parsing_only"] == pytest.approx(M.corpus_bleu(["", hyps[1], ""], REFS))
    assert result["metrics"]["bleu_parsing_only"] < result["metrics"]["bleu"]  # the broken output's n-grams no longer count
    matches = sum(e["token_matches"] for e in result["per_example"])
    ref_len = sum(e["ref_len"] for e in result["per_example"])
    assert result["metrics"]["token_accuracy"] == pytest.approx(matches / ref_len)
    assert result["ci"] == {}


def test_evaluate_reports_codebleu_when_available():
    pytest.importorskip("codebleu")
    result = M.evaluate_outputs(REFS, REFS, n_resamples=0)
    assert result["metrics"]["codebleu"] == pytest.approx(100.0)


# --- bootstrap ---------------------------------------------------------------------------------


def system_stats(seed: int, keep: float, n: int = 400) -> np.ndarray:
    """Statistics of a synthetic system that copies each reference token with probability keep."""
    rng = random.Random(seed)
    refs = [" ".join(rng.choice("abcdefgh") for _ in range(rng.randint(5, 20))) for _ in range(n)]
    hyps = [" ".join(t if rng.random() < keep else "z" for t in r.split()) for r in refs]
    return M.stats_matrix([M.example_scores(h, r) for h, r in zip(hyps, refs)])


def test_resample_sums_equal_naive_resampling():
    stats = np.arange(30, dtype=float).reshape(10, 3)
    index = np.random.default_rng(7).integers(0, 10, size=(50, 10))
    assert np.allclose(M.resample_sums(stats, 50, seed=7), stats[index].sum(axis=1))


def test_bootstrap_ci_contains_point_estimate_and_is_deterministic():
    stats = system_stats(0, keep=0.7)
    point = M.headline_metrics(stats)
    for name, fn in M.HEADLINE_METRICS.items():
        low, high = M.bootstrap_ci(stats, fn, n_resamples=500, seed=3)
        assert low <= point[name] <= high, name
        assert M.bootstrap_ci(stats, fn, n_resamples=500, seed=3) == (low, high)
    bleu = M.HEADLINE_METRICS["bleu"]
    low, high = M.bootstrap_ci(stats, bleu, 500, seed=3)
    assert low < high and M.bootstrap_ci(stats, bleu, 500, seed=4) != (low, high)


def test_paired_bootstrap_prefers_the_better_system():
    good, bad = system_stats(0, keep=0.8), system_stats(0, keep=0.6)
    result = M.paired_bootstrap(good, bad, n_resamples=500, seed=1)
    assert result["delta"] > 0 and result["delta_low"] > 0
    assert result["win_rate"] > 0.95 and result["p_value"] < 0.05
    reverse = M.paired_bootstrap(bad, good, M.HEADLINE_METRICS["token_accuracy"], 500, seed=1)
    assert reverse["win_rate"] < 0.05 and reverse["mean_delta"] < 0
    with pytest.raises(ValueError):
        M.paired_bootstrap(good, bad[:10])


def test_bootstrap_is_fast_on_5000_sentences():
    stats = np.tile(system_stats(0, keep=0.7), (13, 1))[:5000]
    start = time.perf_counter()
    M.bootstrap_ci(stats, M.HEADLINE_METRICS["bleu"], n_resamples=1000, seed=0)
    assert time.perf_counter() - start < 5.0


# --- length breakdown --------------------------------------------------------------------------


def test_length_buckets():
    assert M.length_buckets([0, 2, 3, 5, 6, 100], [3, 6]).tolist() == [0, 0, 1, 1, 2, 2]
    with pytest.raises(ValueError):
        M.length_buckets([1], [5, 5])


def test_breakdown_by_length():
    hyps = ["def f():\n    return 1\n", "x = 1", REFS[2]]
    examples = M.evaluate_outputs(hyps, REFS, n_resamples=0, with_codebleu=False)["per_example"]
    for example, doc_len in zip(examples, [2, 12, 30]):
        example["doc_len"] = doc_len
    rows = M.breakdown_by_length(examples, "doc_len", [5, 10, 20])
    assert [(r["bucket"], r["count"]) for r in rows] == [("<5", 1), ("10-19", 1), (">=20", 1)]
    assert rows[2]["bleu"] == pytest.approx(100.0) and rows[2]["token_accuracy"] == 1.0
    assert rows[0]["bleu"] == pytest.approx(M.corpus_bleu(hyps[:1], REFS[:1]))


def test_length_ratio_is_generated_over_reference_tokens():
    result = M.evaluate_outputs(["def f():\n    pass\n", ""], ["def f():\n    return 1\n", "x = 1\n"], n_resamples=0, with_codebleu=False)
    hyp = len(M.code_tokens("def f():\n    pass\n"))
    ref = len(M.code_tokens("def f():\n    return 1\n")) + len(M.code_tokens("x = 1\n"))
    assert result["metrics"]["length_ratio"] == pytest.approx(hyp / ref)



def test_code_names_are_the_identifiers_without_keywords_self_or_cls():
    code = "def get_user(self, name=None):\n    return self.users.get(name) or cls.default"
    assert M.code_names(code) == {"get_user", "name", "users", "get", "default"}


def test_name_recall_pools_the_reference_names_each_output_also_uses():
    references = ["def get_user(self, name):\n    return self.users[name]", "def size(items):\n    return len(items)"]
    hypotheses = ["def get_user(self, key):\n    return self.users[key]", "def count(x):\n    pass"]
    # reference names {get_user, name, users} and {size, items, len}: the first output uses 2, the second 0
    assert M.name_recall(hypotheses, references) == pytest.approx(2 / 6)
    assert M.name_recall(references, references) == 1.0
    assert M.name_recall(["x = 1"], ["pass"]) == 0.0  # nothing to find
