"""Models trained and decoded side by side in worker processes give what one process gives."""

import pytest

from seq2seq_lib.config import load_config, profile_config_path
from seq2seq_lib.data.records import load_records
from seq2seq_lib.evaluation.evaluate import decode_model
from seq2seq_lib.io_utils import read_json
from seq2seq_lib.paths import RunPaths, run_paths
from seq2seq_lib.pipeline import train_job
from seq2seq_lib.runtime import CPUS, run_in_workers, started_in_workers, worker_plan
from seq2seq_lib.training.checkpoints import find_model_checkpoint
from seq2seq_lib.training.data import prepare_training_data


def small_config(**overrides):
    """The smoke profile cut down to a few seconds of training per model."""
    return load_config(profile_config_path("smoke"), {
        "profile": "unit", "data.max_train_pairs": 96, "data.max_valid_pairs": 16, "data.max_tgt_len": 60,
        "training.epochs": 2, **overrides})


def test_two_worker_processes_train_the_same_models_as_one_process(tmp_path):
    config = small_config()
    data = prepare_training_data(config, RunPaths(tmp_path, config.profile, config.seed))
    jobs = {folder: [(name, config, data, tmp_path / folder / name, False, False) for name in ("attention", "rnn")]
            for folder in ("inline", "workers")}
    inline = run_in_workers(train_job, jobs["inline"], workers=1, threads=1)
    side_by_side = run_in_workers(train_job, jobs["workers"], workers=2, threads=1)
    assert [r.model_name for r in side_by_side] == ["attention", "rnn"]  # results in job order
    for one, other in zip(inline, side_by_side):
        losses = [[(h["train_loss"], h["valid_loss"]) for h in r.history] for r in (one, other)]
        assert len(losses[0]) == 2 and losses[0] == losses[1]  # one thread each: the same to the bit
        assert (tmp_path / "workers" / one.model_name / "checkpoint.pt").is_file()


def test_decoding_in_worker_processes_gives_the_outputs_of_one_process(smoke_run):
    records = load_records(smoke_run, "test")[:24]
    run_dir = run_paths(smoke_run).run_dir
    jobs = [(name, find_model_checkpoint(run_dir, name, smoke_run.profile), smoke_run, records, "test", False)
            for name in ("attention", "lstm")]
    inline = run_in_workers(decode_model, jobs, workers=1, threads=1)
    side_by_side = run_in_workers(decode_model, jobs, workers=2, threads=1)
    for (one, one_extra), (other, other_extra) in zip(inline, side_by_side):
        assert one == other and len(one) == 24
        assert one_extra["loss_true"] == other_extra["loss_true"] and other_extra["threads"] == 1


def test_the_pipeline_decodes_each_model_as_one_process_alone_does(smoke_run):
    records = load_records(smoke_run, "test")  # the pipeline decoded them in its workers, the last model on every core
    run_dir, threads = run_paths(smoke_run).run_dir, []
    for name in smoke_run.models:
        saved = read_json(run_paths(smoke_run).results_dir / name / "evaluation_results.json")
        alone, extra = decode_model((name, find_model_checkpoint(run_dir, name, smoke_run.profile), smoke_run, records,
                                     "test", False))
        assert [e["generated"] for e in saved["examples"]] == alone and len(alone) == len(records) > 100
        assert saved["loss_true"] == extra["loss_true"]
        threads.append(saved["threads"])
    assert max(threads) == CPUS  # the model trained last was decoded with every core


@pytest.mark.parametrize("workers, num_threads, jobs, expected", [
    (0, 0, 3, (min(3, CPUS), max(1, CPUS // min(3, CPUS)))),  # one per core
    (0, 0, 1, (1, CPUS)),  # one model: one process with every core
    (2, 0, 1, (1, CPUS)),  # never more processes than models
    (1, 3, 3, (1, 3)),  # as configured
])
def test_worker_plan_shares_the_cores_among_the_models(workers, num_threads, jobs, expected):
    config = small_config(**{"device": "cpu", "training.workers": workers, "training.num_threads": num_threads})
    assert worker_plan(config, jobs) == expected


def test_the_caller_works_while_the_jobs_run_and_gets_their_results_in_job_order():
    done = []
    with started_in_workers(lambda x: done.append(x) or -x, [1, 2], workers=1, threads=1) as results:
        assert done == []  # in this process, a job runs when its result is asked for
        assert next(results) == -1 and done == [1]
        assert list(results) == [-2] and done == [1, 2]
    with started_in_workers(abs, [-3, -1, -2], workers=2, threads=1) as results:  # in two processes
        assert list(results) == [3, 1, 2]


def test_a_script_without_a_main_guard_gets_one_line_naming_the_fix(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"  # spawned workers re-run a script's top level: it must be guarded
    script.write_text("from seq2seq_lib.runtime import run_in_workers\nrun_in_workers(abs, [-1, -2], workers=2, threads=1)\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert 'if __name__ == "__main__":' in done.stderr.strip().splitlines()[-1]
