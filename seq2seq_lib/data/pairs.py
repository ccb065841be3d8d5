"""A user's own (docstring, code) pairs, read from JSONL for `evaluate --pairs FILE --out DIR`."""

from __future__ import annotations

import json
from pathlib import Path

from ..config import Config
from ..errors import UserError
from ..paths import run_paths
from .extract import doc_tokens


def read_pairs(path: str | Path) -> list[dict]:
    """Records in the corpus schema from a JSONL file whose rows hold non-empty "docstring" and "code" strings."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"pairs file not found: {path}; give a JSONL file with one {{\"docstring\", \"code\"}} object a line")
    records = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{path} line {number}: not valid JSON ({exc.msg}); write one JSON object a line") from None
            if not isinstance(row, dict):
                raise UserError(f"{path} line {number}: expected a JSON object with \"docstring\" and \"code\"")
            for field in ("docstring", "code"):
                if not isinstance(row.get(field), str) or not row[field].strip():
                    raise UserError(f"{path} line {number}: \"{field}\" must be a non-empty string")
            records.append({
                "func_documentation_string": row["docstring"], "func_code_string": row["code"],
                "func_documentation_tokens": doc_tokens(row["docstring"]),
                "repository_name": str(row.get("repository", "")), "func_name": str(row.get("func_name", f"line {number}")),
            })
    if len(records) < 2:
        raise UserError(f"{path}: {len(records)} pair(s); the docstring gain compares outputs with other pairs' code, "
                        "so give at least 2 (a few hundred for useful intervals)")
    return records


def check_out_dir(out: str | Path, config: Config) -> Path:
    """The folder for a pairs file's results, refused when it is or lies inside results/<profile>/."""
    folder = Path(out).resolve()
    protected = run_paths(config).results_dir.resolve()
    if folder == protected or folder.is_relative_to(protected):
        raise UserError(f"--out {out} is inside {protected}, which holds the profile's own results; choose another folder")
    return folder
