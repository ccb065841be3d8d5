"""What evaluation writes and the notebooks read: results files, the shipped examples, the comparison tables.

Each system's `results/<profile>/<folder>/evaluation_results.json` holds its metrics with 95% bootstrap
intervals, the config and checkpoint they came from, and every example; `summary_<split>.json` the metrics of
every system, `examples_<split>.jsonl.gz` every system's outputs in a file small enough to commit (what a fresh
clone's notebooks read), `comparison.{csv,md}` the table.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from ..io_utils import read_json, read_jsonl_gz, write_json, write_jsonl_gz, write_text

BASELINE_FOLDERS = {"retrieval": "retrieval", "constant (chrF)": "constant-chrf", "constant (BLEU)": "constant-bleu"}


def _examples(records: list[dict], hypotheses: list[str], per_example: list[dict]) -> list[dict]:
    """Every example: docstring, reference, generated code and its scores."""
    return [
        {"docstring": r["func_documentation_string"], "reference": r["func_code_string"], "generated": h,
         "repository": r["repository_name"], "func_name": r["func_name"], **scores}
        for r, h, scores in zip(records, hypotheses, per_example)
    ]


def write_results(path: Path, system: str, scored: dict[str, Any], records: list[dict], hypotheses: list[str],
                  extra: dict[str, Any]) -> tuple[dict[str, Any], list[dict]]:
    """Write one system's evaluation_results.json (atomically); return the summary part and the examples."""
    summary = {"system": system, **extra, "metrics": scored["metrics"], "ci95": scored["ci95"],
               "by_docstring_length": scored["by_docstring_length"], "by_code_length": scored["by_code_length"]}
    examples = _examples(records, hypotheses, scored["per_example"])
    write_json(path, {**summary, "examples": examples})
    return summary, examples


SHIPPED_FIELDS = ("docstring", "reference", "func_name", "repository", "ref_len")  # the same for every system


def write_shipped_examples(path: Path, examples: dict[str, list[dict]]) -> None:
    """The examples every notebook shows, compact enough to commit: per pair the docstring, reference and
    each system's output and length (`load_shipped_results` rebuilds the results files from it)."""
    systems = list(examples)
    rows = [
        {**{f: first[f] for f in SHIPPED_FIELDS},
         "generated": {s: examples[s][i]["generated"] for s in systems}, "hyp_len": {s: examples[s][i]["hyp_len"] for s in systems}}
        for i, first in enumerate(examples[systems[0]])
    ]
    write_jsonl_gz(path, rows)


def load_shipped_results(results_dir: Path, folder: str, split: str = "test") -> dict[str, Any] | None:
    """A system's results (summary and examples) from the committed summary and shipped examples, or None."""
    summaries, shipped = results_dir / f"summary_{split}.json", results_dir / f"examples_{split}.jsonl.gz"
    if not (summaries.is_file() and shipped.is_file()):
        return None
    system = {v: k for k, v in BASELINE_FOLDERS.items()}.get(folder, folder)
    summary = next((s for s in read_json(summaries) if s["system"] == system), None)
    rows = read_jsonl_gz(shipped)
    if summary is None or not rows or system not in rows[0]["generated"]:
        return None
    examples = [{**{f: r[f] for f in SHIPPED_FIELDS}, "generated": r["generated"][system], "hyp_len": r["hyp_len"][system]}
                for r in rows]
    return {**summary, "examples": examples}


# The comparison table's columns: scores 0-100, shares in percent, losses in nats per code piece ("" where none).
TABLE_COLUMNS = (
    "system", "chrf", "chrf_lo", "chrf_hi", "chrf_gain", "chrf_gain_lo", "chrf_gain_hi", "chrf_gain_plain",
    "bleu", "bleu_gain", "bleu_gain_plain", "bleu_no_layout", "compiles", "distinct", "length_ratio", "loss_true",
    "loss_shuffled",
)
MARKDOWN_HEADERS = {
    "chrf": "chrF [95% CI]", "chrf_gain": "chrF gain, length-matched [95% CI]", "chrf_gain_plain": "chrF gain",
    "bleu": "BLEU", "bleu_gain": "BLEU gain, length-matched", "bleu_gain_plain": "BLEU gain",
    "bleu_no_layout": "BLEU without layout", "compiles": "compiles %", "distinct": "distinct %",
    "length_ratio": "length ratio", "loss_true": "loss (nats)",
    "loss_shuffled": "loss, docstrings shuffled",
}
DECIMALS = {"compiles": 1, "distinct": 1, "loss_true": 3, "loss_shuffled": 3}  # the rest: 2


def table_rows(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per system with the plain numeric columns of `TABLE_COLUMNS` (what comparison.csv holds)."""
    rows = []
    for s in summaries:
        m, ci = s["metrics"], s["ci95"]
        values = {**m, "compiles": 100 * m["compiles"], "distinct": 100 * m["distinct_share"],
                  **{f"{name}_{end}": ci[name][i] for name in ("chrf", "chrf_gain") for i, end in enumerate(("lo", "hi"))},
                  **{name: s[name] for name in ("loss_true", "loss_shuffled") if s.get(name) is not None}}
        rows.append({"system": s["system"], **{column: round(values[column], DECIMALS.get(column, 2)) if column in values
                                               else "" for column in TABLE_COLUMNS[1:]}})
    return rows


def markdown_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The comparison rows for reading: intervals joined to their values, readable headers."""
    out = []
    for row in rows:
        readable = {"system": row["system"]}
        for column in TABLE_COLUMNS[1:]:
            if column.endswith(("_lo", "_hi")):
                continue
            value, places = row[column], DECIMALS.get(column, 2)
            if f"{column}_lo" in row:
                value = f"{value:.2f} [{row[f'{column}_lo']:.2f}, {row[f'{column}_hi']:.2f}]"
            elif isinstance(value, (int, float)):
                value = f"{value:.{places}f}"
            readable[MARKDOWN_HEADERS[column]] = value
        out.append(readable)
    return out


README_COLUMNS = ("chrf", "chrf_gain", "bleu", "bleu_no_layout", "compiles", "loss_true", "loss_shuffled")


def readme_table(csv_path: Path) -> str:
    """The README's short comparison table, from a comparison.csv: the headline columns only."""
    with csv_path.open(encoding="utf-8") as lines:
        rows = [{k: (float(v) if v not in ("", None) and k != "system" else v) for k, v in row.items()}
                for row in csv.DictReader(lines)]
    readable = markdown_rows(rows)
    keep = ["system", *(MARKDOWN_HEADERS[c] for c in README_COLUMNS)]
    return format_markdown([{k: row[k] for k in keep} for row in readable])


def format_markdown(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of the comparison rows."""
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(row[h]) for h in header) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_table(rows: list[dict[str, Any]], out_dirs: list[Path], stem: str = "comparison") -> str:
    """Write the comparison rows as CSV and (readable) Markdown into each folder; returns the Markdown."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    markdown = format_markdown(markdown_rows(rows))
    for out in out_dirs:
        write_text(out / f"{stem}.csv", buffer.getvalue())
        write_text(out / f"{stem}.md", markdown)
    return markdown


def load_summaries(results_dir: Path, split: str = "test") -> list[dict[str, Any]]:
    """The per-system summaries written by evaluate_models (for the comparison notebook)."""
    return read_json(results_dir / f"summary_{split}.json")
