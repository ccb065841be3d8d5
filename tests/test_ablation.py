"""Ablations: decoding-only variants reuse the trained base model; each row recomputes from its results."""

import shutil

import pytest
import yaml

from seq2seq_lib.lab.ablation import ablation_summary, format_row, run_ablation, variant_config
from seq2seq_lib.training.checkpoints import read_checkpoint
from seq2seq_lib.config import PROJECT_ROOT, TrainingConfig
from seq2seq_lib.errors import UserError
from seq2seq_lib.evaluation.results import load_summaries
from seq2seq_lib.paths import run_paths
from seq2seq_lib.training.loop import finished

VARIANTS = {"smoke test beam 3": {}, "smoke test greedy": {"decoding.method": "greedy"}}


def test_decoding_only_ablation_reuses_the_base_run(smoke_run, tmp_path):
    spec = {"base": "smoke", "model": "attention", "table": "ablation_unit_test.md", "variants": VARIANTS}
    folders = {name: variant_config(spec, name)[1] for name in VARIANTS}
    for folder in folders.values():
        shutil.rmtree(folder, ignore_errors=True)
    runs_before = sorted(p.name for p in (PROJECT_ROOT / "runs").iterdir())
    spec_path = tmp_path / "ablations.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    table = run_ablation(spec_path)
    assert sorted(p.name for p in (PROJECT_ROOT / "runs").iterdir()) == runs_before  # nothing retrained
    rows = [line for line in table.splitlines() if line.startswith("| smoke test")]
    assert len(rows) == 2
    for name, row in zip(VARIANTS, rows):
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        valid = load_summaries(folders[name] / "valid", "valid")[0]
        test = load_summaries(folders[name] / "test", "test")[0]
        assert cells[:2] == [name, f"{valid['metrics']['chrf_gain']:.2f}"]
        assert cells[4] == f"{test['metrics']['chrf_gain']:.2f}"
        assert valid["decoding"]["method"] == ("greedy" if "greedy" in name else "beam")
    assert (run_paths(smoke_run).results_dir / "ablation_unit_test.md").read_text().endswith(table)


def test_variant_folders_follow_the_name_and_every_setting():
    long = "a change whose name is longer than forty characters, "
    spec = {
        "base": "smoke", "model": "attention", "common": {"training.epochs": 1},
        "variants": {
            f"{long}first": {}, f"{long}second": {},  # alike in their first 40 characters
            "more dropout": {"model.dropout": 0.3}, "more dropout, greedy": {"decoding.method": "greedy"},
        },
    }
    configs = {name: variant_config(spec, name) for name in spec["variants"]}
    assert len({folder for _, folder in configs.values()}) == 4
    # a decoding-only row trains nothing of its own: it decodes the first variant's model
    assert configs["more dropout, greedy"][0].profile == configs[f"{long}first"][0].profile
    assert configs["more dropout"][0].profile != configs[f"{long}first"][0].profile
    # the same name with a changed setting gets a folder of its own, for its model and for its scores
    changed = {**spec, "common": {"training.epochs": 2}}
    config, folder = variant_config(changed, "more dropout")
    assert config.profile != configs["more dropout"][0].profile and folder != configs["more dropout"][1]
    assert config.profile.startswith("ablation-more-dropout-")


def test_an_unchanged_row_of_two_models_specs_keeps_its_scores_apart():
    # "quick settings" decodes the base run in both specs: the scores must not be shared between the models
    rows = {m: variant_config({"base": "quick", "model": m, "variants": {"quick settings": {}}}, "quick settings")
            for m in ("rnn", "lstm")}
    assert rows["rnn"][1] != rows["lstm"][1]
    assert rows["rnn"][0].profile == rows["lstm"][0].profile == "quick"  # both decode the profile's own run
    assert rows["rnn"][0].models == ["rnn"] and rows["lstm"][0].models == ["lstm"]


