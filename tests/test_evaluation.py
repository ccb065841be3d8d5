"""End-to-end evaluation of the smoke checkpoints: result files, schema, and numbers that recompute."""

import pytest

from seq2seq_lib import metrics
from seq2seq_lib.evaluation import load_summaries, recompute_bleu
from seq2seq_lib.experiment import load_records, run_paths, sample_records
from seq2seq_lib.io_utils import read_json


@pytest.mark.slow
def test_smoke_evaluation_results(smoke_run):
    config = smoke_run
    results_dir = run_paths(config).results_dir
    test_records = load_records(config, "test")
    summaries = load_summaries(results_dir)
    systems = [s["system"] for s in summaries]
    assert systems[:3] == ["rnn", "lstm", "attention"]
    assert any(s.startswith("retrieval") for s in systems) and any(s.startswith("trivial") for s in systems)

    for name in config.models:
        path = results_dir / name / "evaluation_results.json"
        result = read_json(path)
        assert result["split"] == "test" and result["config"]["profile"] == "smoke"
        assert result["checkpoint"].endswith(f"{name}/checkpoint.pt")
        assert len(result["examples"]) == len(test_records)  # every test pair, none dropped for length
        example = result["examples"][0]
        assert {"docstring", "reference", "generated", "sentence_bleu", "token_accuracy", "exact", "parses"} <= set(example)
        assert recompute_bleu(path) == pytest.approx(result["metrics"]["bleu"], abs=1e-9)
        assert recompute_bleu(path, parsing_only=True) == pytest.approx(result["metrics"]["bleu_parsing_only"], abs=1e-9)
        generated = [e["generated"] for e in result["examples"]]
        assert result["metrics"]["syntax_valid"] == pytest.approx(metrics.syntax_validity(generated))
        low, high = result["ci95"]["bleu"]
        assert low <= result["metrics"]["bleu"] <= high
        assert sum(row["count"] for row in result["by_code_length"]) == len(test_records)

    significance = read_json(results_dir / "significance_test.json")
    assert set(significance) == {"rnn vs lstm", "rnn vs attention", "lstm vs attention"}
    table = (results_dir / "comparison.md").read_text()
    assert table.startswith("| system | BLEU |") and "retrieval" in table


def test_evaluation_samples_are_seeded_spread_and_in_file_order():
    records = [{"package": f"p{i // 100}", "i": i} for i in range(1000)]  # stored package by package
    sample = sample_records(records, 100)
    assert sample == sample_records(records, 100) and len(sample) == 100
    assert [r["i"] for r in sample] == sorted(r["i"] for r in sample)
    assert len({r["package"] for r in sample}) == 10  # the first 100 pairs would all be p0
    assert sample_records(records, None) is records and sample_records(records, 5000) is records
