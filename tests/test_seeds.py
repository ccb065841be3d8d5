"""The lab's multi-seed command: one training and evaluation per seed, and the spread table."""

import shutil
import statistics

from seq2seq_lib.training.checkpoints import read_checkpoint
from seq2seq_lib.config import load_config, profile_config_path
from seq2seq_lib.evaluation.results import load_summaries
from seq2seq_lib.paths import run_paths
from seq2seq_lib.lab.seeds import METRICS, run_seeds


def test_run_seeds_trains_each_seed_and_reports_the_spread(smoke_run):
    seeds = [1234, 7]
    shutil.rmtree(run_paths(load_config(profile_config_path("smoke"), {"seed": 7})).run_dir, ignore_errors=True)
    shutil.rmtree(run_paths(smoke_run).results_dir / "seeds", ignore_errors=True)
    table = run_seeds("smoke", seeds, split="valid", max_examples=40)
    results = run_paths(smoke_run).results_dir
    scores = {}
    for seed in seeds:
        config = load_config(profile_config_path("smoke"), {"seed": seed})
        for name in config.models:
            assert read_checkpoint(run_paths(config).model_dir(name) / "checkpoint.pt")["config"]["seed"] == seed
        for summary in load_summaries(results / "seeds" / f"seed{seed}", "valid"):
            for key, label in METRICS.items():
                scores.setdefault((summary["system"], label), []).append(summary["metrics"][key])
    assert {name for name, _ in scores} == set(smoke_run.models)
    lines = table.strip().splitlines()
    assert lines[0] == "| model | metric | seed 1234 | seed 7 | mean | std |"
    assert len(lines) == 2 + len(scores)
    for (name, label), values in scores.items():
        row = next(line for line in lines if line.startswith(f"| {name} | {label} |"))
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[2:] == [f"{values[0]:.2f}", f"{values[1]:.2f}", f"{statistics.mean(values):.2f}", f"{statistics.stdev(values):.2f}"]
    assert (results / "seeds_valid.md").read_text().endswith(table)


def test_the_shipped_weights_stand_for_their_own_seed_only(tmp_path, monkeypatch):
    import seq2seq_lib.lab.seeds as seeds

    monkeypatch.setattr(seeds, "run_paths", lambda config: run_paths(config, tmp_path))  # no local runs
    quick = load_config(profile_config_path("quick"))
    assert seeds.shipped_run(quick, "attention")  # weights/quick/attention.pt records seed 1234
    assert not seeds.shipped_run(load_config(profile_config_path("quick"), {"seed": 1}), "attention")
    assert not seeds.shipped_run(load_config(profile_config_path("smoke")), "attention")  # nothing shipped for smoke
    local = run_paths(quick, tmp_path).model_dir("attention")
    local.mkdir(parents=True)
    (local / "checkpoint.pt").write_bytes(b"")
    assert not seeds.shipped_run(quick, "attention")  # a local run of the seed is used instead


def test_a_seed_with_a_complete_summary_is_neither_trained_nor_evaluated_again(tmp_path, monkeypatch):
    import seq2seq_lib.lab.seeds as seeds
    from seq2seq_lib.io_utils import write_json

    def refuse(*args, **kwargs):
        raise AssertionError("a finished seed was redone")

    monkeypatch.setattr(seeds, "run_paths", lambda config: run_paths(config, tmp_path))
    monkeypatch.setattr(seeds, "train_models", refuse)
    monkeypatch.setattr(seeds, "evaluate_models", refuse)
    for seed, chrf in ((1, 10.0), (2, 12.0)):
        config = load_config(profile_config_path("smoke"), {"seed": seed})
        metrics = {"chrf": chrf, "chrf_gain": 1.0, "bleu": 5.0, "compiles": 0.5}
        write_json(run_paths(config, tmp_path).results_dir / "seeds" / f"seed{seed}" / "summary_test.json",
                   [{"system": "attention", "metrics": metrics}])
    table = seeds.run_seeds("smoke", [1, 2], models=["attention"])
    assert "| attention | chrF | 10.00 | 12.00 | 11.00 | 1.41 |" in table
    assert "| attention | length ratio |  |  |  |  |" in table  # a metric these summaries lack stays blank
    assert (run_paths(load_config(profile_config_path("smoke")), tmp_path).results_dir / "seeds_test_attention.md").is_file()


def test_a_seed_s_summary_gains_the_models_it_lacks_and_keeps_the_others(tmp_path, monkeypatch):
    import seq2seq_lib.lab.seeds as seeds
    from seq2seq_lib.io_utils import write_json

    config = load_config(profile_config_path("smoke"), {"seed": 3})
    out_dir = run_paths(config, tmp_path).results_dir / "seeds" / "seed3"
    metrics = {"chrf": 1.0, "chrf_gain": 1.0, "bleu": 1.0, "compiles": 1.0, "length_ratio": 1.0}
    write_json(out_dir / "summary_test.json", [{"system": "attention", "metrics": metrics}])
    calls = []

    def evaluate(config, names, out_dir, **kwargs):  # like evaluate_models: a summary of the models it scored only
        calls.append(("evaluate", names))
        write_json(out_dir / "summary_test.json", [{"system": name, "metrics": metrics} for name in names])

    monkeypatch.setattr(seeds, "run_paths", lambda config: run_paths(config, tmp_path))
    monkeypatch.setattr(seeds, "train_models", lambda config, names: calls.append(("train", names)))
    monkeypatch.setattr(seeds, "evaluate_models", evaluate)
    seeds.run_seeds("smoke", [3], models=["rnn", "attention"])
    assert calls == [("train", ["rnn"]), ("evaluate", ["rnn"])]
    assert sorted(s["system"] for s in load_summaries(out_dir, "test")) == ["attention", "rnn"]
