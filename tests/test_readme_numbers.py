"""Every number the README reports about the quick results comes from a committed results file."""

import json
import re
import statistics

from seq2seq_lib.config import PROJECT_ROOT
from seq2seq_lib.evaluation.results import readme_table

README = PROJECT_ROOT / "README.md"
RESULTS = PROJECT_ROOT / "results" / "quick"
NUMBER = re.compile(r"(?<![\w.])[+-]?\d+\.\d+")  # decimals: counts, years and sizes are not results


def committed_numbers() -> list[float]:
    """The headline numbers of the committed quick results: each system's metrics and intervals (as shares and as
    percentages), losses and their rise with shuffled docstrings, and the paired differences of the significance tests."""
    values: list[float] = []
    summaries = json.loads((RESULTS / "summary_test.json").read_text())
    for s in summaries:
        numbers = [*s["metrics"].values(), *(b for ci in s["ci95"].values() for b in ci)]
        values += [float(v) for v in numbers] + [100.0 * v for v in numbers]
        if s.get("loss_true") is not None:
            values += [s["loss_true"], s["loss_shuffled"], s["loss_shuffled"] - s["loss_true"],
                       *s["loss_rise_by_position"].values()]
    for tests in json.loads((RESULTS / "significance_test.json").read_text()).values():
        values += [r[k] for r in tests.values() for k in ("delta", "delta_low", "delta_high")]
    return values + seed_spread_numbers()


def seed_spread_numbers() -> list[float]:
    """Each committed seed summary's metrics, and their mean and standard deviation over seeds per system."""
    per_seed: dict[tuple[str, str], list[float]] = {}
    for path in sorted((RESULTS / "seeds").glob("seed*/summary_test.json")):
        for s in json.loads(path.read_text()):
            for key, value in s["metrics"].items():
                per_seed.setdefault((s["system"], key), []).append(value)
    values = [v for vs in per_seed.values() for v in vs]
    return values + [f(vs) for vs in per_seed.values() if len(vs) > 1 for f in (statistics.mean, statistics.stdev)]


def test_the_results_table_is_the_committed_comparison():
    start, end = "<!-- results:quick:start -->", "<!-- results:quick:end -->"
    block = README.read_text(encoding="utf-8").split(start, 1)[1].split(end, 1)[0]
    assert block.strip() == readme_table(RESULTS / "comparison.csv").strip()


def test_every_number_of_the_findings_is_in_a_results_file():
    text = README.read_text(encoding="utf-8")
    findings = text.split("What the table says:", 1)[1].split("**What the models cannot do**", 1)[0]
    values = committed_numbers()
    numbers = NUMBER.findall(findings)
    assert len(numbers) > 20
    for written in numbers:
        digits = len(written.split(".")[1])
        assert any(round(v, digits) == float(written) for v in values), f"README says {written}: no results file has it"
