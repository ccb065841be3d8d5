"""The command line: bad input ends with one line on stderr and exit status 2, never a traceback."""

import json
import subprocess
import sys

import pytest

from seq2seq_lib.cli import main
from seq2seq_lib.config import PROJECT_ROOT


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--config", "configs/missing.yaml"], "config file not found"),
        (["evaluate", "--profile", "smoke", "--split", "dev"], "unknown split 'dev'"),
    ],
)
def test_bad_input_is_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_missing_checkpoint_is_one_line(tmp_path, capsys, monkeypatch):
    config = tmp_path / "c.yaml"
    config.write_text("profile: nothing-trained\ndata:\n  corpus_dir: data/sample\n")
    monkeypatch.setattr("seq2seq_lib.training.checkpoints.SHIPPED_WEIGHTS_DIR", tmp_path / "weights")
    assert main(["evaluate", "--config", str(config), "--model", "rnn", "--max-examples", "2"]) == 2
    err = capsys.readouterr().err
    assert "no trained 'rnn' model" in err and err.count("\n") == 1
    assert not (PROJECT_ROOT / "results" / "nothing-trained").exists()  # stopped before writing any results


def test_unknown_model_name_is_rejected_by_the_parser():
    result = subprocess.run(
        [sys.executable, "-m", "seq2seq_lib", "train", "--model", "transformer"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "invalid choice: 'transformer'" in result.stderr


def test_readme_results_block_is_replaced(tmp_path):
    from seq2seq_lib.pipeline import update_readme_results

    readme = tmp_path / "README.md"
    readme.write_text("# T\n<!-- results:quick:start -->\nold\n<!-- results:quick:end -->\ntail\n")
    assert update_readme_results("quick", "| a |\n", readme)
    assert readme.read_text() == "# T\n<!-- results:quick:start -->\n| a |\n<!-- results:quick:end -->\ntail\n"
    assert not update_readme_results("full", "| b |", readme)


def test_ablation_spec_errors_are_one_line(tmp_path, capsys):
    spec = tmp_path / "ablations.yaml"
    spec.write_text("base: quick\nvariants: {}\n")
    assert main(["ablate", "--spec", str(spec)]) == 2
    assert "missing key 'model'" in capsys.readouterr().err
    assert main(["ablate", "--spec", str(tmp_path / "none.yaml")]) == 2
    assert "ablation spec not found" in capsys.readouterr().err


def test_committed_ablation_specs_name_valid_overrides():
    from seq2seq_lib.lab.ablation import load_spec, slug
    from seq2seq_lib.config import PROJECT_ROOT, load_config, profile_config_path

    specs = sorted((PROJECT_ROOT / "seq2seq_lib" / "lab" / "specs").glob("*.yaml"))
    assert specs
    for path in specs:
        spec = load_spec(path)
        names = list(spec["variants"])
        assert len({slug(n) for n in names}) == len(names)
        for overrides in spec["variants"].values():
            load_config(profile_config_path(spec["base"]), {**spec.get("common", {}), **(overrides or {})})


def test_evaluate_decoding_flags_reach_the_results(smoke_run):
    from dataclasses import asdict

    from seq2seq_lib.io_utils import read_json
    from seq2seq_lib.paths import run_paths

    argv = ["evaluate", "--profile", "smoke", "--model", "attention", "--split", "valid", "--max-examples", "8",
            "--greedy"]
    assert main(argv) == 0
    saved = read_json(run_paths(smoke_run).results_dir / "valid" / "attention" / "evaluation_results.json")
    assert saved["decoding"] == {**asdict(smoke_run.decoding), "method": "greedy"}
    assert len(saved["examples"]) == 8


def test_generate_prints_code_and_the_attention_from_the_shipped_weights(capsys):
    assert main(["generate", "Return the sum of a list of numbers.", "--attention", "--beam", "2"]) == 0
    out = capsys.readouterr().out
    code, _, attention = out.partition("\n# ")
    assert code.startswith("def ") and compile(code, "<generated>", "exec")
    assert " <- " in attention and "<eos>" in attention  # each piece with the docstring tokens it looked at


def test_generate_says_what_is_wrong_with_bad_input(capsys):
    assert main(["generate", "   "]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: type a docstring first") and err.count("\n") == 1
    assert main(["generate", "Return x.", "--beam", "0"]) == 2
    assert "beam width must be between 1 and 10" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["generate", "Return x.", "--model", "transformer"])


def test_generated_code_comes_with_notes_on_long_input_and_cut_output():
    from seq2seq_lib.course.demo import generate_code

    long = " ".join(["return the sorted list of unique user names found in the file"] * 6)  # 72 words
    result = generate_code(long, beam_width=1, max_len=5)
    notes = " ".join(result.notes())
    assert result.cut_short and "stopped at the 5-piece limit" in notes
    assert f"has {len(result.src_tokens) - 1} tokens" in notes and "at most 39" in notes
    assert ("does not compile" in notes) == (not result.compiles)
    assert not generate_code("Return the sum of a list of numbers.").cut_short


def test_timings_record_every_stage_the_machine_and_the_set_up_before_python(tmp_path, monkeypatch):
    import time

    from seq2seq_lib.pipeline import write_timings

    now = time.time()
    monkeypatch.setenv("SEQ2SEQ_STARTED", str(now - 100.0))  # run_all.sh started 100 s ago
    stages = {"train": {"wall_s": 60.0, "cpu_s": 110.0}, "evaluate": {"wall_s": 30.0, "cpu_s": 55.0}}
    timings = write_timings(tmp_path / "timings.json", stages, started=now - 95.0, fresh_clone=False)
    assert timings == json.loads((tmp_path / "timings.json").read_text())
    assert list(timings["stages"]) == ["setup", "train", "evaluate"] and timings["stages"]["setup"]["wall_s"] == 5.0
    assert 100.0 <= timings["total_wall_s"] < 110.0 and timings["fresh_clone"] is False
    assert {"commit", "threads", "cpus", "cpu_model", "torch"} <= set(timings) and timings["cpu_model"]
    assert timings["model_processes"] == 1  # no workers given: the models ran in this process
    side_by_side = write_timings(tmp_path / "timings.json", stages, started=now - 95.0, fresh_clone=False, workers=(2, 1))
    assert side_by_side["model_processes"] == 2 and side_by_side["threads"] == 1