def test_rows_train_apart_and_score_per_seed(smoke_run, tmp_path, capsys):
    spec = {
        "base": "smoke", "model": "attention", "table": "ablation_seeds_unit_test.md", "seeds": [1234, 7],
        "common": {"training.epochs": 1, "data.max_train_pairs": 200},
        "variants": {"one epoch": {}, "one epoch, more dropout": {"model.dropout": 0.3}, "greedy": {"decoding.method": "greedy"}},
    }
    configs = {(name, seed): variant_config(spec, name, seed) for name in spec["variants"] for seed in spec["seeds"]}
    for config, folder in configs.values():
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(run_paths(config).run_dir, ignore_errors=True)
    spec_path = tmp_path / "ablations.yaml"
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    with pytest.raises(UserError, match="no trained model for ablation row 'one epoch'"):
        run_ablation(spec_path, stage="score")

    assert run_ablation(spec_path, stage="train", jobs=2) == ""
    trained = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[ablate]")]
    assert len(trained) == 4  # two trained rows x two seeds; the greedy row decodes the first row's models
    for (name, seed), (config, folder) in configs.items():
        checkpoint = read_checkpoint(run_paths(config).model_dir("attention") / "checkpoint.pt")
        assert checkpoint["config"]["seed"] == seed
        assert not folder.exists()  # nothing scored yet
    runs_before = {p: p.stat().st_mtime for p in (PROJECT_ROOT / "runs").glob("*/attention/last.pt")}

    table = run_ablation(spec_path, stage="score")
    assert {p: p.stat().st_mtime for p in (PROJECT_ROOT / "runs").glob("*/attention/last.pt")} == runs_before
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()[2:]}
    assert list(rows) == list(spec["variants"])
    for name, cells in rows.items():
        valid = [load_summaries(configs[(name, seed)][1] / "valid", "valid")[0]["metrics"]["chrf_gain"] for seed in (1234, 7)]
        mean = sum(valid) / 2
        assert cells[1] == f"{mean:.2f} ({valid[0]:.2f} / {valid[1]:.2f})"
    assert "seeds 1234, 7" in (run_paths(smoke_run).results_dir / "ablation_seeds_unit_test.md").read_text()


def test_unknown_stage_is_one_line_error(tmp_path):
    with pytest.raises(UserError, match="unknown ablation stage 'evaluate'; choose one of all, train, score"):
        run_ablation(tmp_path / "spec.yaml", stage="evaluate")


def test_format_row_keeps_one_seed_plain():
    scores = {"valid chrF gain": 9.876, "test compiles %": 79.04, "epochs": 7}
    assert format_row("x", [scores]) == {"change": "x", "valid chrF gain": "9.88", "test compiles %": "79.0", "epochs": "7"}
    two = format_row("x", [scores, {"valid chrF gain": 8.0, "test compiles %": 81.0, "epochs": 6}])
    assert two["valid chrF gain"] == "8.94 (9.88 / 8.00)" and two["epochs"] == "7 / 6"


def test_only_finished_runs_are_scored():
    losses = lambda *values: [{"valid_loss": v} for v in values]  # noqa: E731
    seven = TrainingConfig(epochs=7, early_stopping_patience=2)
    assert finished(losses(4, 3, 2, 2.5, 2.4, 2.3, 2.2), seven)  # every epoch
    assert finished(losses(4, 3, 2, 2.5, 2.4), seven)  # stopped early: two epochs without a lower loss
    assert not finished(losses(4, 3, 2, 2.5), seven)  # interrupted
    assert not finished([], seven)


def test_ablation_summary_puts_every_change_beside_its_tables_baseline(tmp_path):
    (tmp_path / "ablation_a.md").write_text("Header.\n\n| change | valid chrF | test chrF |\n|---|---|---|\n"
                                            "| baseline | 15.00 | 14.00 |\n| wider | 15.50 (15.20 / 15.80) | 14.50 |\n")
    (tmp_path / "ablation_summary.md").write_text("| change | ignored |\n")
    decisions = tmp_path / "decisions.yaml"
    decisions.write_text('ablation_a.md:\n  wider: "yes"\n')
    lines = ablation_summary(tmp_path, decisions).splitlines()
    assert lines[0] == "| change | validation score | adopted | table |"
    assert lines[2:] == ["| wider | valid chrF 15.50 (baseline 15.00) | yes | [ablation_a.md](ablation_a.md) |"]
    decisions.write_text("ablation_a.md: {}\n")
    with pytest.raises(UserError, match="'wider' \\(ablation_a.md\\) was adopted"):
        ablation_summary(tmp_path, decisions)


def test_committed_ablation_summary_is_current():
    results = PROJECT_ROOT / "results" / "quick"
    table = ablation_summary(results, results / "ablation_decisions.yaml")
    assert table in (results / "ablation_summary.md").read_text(encoding="utf-8"), (
        "run python -m seq2seq_lib ablate --summary")
