"""The real CodeSearchNet (Python) through Hugging Face `datasets`, mapped to the corpus record schema.

Needs the Hugging Face hub (or its local cache); offline users build the default corpus instead
(`data.source: local`, see `seq2seq_lib.corpus`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from seq2seq_lib import extract
from seq2seq_lib.corpus import SPLITS
from seq2seq_lib.errors import UserError

RECORD_FIELDS = (
    "repository_name",
    "func_path_in_repository",
    "func_name",
    "whole_func_string",
    "language",
    "func_code_string",
    "func_code_tokens",
    "func_documentation_string",
    "func_documentation_tokens",
    "split_name",
)
HF_SPLIT_NAMES = {"train": "train", "valid": "validation", "test": "test"}
_SPLIT_ALIASES = {"train": "train", "valid": "valid", "validation": "valid", "test": "test"}
_OFFLINE_HINT = ("set `data.source: local` to use the default corpus built from pinned PyPI packages "
                 "(`python -m seq2seq_lib data build`) or data/sample")

DataFiles = str | os.PathLike | Sequence[str | os.PathLike]


def normalize_split(split: str) -> str:
    """Our split name (`train`, `valid`, `test`) for ours or CodeSearchNet's (`validation`)."""
    if split not in _SPLIT_ALIASES:
        raise UserError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    return _SPLIT_ALIASES[split]


def to_record(row: dict, split: str) -> dict:
    """Map one CodeSearchNet row to our schema: only our fields, first-paragraph docstring, our split name."""
    documentation = extract.first_paragraph(row["func_documentation_string"])
    record = {field: row[field] for field in RECORD_FIELDS}
    record.update(func_documentation_string=documentation,
                  func_documentation_tokens=extract.doc_tokens(documentation),
                  split_name=split)
    return record


def _is_offline_error(err: BaseException) -> bool:
    """True for errors that mean the hub could not be reached (network down or offline mode)."""
    if isinstance(err, (ConnectionError, TimeoutError)):
        return True
    names = {cls.__name__ for cls in type(err).__mro__}
    return bool(names & {"ConnectionError", "ConnectError", "ConnectTimeout", "OfflineModeIsEnabled",
                         "LocalEntryNotFoundError"})


def _load_rows(split: str, dataset_id: str, config_name: str | None, data_files: DataFiles | None) -> list[dict]:
    """The raw rows of one split: from the hub, or from local JSON lines filtered by their `split_name`."""
    import datasets

    if data_files is None:
        return list(datasets.load_dataset(dataset_id, config_name, split=HF_SPLIT_NAMES[split]))
    files = [data_files] if isinstance(data_files, (str, os.PathLike)) else list(data_files)
    missing = [str(f) for f in files if not Path(f).is_file()]
    if missing:
        raise UserError(f"CodeSearchNet data file not found: {missing[0]}; pass existing JSON-lines files")
    rows = datasets.load_dataset("json", data_files=[str(f) for f in files], split="train")
    return [row for row in rows if normalize_split(row["split_name"]) == split]


def load_codesearchnet(
    split: str,
    dataset_id: str = "code_search_net",
    config_name: str | None = "python",
    data_files: DataFiles | None = None,
) -> list[dict]:
    """Load one CodeSearchNet split (`train`, `valid`/`validation`, `test`) as corpus records.

    With `data_files`, JSON-lines files in CodeSearchNet's schema are read instead of the hub.
    """
    split = normalize_split(split)
    try:
        rows = _load_rows(split, dataset_id, config_name, data_files)
    except UserError:
        raise
    except Exception as err:
        if _is_offline_error(err):
            raise UserError(f"cannot reach the Hugging Face hub for {dataset_id!r} ({type(err).__name__}); "
                            f"{_OFFLINE_HINT}") from err
        raise
    return [to_record(row, split) for row in rows]
