"""The data one training run reads: the fitted preprocessor and the encoded training and validation pairs."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config
from ..data.batching import EncodedDataset, encode_records
from ..data.preprocess import Preprocessor
from ..data.records import subsample, training_records, validation_records
from ..io_utils import read_json
from ..paths import RunPaths


def fit_or_load_preprocessor(config: Config, paths: RunPaths, train: list[dict]) -> Preprocessor:
    """Load the run's fitted preprocessor, or fit it (and its length model) on the training records and save it."""
    path = paths.preprocessor_dir / "preprocessor.json"
    saved = read_json(path) if path.is_file() else {}
    if "length_model" in saved:  # runs saved before the length model was fitted here are fitted again (alike)
        return Preprocessor.from_dict(saved)
    preprocessor = Preprocessor.fit(
        train, src_vocab_size=config.data.src_vocab_size, tgt_vocab_size=config.data.tgt_vocab_size,
        min_freq=config.data.min_freq,
    )
    preprocessor.save(paths.preprocessor_dir)
    return preprocessor


@dataclass
class TrainingData:
    """Everything the training loop reads: the preprocessor and the encoded splits."""

    preprocessor: Preprocessor
    train: EncodedDataset
    valid: EncodedDataset
    counts: dict


def prepare_training_data(config: Config, paths: RunPaths) -> TrainingData:
    """Load, filter, tokenize and encode the training and validation data of a config."""
    train_records = training_records(config)
    preprocessor = fit_or_load_preprocessor(config, paths, train_records)
    limits = dict(max_src_len=config.data.max_src_len, max_tgt_len=config.data.max_tgt_len)
    train, train_counts = encode_records(train_records, preprocessor, **limits)
    train = subsample(train, config.data.max_train_pairs, config.seed)
    train_counts["used"] = len(train)
    valid_records = validation_records(config)
    valid, valid_counts = encode_records(valid_records, preprocessor, **limits)
    counts = {"train": train_counts, "valid": valid_counts}
    return TrainingData(preprocessor, train, valid, counts)
