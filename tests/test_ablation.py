"""Ablations: decoding-only variants reuse the trained base model; each row recomputes from its results."""

import shutil

import yaml

from seq2seq_lib.ablation import run_ablation, variant_config
from seq2seq_lib.config import PROJECT_ROOT
from seq2seq_lib.evaluation import load_summaries
from seq2seq_lib.experiment import run_paths

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
        assert cells[:3] == [name, f"{valid['metrics']['bleu']:.2f}", f"{test['metrics']['bleu']:.2f}"]
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
