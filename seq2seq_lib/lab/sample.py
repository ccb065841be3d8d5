"""The committed sample corpus (`data/sample/`): a deterministic draw of each split, with its licence notices.

    python -m seq2seq_lib.lab.sample   # after `python -m seq2seq_lib data build`
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..data.corpus import DEFAULT_CORPUS_DIR, DEFAULT_SAMPLE_DIR, SPLITS, load_split, sha256_file
from ..io_utils import read_json, write_json, write_jsonl_gz, write_text

DEFAULT_NOTICES = "data/THIRD_PARTY_NOTICES.md"
DEFAULT_SAMPLE_SIZES = {"train": 3000, "valid": 400, "test": 400}


def _sample_rank(record: dict) -> str:
    """A stable pseudo-random rank of a record (sha256 of its identity and code)."""
    key = "\n".join((record["repository_name"], record["func_path_in_repository"], record["func_name"],
                     record["func_code_string"]))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def make_sample(
    corpus_dir: str | os.PathLike = DEFAULT_CORPUS_DIR,
    sample_dir: str | os.PathLike = DEFAULT_SAMPLE_DIR,
    sizes: dict[str, int] | None = None,
    notices_path: str | os.PathLike | None = DEFAULT_NOTICES,
) -> dict:
    """Draw a deterministic sample of each split into `sample_dir`, with its manifest and licence notices."""
    sizes = dict(DEFAULT_SAMPLE_SIZES if sizes is None else sizes)
    licences = {f"{e['name']}=={e['version']}": e["licence"]
                for e in read_json(Path(corpus_dir) / "manifest.json")["packages"]}
    manifest: dict = {"description": f"Deterministic sample of {corpus_dir}: per split, the records with the "
                                     "smallest sha256 of (package, path, name, code), in corpus order.",
                      "sizes": sizes, "outputs": {}, "packages": {}}
    used: set[str] = set()
    for split in SPLITS:
        records = load_split(corpus_dir, split)
        chosen = set(sorted(range(len(records)), key=lambda i: _sample_rank(records[i]))[:sizes[split]])
        sample = [r for i, r in enumerate(records) if i in chosen]
        path = Path(sample_dir) / f"{split}.jsonl.gz"
        write_jsonl_gz(path, sample)
        manifest["outputs"][path.name] = {"records": len(sample), "bytes": path.stat().st_size,
                                          "sha256": sha256_file(path)}
        packages = sorted({r["repository_name"] for r in sample}, key=str.lower)
        manifest["packages"][split] = packages
        used.update(packages)
    manifest["licences"] = {spec: licences[spec] for spec in sorted(used, key=str.lower)}
    write_json(Path(sample_dir) / "manifest.json", manifest)
    if notices_path is not None:
        write_text(notices_path, _notices(manifest["licences"]))
    return manifest


def _notices(licences: dict[str, str]) -> str:
    """The THIRD_PARTY_NOTICES.md text for the packages whose code appears in the sample."""
    rows = "\n".join(f"| {spec.split('==')[0]} | {spec.split('==')[1]} | {licence} |"
                     for spec, licence in licences.items())
    return (
        "# Third-party notices\n\n"
        "`data/sample/` contains functions and docstrings copied verbatim from the following open-source\n"
        "packages (downloaded from PyPI at the pinned versions in `data/packages.txt`; archive digests in\n"
        "`data/corpus_manifest.json`). Each snippet remains under its package's licence; the copyright\n"
        "belongs to the package's authors. `repository_name` in every record names its package.\n\n"
        "| package | version | licence |\n|---|---|---|\n"
        f"{rows}\n\n"
        "Every licence above is permissive (MIT, BSD, Apache-2.0, ISC or PSF-style); its full text, with the\n"
        "copyright notice, ships inside the package's archive (for example `*.dist-info/LICENSE*`).\n\n"
        "The full corpus built by `python -m seq2seq_lib data build` (`data/corpus/`, not committed) draws on\n"
        "every package of `data/packages.txt`, each with the licence recorded there and in the manifest.\n"
    )


if __name__ == "__main__":
    make_sample()
