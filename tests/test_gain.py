"""Docstring gain: chrF as sacrebleu computes it, derangements, constants that gain exactly 0."""

import ast
import gzip
import json
import random

import numpy as np
import pytest
import sacrebleu

from seq2seq_lib.evaluation import gain, metrics
from seq2seq_lib.evaluation.gain import GainScorer, best_constants, derangements, normalise_code

SAMPLE = "data/sample/valid.jsonl.gz"




def sacre_bleu(hypotheses: list[str], references: list[str]) -> float:
    """sacrebleu's corpus BLEU of code over `metrics.bleu_tokens` ("exp" smoothing, its default)."""
    joined = [[" ".join(metrics.bleu_tokens(c)) for c in side] for side in (hypotheses, references)]
    return sacrebleu.corpus_bleu(joined[0], [joined[1]], tokenize="none").score

@pytest.fixture(scope="module")
def codes():
    """120 functions of the committed sample corpus."""
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as lines:
        return [json.loads(line)["func_code_string"] for line in lines][:120]


def test_normalisation_is_what_the_targets_see():
    code = "def f(a,b):   # add\n    return a+b\n"
    assert normalise_code(code) == "def f(a, b):\n    return a + b\n"
    assert normalise_code(normalise_code(code)) == normalise_code(code)


def test_chrf_on_a_hand_checked_pair():
    # "ab" vs "ac": unigrams a,b vs a,c (1 of 2 match), bigrams ab vs ac (0 of 1); orders 3-6 empty on both sides
    # precision = recall = (1/2 + 0/1) / 2 = 0.25 over the 2 effective orders, so chrF = 25
    scorer = GainScorer(["ac", "zz"], seed=0)
    assert scorer.scores(scorer.stats(["ab", "zz"]))["chrf"] == pytest.approx(sacrebleu.corpus_chrf(["ab", "zz"], [["ac", "zz"]]).score)
    stats = scorer.stats(["ab", "xy"])
    assert gain.chrf_from_stats(stats[:1, scorer.layout.chrf(0)].sum(0)) == pytest.approx(25.0)


def test_chrf_and_bleu_equal_sacrebleu_against_true_and_deranged_references(codes):
    references = codes[:60]
    outputs = [random.Random(i).choice(codes[60:]) for i in range(60)]
    outputs[3], outputs[7] = "", "x"  # an empty output and one without any n-gram of order 2 or more
    scorer = GainScorer(references, seed=3)
    stats = scorer.stats(outputs)
    refs = scorer.references
    assert scorer.scores(stats)["chrf"] == pytest.approx(sacrebleu.corpus_chrf(outputs, [refs]).score, abs=1e-9)
    assert scorer.scores(stats)["bleu"] == pytest.approx(sacre_bleu(outputs, refs), abs=1e-9)
    for block, perm in enumerate(scorer.permutations):
        shuffled = [refs[i] for i in perm]
        assert gain.chrf_from_stats(stats[:, scorer.layout.chrf(block)].sum(0)) == pytest.approx(
            sacrebleu.corpus_chrf(outputs, [shuffled]).score, abs=1e-9)
    bare = [" ".join(gain.no_layout(metrics.bleu_tokens(c))) for c in (outputs, refs)[0]]
    bare_refs = [" ".join(gain.no_layout(metrics.bleu_tokens(r))) for r in refs]
    expected = sacrebleu.corpus_bleu(bare, [bare_refs], tokenize="none", smooth_method="exp").score
    assert scorer.scores(stats)["bleu_no_layout"] == pytest.approx(expected, abs=1e-9)


def test_a_constant_output_gains_exactly_zero(codes):
    scorer = GainScorer(codes, seed=1)
    scores = scorer.scores(scorer.stats([codes[5]] * len(codes)))
    assert scores["chrf"] > 0
    for name in ("chrf_gain", "chrf_gain_plain", "bleu_gain", "bleu_gain_plain"):
        assert scores[name] == 0.0


def test_repeated_outputs_get_the_statistics_each_would_get_alone(codes):
    scorer = GainScorer(codes, seed=1)
    outputs = [codes[(7 * i) % 5] for i in range(len(codes))]  # 5 distinct outputs, repeated out of order
    stats = scorer.stats(outputs)
    for i in (0, 1, 5, 119):
        fresh = GainScorer(codes, seed=1)  # a scorer that has counted nothing else
        alone = fresh.stats([outputs[i] if j == i else codes[j] for j in range(len(codes))])
        np.testing.assert_array_equal(stats[i], alone[i])


