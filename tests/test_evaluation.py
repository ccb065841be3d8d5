"""End-to-end evaluation of the smoke checkpoints: result files, schema, and numbers that recompute."""

import csv

import pytest

from seq2seq_lib.evaluation import metrics
from seq2seq_lib.evaluation.results import TABLE_COLUMNS, load_summaries
from seq2seq_lib.evaluation.gain import GainScorer
from seq2seq_lib.data.records import load_records, sample_records
from seq2seq_lib.paths import run_paths
from seq2seq_lib.io_utils import read_json


@pytest.mark.slow
def test_smoke_evaluation_results(smoke_run):
    config = smoke_run
    results_dir = run_paths(config).results_dir
    test_records = load_records(config, "test")
    summaries = load_summaries(results_dir)
    systems = [s["system"] for s in summaries]
    assert systems == ["rnn", "lstm", "attention", "retrieval", "constant (chrF)", "constant (BLEU)"]
    constant = next(s for s in summaries if s["system"] == "constant (chrF)")
    assert constant["metrics"]["chrf_gain"] == 0.0 and constant["metrics"]["bleu_gain"] == 0.0

    for name in config.models:
        path = results_dir / name / "evaluation_results.json"
        result = read_json(path)
        assert result["split"] == "test" and result["config"]["profile"] == "smoke"
        assert result["checkpoint"].endswith(f"{name}/checkpoint.pt")
        assert len(result["examples"]) == len(test_records)  # every test pair, none dropped for length
        example = result["examples"][0]
        assert {"docstring", "reference", "generated", "hyp_len", "ref_len", "doc_len", "compiles"} <= set(example)
        generated = [e["generated"] for e in result["examples"]]
        scorer = GainScorer([r["func_code_string"] for r in test_records], seed=config.seed)
        recomputed = scorer.scores(scorer.stats(generated))  # the numbers follow from the stored outputs
        assert {k: result["metrics"][k] for k in recomputed} == pytest.approx(recomputed, abs=1e-9)
        low, high = result["ci95"]["bleu"]
        assert low <= result["metrics"]["bleu"] <= high
        assert sum(row["count"] for row in result["by_code_length"]) == len(test_records)
        for row in result["by_docstring_length"]:
            low, high = row["ci95"]["chrf_gain"]
            assert low <= row["chrf_gain"] <= high, row
        assert result["metrics"]["compiles"] == pytest.approx(sum(map(metrics.compiles, generated)) / len(generated))
        for metric in ("chrf", "chrf_gain"):
            low, high = result["ci95"][metric]
            assert low <= result["metrics"][metric] <= high
        assert result["loss_true"] > 0 and result["loss_shuffled"] > 0

    significance = read_json(results_dir / "significance_test.json")
    assert len(significance) == 15 and "rnn vs constant (BLEU)" in significance  # every pair of the six systems
    assert set(significance["rnn vs attention"]) == {"chrf", "chrf_gain"}
    rows = list(csv.DictReader((results_dir / "comparison.csv").open()))
    assert tuple(rows[0]) == TABLE_COLUMNS and [r["system"] for r in rows] == systems
    assert all(float(r["chrf_lo"]) <= float(r["chrf"]) <= float(r["chrf_hi"]) for r in rows)
    assert rows[3]["loss_true"] == "" and float(rows[0]["loss_true"]) > 0  # baselines have no loss
    table = (results_dir / "comparison.md").read_text()
    assert table.startswith("| system | chrF [95% CI] | chrF gain, length-matched [95% CI] |") and "retrieval" in table


def test_evaluation_samples_are_seeded_spread_and_in_file_order():
    records = [{"package": f"p{i // 100}", "i": i} for i in range(1000)]  # stored package by package
    sample = sample_records(records, 100)
    assert sample == sample_records(records, 100) and len(sample) == 100
    assert [r["i"] for r in sample] == sorted(r["i"] for r in sample)
    assert len({r["package"] for r in sample}) == 10  # the first 100 pairs would all be p0
    assert sample_records(records, None) is records and sample_records(records, 5000) is records


def test_readable_rows_keep_each_column_s_decimals():
    from seq2seq_lib.evaluation.results import markdown_rows

    row = {column: 0.5 for column in TABLE_COLUMNS[1:]} | {"system": "x", "loss_true": 3.09, "loss_shuffled": "", "compiles": 80.0}
    readable = markdown_rows([row])[0]
    assert readable["loss (nats)"] == "3.090" and readable["loss, docstrings shuffled"] == ""
    assert readable["compiles %"] == "80.0" and readable["length ratio"] == "0.50"
    assert readable["chrF [95% CI]"] == "0.50 [0.50, 0.50]"
