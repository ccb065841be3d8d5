"""`evaluate --pairs FILE --out DIR`: a user's own pairs, checked line by line, never written over the profile's results."""

import json

import pytest

from seq2seq_lib.cli import main
from seq2seq_lib.config import load_config, profile_config_path
from seq2seq_lib.errors import UserError
from seq2seq_lib.data.pairs import check_out_dir, read_pairs

GOOD = [{"docstring": "Return the sum of a and b.", "code": "def add(a, b):\n    return a + b\n"},
        {"docstring": "Return the larger value.", "code": "def larger(a, b):\n    return max(a, b)\n"}]


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_good_pairs_become_corpus_records(tmp_path):
    records = read_pairs(write_lines(tmp_path / "p.jsonl", [json.dumps(r) for r in GOOD]))
    assert [r["func_code_string"] for r in records] == [r["code"] for r in GOOD]
    assert records[0]["func_documentation_tokens"][:2] == ["Return", "the"]


@pytest.mark.parametrize(("bad_line", "message"), [
    ("{not json", "line 2: not valid JSON"),
    ('["a list"]', "line 2: expected a JSON object"),
    ('{"docstring": "x"}', 'line 2: "code" must be a non-empty string'),
    ('{"docstring": 3, "code": "x = 1"}', 'line 2: "docstring" must be a non-empty string'),
])
def test_a_malformed_row_names_its_line(tmp_path, bad_line, message, capsys):
    path = write_lines(tmp_path / "p.jsonl", [json.dumps(GOOD[0]), bad_line, json.dumps(GOOD[1])])
    with pytest.raises(UserError, match=message):
        read_pairs(path)
    assert main(["evaluate", "--profile", "smoke", "--pairs", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not (tmp_path / "out").exists()


def test_the_profile_results_folder_is_refused(tmp_path, capsys):
    config = load_config(profile_config_path("smoke"))
    for inside in ("results/smoke", "results/smoke/mine"):
        with pytest.raises(UserError, match="holds the profile's own results"):
            check_out_dir(inside, config)
    assert check_out_dir(tmp_path / "mine", config) == (tmp_path / "mine").resolve()
    path = write_lines(tmp_path / "p.jsonl", [json.dumps(r) for r in GOOD])
    assert main(["evaluate", "--profile", "smoke", "--pairs", str(path)]) == 2
    assert "--pairs needs --out" in capsys.readouterr().err


@pytest.mark.slow
def test_scoring_pairs_writes_only_the_out_folder(smoke_run, tmp_path):
    from seq2seq_lib.paths import run_paths

    results = run_paths(smoke_run).results_dir
    before = {p: p.stat().st_mtime_ns for p in results.rglob("*") if p.is_file()}
    rows = [json.dumps({"docstring": f"Return item {i} of the list.", "code": f"def get{i}(items):\n    return items[{i}]\n"})
            for i in range(12)]
    path = write_lines(tmp_path / "p.jsonl", rows)
    assert main(["evaluate", "--profile", "smoke", "--model", "attention", "--pairs", str(path), "--out", str(tmp_path / "out")]) == 0
    assert {p: p.stat().st_mtime_ns for p in results.rglob("*") if p.is_file()} == before
    header = (tmp_path / "out" / "comparison_pairs.csv").read_text().splitlines()[0].split(",")
    assert header[:7] == ["system", "chrf", "chrf_lo", "chrf_hi", "chrf_gain", "chrf_gain_lo", "chrf_gain_hi"]
    saved = json.loads((tmp_path / "out" / "attention" / "evaluation_results.json").read_text())
    assert len(saved["examples"]) == 12 and saved["split"] == "pairs"
