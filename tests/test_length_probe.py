"""The length probe: one decoding change per variant, and the lengths it reports follow from the outputs."""

from dataclasses import asdict, replace

import pytest

from seq2seq_lib.config import PROJECT_ROOT, load_config, profile_config_path
from seq2seq_lib.data.corpus import load_split
from seq2seq_lib.data.preprocess import record_fields
from seq2seq_lib.evaluation.gain import GainScorer
from seq2seq_lib.lab.length_probe import FORBIDDEN, VARIANT_SETS, probe, targets, variants
from seq2seq_lib.training.checkpoints import load_model


def test_each_variant_changes_one_option_of_the_profile():
    decoding = load_config(profile_config_path("quick")).decoding
    found = variants(decoding)
    assert found["profile"] == decoding
    for label, options in found.items():
        changed = {k for k, v in asdict(options).items() if asdict(decoding)[k] != v}
        assert len(changed) == (0 if label == "profile" else 1), (label, changed)


def test_min_length_and_eos_penalty_sets_change_only_the_end_of_the_search():
    decoding = load_config(profile_config_path("quick")).decoding
    min_length = VARIANT_SETS["min-length"](decoding)
    assert min_length["profile"] == decoding
    for label, options in min_length.items():
        if label != "profile":  # <eos> impossible before a fraction of the predicted length, nothing else changed
            assert options.eos_penalty == FORBIDDEN and options.length_target
            assert replace(options, eos_penalty=decoding.eos_penalty, target_scale=decoding.target_scale) == decoding
    penalties = VARIANT_SETS["eos-penalty"](decoding)
    assert penalties["greedy"] == replace(decoding, method="greedy")
    assert sorted(o.eos_penalty for label, o in penalties.items() if label != "greedy") == [2.0, 4.0, 6.0, 8.0]


def test_probe_reports_lengths_against_references_and_targets():
    loaded = load_model(PROJECT_ROOT / "weights" / "quick" / "lstm.pt")
    records = load_split(PROJECT_ROOT / "data" / "sample", "valid")[:6]
    options = replace(load_config(profile_config_path("quick")).decoding, max_len=10, beam_width=2)
    predicted = targets(loaded, records)
    assert predicted.shape == (6,) and (predicted > 0).all()
    row = probe(loaded, options, records, GainScorer([record_fields(r)[1] for r in records], seed=0), predicted)
    assert 0 < row["mean pieces"] <= 10
    assert (row["at max_len %"] == 100.0) == (row["mean pieces"] == 10.0)  # every output at the limit, or not
    references = sum(len(loaded.preprocessor.encode_tgt(record_fields(r)[1])) for r in records)
    assert row["length ratio"] == pytest.approx(6 * row["mean pieces"] / references, abs=0.02)


def test_a_run_folder_without_the_model_is_a_one_line_error(tmp_path):
    from seq2seq_lib.errors import UserError
    from seq2seq_lib.lab.length_probe import run_probe

    with pytest.raises(UserError, match="--run-dir needs <model>/checkpoint.pt"):
        run_probe("quick", sample=2, models=("rnn",), run_dir=str(tmp_path))