def test_returning_the_references_scores_the_maximum_and_gains(codes):
    scorer = GainScorer(codes, seed=1)
    scores = scorer.scores(scorer.stats(scorer.references))
    assert scores["chrf"] == pytest.approx(100.0) and scores["bleu"] == pytest.approx(100.0)
    assert scores["chrf_gain"] > 50 and scores["chrf_gain_plain"] > 50 and scores["bleu_gain"] > 50
    intervals = scorer.intervals(scorer.stats(scorer.references), 200, seed=0)
    low, high = intervals["chrf_gain"]
    assert low <= scores["chrf_gain"] <= high


def test_derangements_are_seeded_move_every_reference_and_match_lengths():
    lengths = [random.Random(0).randrange(5, 300) for _ in range(95)]
    plain, matched = derangements(lengths, seed=7)
    again_plain, again_matched = derangements(lengths, seed=7)
    other_plain, _ = derangements(lengths, seed=8)
    assert len(plain) == len(matched) == gain.DERANGEMENTS
    assert all(np.array_equal(a, b) for a, b in zip(plain + matched, again_plain + again_matched))
    assert not all(np.array_equal(a, b) for a, b in zip(plain, other_plain))
    groups = gain.length_groups(lengths)
    group_of = {int(i): g for g, members in enumerate(groups) for i in members}
    assert len(groups) == gain.LENGTH_GROUPS
    for perm in plain + matched:
        assert sorted(perm.tolist()) == list(range(len(lengths)))  # a permutation
        assert not np.any(perm == np.arange(len(lengths)))  # no fixed point
    for perm in matched:
        assert all(group_of[i] == group_of[int(j)] for i, j in enumerate(perm))  # within a decile of length
    with pytest.raises(ValueError):
        gain.derangement(1, np.random.default_rng(0))


def test_only_a_length_predictor_gains_nothing_length_matched():
    # outputs that carry only the reference's length: "x = 1" repeated as many lines as the reference has
    references = [f"def f{i}():\n" + "    y = 2\n" * (1 + i // 10) for i in range(100)]
    outputs = ["x = 1\n" * (1 + i // 10) for i in range(100)]
    scores = GainScorer(references, seed=0).scores(GainScorer(references, seed=0).stats(outputs))
    assert abs(scores["chrf_gain"]) < 0.5 < scores["chrf_gain_plain"]


def test_best_constants_is_the_argmax_of_repeating_each_candidate(codes):
    candidates, references = codes[:12], codes[40:100]
    chosen = best_constants(candidates, references)
    scorer = GainScorer(references, seed=0)
    by_chrf = [scorer.scores(scorer.stats([normalise_code(c)] * len(references)))["chrf"] for c in candidates]
    by_bleu = [sacre_bleu([normalise_code(c)] * len(references), scorer.references) for c in candidates]
    assert chosen["chrf"]["scores"] == pytest.approx(by_chrf, abs=1e-9)
    assert chosen["bleu"]["scores"] == pytest.approx(by_bleu, abs=1e-9)
    assert chosen["chrf"]["index"] == int(np.argmax(by_chrf)) and chosen["bleu"]["index"] == int(np.argmax(by_bleu))


def test_constants_are_chosen_without_reading_the_test_split(tmp_path, monkeypatch):
    from seq2seq_lib.evaluation import evaluate as evaluation
    from seq2seq_lib.config import load_config, profile_config_path

    real = evaluation.load_records
    seen = []

    def spy(config, split):
        seen.append(split)
        if split == "test":
            raise AssertionError("the constants read the test split")
        return real(config, split)

    monkeypatch.setattr(evaluation, "load_records", spy)
    monkeypatch.setattr(evaluation, "training_records", lambda config: real(config, "train")[:400])
    monkeypatch.setattr(evaluation, "CONSTANT_CANDIDATES", 20)
    config = load_config(profile_config_path("smoke"))
    chosen = evaluation.choose_constants(config, tmp_path)
    assert seen == ["valid"] and (tmp_path / "constants.json").is_file()
    assert chosen["candidates"] == 20 and chosen["chrf"]["valid_score"] > 0
    assert evaluation.choose_constants(config, tmp_path) == chosen  # reused, not recomputed


def test_compiles_is_stricter_than_parses():
    for code in ("def f(a, a):\n    pass\n", "f(x=1, x=2)\n", "return 1\n"):
        assert ast.parse(code) and not metrics.compiles(code)
    assert metrics.compiles("def f(a):\n    return a\n")
    assert not metrics.compiles("") and not metrics.compiles("def f(:\n")
    assert [metrics.compiles(c) for c in ["def f(a, a): pass", "x = 1", ""]] == [False, True, False]
