"""Ablations: decoding-only variants reuse the trained base model; each row recomputes from its results."""

import shutil

from seq2seq_lib.ablation import run_ablation, slug
from seq2seq_lib.config import PROJECT_ROOT
from seq2seq_lib.evaluation import load_summaries
from seq2seq_lib.experiment import run_paths

VARIANTS = {"smoke test beam 3": {}, "smoke test greedy": {"decoding.method": "greedy"}}


def test_decoding_only_ablation_reuses_the_base_run(smoke_run, tmp_path):
    for name in VARIANTS:
        shutil.rmtree(PROJECT_ROOT / "results" / f"ablation-{slug(name)}", ignore_errors=True)
    runs_before = sorted(p.name for p in (PROJECT_ROOT / "runs").iterdir())
    spec = tmp_path / "ablations.yaml"
    lines = ["base: smoke", "model: attention", "table: ablation_unit_test.md", "variants:"]
    lines += [f"  {name}: {overrides or '{}'}" for name, overrides in VARIANTS.items()]
    spec.write_text("\n".join(lines).replace("'", "") + "\n")
    table = run_ablation(spec)
    assert sorted(p.name for p in (PROJECT_ROOT / "runs").iterdir()) == runs_before  # nothing retrained
    rows = [line for line in table.splitlines() if line.startswith("| smoke test")]
    assert len(rows) == 2
    for name, row in zip(VARIANTS, rows):
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        valid = load_summaries(PROJECT_ROOT / "results" / f"ablation-{slug(name)}" / "valid", "valid")[0]
        test = load_summaries(PROJECT_ROOT / "results" / f"ablation-{slug(name)}" / "test", "test")[0]
        assert cells[:3] == [name, f"{valid['metrics']['bleu']:.2f}", f"{test['metrics']['bleu']:.2f}"]
        assert valid["decoding"]["method"] == ("greedy" if "greedy" in name else "beam")
    assert (run_paths(smoke_run).results_dir / "ablation_unit_test.md").read_text().endswith(table)
