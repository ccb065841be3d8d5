"""The length probe: one decoding change per variant, and the lengths it reports follow from the outputs."""

from dataclasses import asdict, replace

import pytest

from seq2seq_lib.config import PROJECT_ROOT, load_config, profile_config_path
from seq2seq_lib.data.corpus import load_split
from seq2seq_lib.data.preprocess import record_fields
from seq2seq_lib.evaluation.gain import GainScorer
from seq2seq_lib.lab.length_probe import probe, targets, variants
from seq2seq_lib.training.checkpoints import load_model


def test_each_variant_changes_one_option_of_the_profile():
    decoding = load_config(profile_config_path("quick")).decoding
    found = variants(decoding)
    assert found["profile"] == decoding
    for label, options in found.items():
        changed = {k for k, v in asdict(options).items() if asdict(decoding)[k] != v}
        assert len(changed) == (0 if label == "profile" else 1), (label, changed)


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
