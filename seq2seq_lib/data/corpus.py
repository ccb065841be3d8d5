"""The default corpus: (docstring, function) pairs mined from pinned PyPI packages by CodeSearchNet's method.

Pipeline of `build_corpus`: read `data/packages.txt` -> download every pinned archive with pip into
the cache (a pure-Python wheel for Python 3.11, else the CPython 3.11 manylinux_2_17_x86_64 wheel,
else the sdist: the same file on every machine) -> mine each archive with
`extract.extract_file` -> drop exact duplicates over the whole corpus -> split by package ->
drop near duplicates across splits -> write `{train,valid,test}.jsonl.gz` and the manifest.
A second list of training-only packages (the full profile's larger corpus) adds training pairs and
leaves the validation and test files byte-identical (`TRAINING_ONLY_RULE`).
Everything is deterministic: two builds from the same archives give byte-identical files.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from tqdm.auto import tqdm

from ..errors import UserError
from ..io_utils import read_jsonl_gz, write_json, write_jsonl_gz
from . import extract

SPLITS = ("train", "valid", "test")
DEFAULT_PACKAGES_FILE = "data/packages.txt"
DEFAULT_CORPUS_DIR = "data/corpus"
DEFAULT_CACHE_DIR = "data/cache"
DEFAULT_MANIFEST = "data/corpus_manifest.json"
DEFAULT_SAMPLE_DIR = "data/sample"

REFERENCE_PYTHON = (3, 11)
HELD_OUT_FRACTION = 0.10
MAX_PACKAGE_SHARE = 0.30
NEAR_DUP_JACCARD = 0.8
ARCHIVE_SUFFIXES = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2")

WHEEL_ARGS = ("--only-binary=:all:", "--platform", "any", "--python-version", "3.11", "--implementation", "py")
PLATFORM_WHEEL_ARGS = ("--only-binary=:all:", "--platform", "manylinux_2_17_x86_64", "--python-version", "3.11",
                       "--implementation", "cp", "--abi", "cp311")
SDIST_ARGS = ("--no-binary=:all:", "--no-build-isolation")
DOWNLOAD_ATTEMPTS = (WHEEL_ARGS, PLATFORM_WHEEL_ARGS, SDIST_ARGS)
SPLIT_RULE = (
    "Packages sorted by sha256 of their name; in that order a package goes to valid, else test, when it fits "
    f"in the split's target ({HELD_OUT_FRACTION:.0%} of the deduplicated pairs) and holds at most "
    f"{MAX_PACKAGE_SHARE:.0%} of that target; all other packages go to train."
)
NEAR_DUP_RULE = (
    f"Jaccard similarity of code-token sets >= {NEAR_DUP_JACCARD} across splits (prefix-filter index): "
    "a valid function near a train one is dropped; a test function near a train or kept valid one is dropped."
)

TRAINING_ONLY_RULE = (
    "Packages of the training-only list join the train split after the corpus above is split: a pair whose code "
    "tokens equal a pair's already kept is dropped, and so is one near a valid or test pair (the Jaccard rule "
    "above); the valid and test files stay byte-identical."
)

_SPEC_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)$")


@dataclass(frozen=True)
class PackageSpec:
    """One pinned package of the packages file."""

    name: str
    version: str
    licence: str

    @property
    def spec(self) -> str:
        """The pip requirement `name==version` (also the records' `repository_name`)."""
        return f"{self.name}=={self.version}"

    @property
    def cache_key(self) -> str:
        """The cache folder name: normalised name and version."""
        return f"{re.sub(r'[-_.]+', '-', self.name).lower()}-{self.version}"


# ----------------------------------------------------------------------------- packages and downloads


def read_packages(packages_file: str | os.PathLike = DEFAULT_PACKAGES_FILE) -> list[PackageSpec]:
    """Parse `name==version  # licence` lines (blank lines and `#` comments are ignored)."""
    path = Path(packages_file)
    if not path.is_file():
        raise UserError(f"packages file not found: {path}; pass an existing file such as {DEFAULT_PACKAGES_FILE}")
    specs = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        requirement, _, licence = raw.partition("#")
        if not requirement.strip():
            continue
        match = _SPEC_RE.match(requirement.strip())
        if match is None or not licence.strip():
            raise UserError(f"{path}:{number}: expected `name==version  # licence`, got {raw.strip()!r}")
        specs.append(PackageSpec(match.group(1), match.group(2), licence.strip()))
    names = [spec.cache_key.rsplit("-", 1)[0] for spec in specs]
    duplicates = sorted(name for name, n in Counter(names).items() if n > 1)
    if duplicates:
        raise UserError(f"{path}: packages listed twice: {', '.join(duplicates)}; keep one pin per package")
    return specs


def cached_archive(spec: PackageSpec, cache_dir: str | os.PathLike) -> Path | None:
    """The archive already in the cache for `spec`, if exactly one is there."""
    folder = Path(cache_dir) / spec.cache_key
    archives = sorted(p for p in folder.glob("*") if p.name.endswith(ARCHIVE_SUFFIXES)) if folder.is_dir() else []
    return archives[0] if len(archives) == 1 else None


def _pip_download(spec: PackageSpec, dest: Path, extra_args: tuple[str, ...]) -> str | None:
    """Run `pip download` for one requirement into `dest`; return pip's last error line on failure."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check",
               *extra_args, "--dest", str(dest), spec.spec]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode == 0:
        return None
    errors = [line.strip() for line in result.stderr.splitlines() if line.strip().startswith("ERROR")]
    return errors[-1] if errors else f"pip exited with status {result.returncode}"


def download_package(spec: PackageSpec, cache_dir: str | os.PathLike) -> Path:
    """Return the cached archive of `spec`, downloading it first (see `DOWNLOAD_ATTEMPTS` for the order)."""
    archive = cached_archive(spec, cache_dir)
    if archive is not None:
        return archive
    folder = Path(cache_dir) / spec.cache_key
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=f".{spec.cache_key}.") as tmp:
        for args in DOWNLOAD_ATTEMPTS:
            error = _pip_download(spec, Path(tmp), args)
            if error is None:
                break
        if error is not None:
            raise RuntimeError(f"download failed: {error}")
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(tmp, folder)
    archive = cached_archive(spec, cache_dir)
    if archive is None:
        raise RuntimeError(f"download failed: expected one archive in {folder}")
    return archive


def archive_kind(filename: str) -> str:
    """`wheel` (pure Python), `platform-wheel` or `sdist`, from an archive's file name."""
    if filename.endswith("-none-any.whl"):
        return "wheel"
    return "platform-wheel" if filename.endswith(".whl") else "sdist"


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ----------------------------------------------------------------------------- mining


def iter_python_files(archive: str | os.PathLike) -> Iterator[tuple[str, bytes]]:
    """Yield (path, bytes) of every `.py` file in a wheel/zip/tar archive, sorted by path.

    An sdist's top-level `name-version/` folder is removed from the path.
    """
    archive = Path(archive)
    if archive.name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as zf:
            names = sorted(n for n in zf.namelist() if n.endswith(".py"))
            strip = archive.name.endswith(".zip") and _common_root(names)
            for name in names:
                yield _strip_root(name, strip), zf.read(name)
    else:
        with tarfile.open(archive) as tf:
            members = sorted((m for m in tf.getmembers() if m.isfile() and m.name.endswith(".py")),
                             key=lambda m: m.name)
            strip = _common_root([m.name for m in members])
            for member in members:
                yield _strip_root(member.name, strip), tf.extractfile(member).read()


def _common_root(names: list[str]) -> bool:
    """True when every name lies in one shared top-level folder."""
    roots = {PurePosixPath(n).parts[0] for n in names if len(PurePosixPath(n).parts) > 1}
    return len(roots) == 1 and all(len(PurePosixPath(n).parts) > 1 for n in names)


def _strip_root(name: str, strip: bool) -> str:
    """Remove the top-level folder from an archive path when `strip`."""
    return str(PurePosixPath(*PurePosixPath(name).parts[1:])) if strip else name


def mine_archive(archive: str | os.PathLike, repository_name: str) -> dict:
    """Extract the filtered pairs of one archive: {"records", "files_seen", "files_skipped", "counts"}."""
    records: list[dict] = []
    files_skipped: Counter = Counter()
    counts: Counter = Counter()
    files_seen = 0
    for path, data in iter_python_files(archive):
        files_seen += 1
        file_records, file_counts = extract.extract_file(data, repository_name, path)
        records.extend(file_records)
        for key, value in file_counts.items():
            if key.startswith("file:"):
                files_skipped[key[5:]] += value
            else:
                counts[key] += value
    return {"records": records, "files_seen": files_seen,
            "files_skipped": dict(sorted(files_skipped.items())), "counts": counts}


def _mine_job(args: tuple[str, str]) -> dict:
    """Process-pool wrapper of `mine_archive` that reports errors instead of raising."""
    archive, repository_name = args
    try:
        return mine_archive(archive, repository_name)
    except Exception as err:  # a broken archive must not stop the build
        return {"error": f"mining failed: {type(err).__name__}: {err}"}


# ----------------------------------------------------------------------------- deduplication and splits


def drop_exact_duplicates(records: list[dict]) -> tuple[list[dict], list[dict]]:
    """Keep the first record of each code token sequence (same code up to whitespace and comments).

    Returns (kept, dropped).
    """
    seen: set[bytes] = set()
    kept, dropped = [], []
    for record in records:
        key = _code_key(record)
        if key in seen:
            dropped.append(record)
        else:
            seen.add(key)
            kept.append(record)
    return kept, dropped


def _code_key(record: dict) -> bytes:
    """What makes two records exact duplicates: the same code tokens (whitespace and comments aside)."""
    return hashlib.sha1("\x00".join(record["func_code_tokens"]).encode("utf-8")).digest()


def assign_splits(pair_counts: dict[str, int]) -> dict[str, str]:
    """Map each package to a split by the documented deterministic rule (see `SPLIT_RULE`)."""
    target = HELD_OUT_FRACTION * sum(pair_counts.values())
    filled = {"valid": 0, "test": 0}
    splits = {}
    for name in sorted(pair_counts, key=lambda n: (hashlib.sha256(n.encode("utf-8")).hexdigest(), n)):
        n = pair_counts[name]
        splits[name] = "train"
        for split in ("valid", "test"):
            if 0 < n <= MAX_PACKAGE_SHARE * target and filled[split] + n <= target:
                splits[name] = split
                filled[split] += n
                break
    return splits


class _PrefixIndex:
    """Inverted index over the prefix tokens of token sets, for Jaccard similarity search."""

    def __init__(self, threshold: float, rank: dict[str, int]) -> None:
        """An empty index for similarity `threshold`, tokens ordered by `rank` (rarest first)."""
        self.threshold = threshold
        self.rank = rank
        self.sets: list[frozenset] = []
        self.postings: dict[str, list[int]] = defaultdict(list)

    def _prefix(self, tokens: frozenset) -> list[str]:
        """The rarest tokens any set with Jaccard >= threshold must share with `tokens`."""
        length = len(tokens) - math.ceil(self.threshold * len(tokens)) + 1
        return sorted(tokens, key=self.rank.__getitem__)[:length]

    def add(self, tokens: frozenset) -> None:
        """Index one token set."""
        self.sets.append(tokens)
        for token in self._prefix(tokens):
            self.postings[token].append(len(self.sets) - 1)

    def has_similar(self, tokens: frozenset) -> bool:
        """True when an indexed set has Jaccard similarity >= threshold with `tokens`."""
        low, high = self.threshold * len(tokens), len(tokens) / self.threshold
        checked: set[int] = set()
        for token in self._prefix(tokens):
            for other in self.postings.get(token, ()):
                if other in checked:
                    continue
                checked.add(other)
                candidate = self.sets[other]
                if low <= len(candidate) <= high:
                    common = len(tokens & candidate)
                    if common >= self.threshold * (len(tokens) + len(candidate) - common):
                        return True
        return False


def _rarity_rank(token_sets: list[frozenset]) -> dict[str, int]:
    """Each token's rank by how many sets hold it, rarest first (ties by the token): the prefix filter's order."""
    frequency = Counter(token for tokens in token_sets for token in tokens)
    return {token: i for i, (token, _) in enumerate(sorted(frequency.items(), key=lambda kv: (kv[1], kv[0])))}


def near_duplicate_indices(records: list[dict], threshold: float = NEAR_DUP_JACCARD) -> set[int]:
    """Indices of valid/test records to drop as near duplicates across splits (see `NEAR_DUP_RULE`)."""
    token_sets = [frozenset(r["func_code_tokens"]) for r in records]
    rank = _rarity_rank(token_sets)
    by_split = defaultdict(list)
    for index, record in enumerate(records):
        by_split[record["split_name"]].append(index)
    train, valid = _PrefixIndex(threshold, rank), _PrefixIndex(threshold, rank)
    for index in by_split["train"]:
        train.add(token_sets[index])
    dropped = set()
    for index in by_split["valid"]:
        if train.has_similar(token_sets[index]):
            dropped.add(index)
        else:
            valid.add(token_sets[index])
    for index in by_split["test"]:
        if train.has_similar(token_sets[index]) or valid.has_similar(token_sets[index]):
            dropped.add(index)
    return dropped


# ----------------------------------------------------------------------------- the build


def _download_all(specs: list[PackageSpec], cache_dir: Path, jobs: int) -> tuple[dict[str, Path], dict[str, str]]:
    """Download (or find in the cache) every archive; return ({spec: archive}, {spec: error})."""
    archives, failures = {}, {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(download_package, spec, cache_dir): spec for spec in specs}
        for future in tqdm(as_completed(futures), total=len(futures), desc="download", unit="pkg"):
            spec = futures[future]
            try:
                archives[spec.spec] = future.result()
            except Exception as err:  # reported and skipped, never fatal
                failures[spec.spec] = str(err)
    return archives, failures


def _mine_all(archives: dict[str, Path], jobs: int) -> dict[str, dict]:
    """Mine every archive in a process pool (largest first); results keyed by package spec."""
    order = sorted(archives, key=lambda s: (-archives[s].stat().st_size, s))
    jobs_args = [(str(archives[s]), s) for s in order]
    results = {}
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(_mine_job, args): args[1] for args in jobs_args}
        for future in tqdm(as_completed(futures), total=len(futures), desc="mine", unit="pkg"):
            results[futures[future]] = future.result()
    return results


def _filter_counts(counts: Counter) -> dict[str, int]:
    """The per-function filter reasons of a mining counter, sorted by name."""
    return {k: v for k, v in sorted(counts.items()) if k not in ("functions", "with_docstring")}


def _package_entry(spec: PackageSpec, archive: Path | None, result: dict | None, error: str | None) -> dict:
    """The manifest entry of one package (before dedup and split information is added)."""
    entry = {"name": spec.name, "version": spec.version, "licence": spec.licence}
    if archive is not None:
        entry.update(archive=archive.name, sha256=sha256_file(archive), kind=archive_kind(archive.name))
    if error is not None:
        entry["error"] = error
        return entry
    counts = result["counts"]
    entry.update(files_seen=result["files_seen"], files_skipped=result["files_skipped"],
                 functions_seen=counts["functions"], pairs_extracted=counts["with_docstring"],
                 filtered=_filter_counts(counts), pairs_after_filters=len(result["records"]))
    return entry


def committed_manifest(out_dir: str | os.PathLike) -> Path:
    """Where the manifest of a corpus folder is committed: beside it, e.g. data/corpus -> data/corpus_manifest.json."""
    out = Path(out_dir)
    return out.parent / f"{out.name}_manifest.json"


def build_corpus(
    packages_file: str | os.PathLike = DEFAULT_PACKAGES_FILE,
    out_dir: str | os.PathLike = DEFAULT_CORPUS_DIR,
    cache_dir: str | os.PathLike = DEFAULT_CACHE_DIR,
    jobs: int = 2,
    manifest_path: str | os.PathLike | None = DEFAULT_MANIFEST,
    training_packages_file: str | os.PathLike | None = None,
) -> dict:
    """Build `out_dir/{train,valid,test}.jsonl.gz` and the manifest; return and print a short summary.

    Packages of `training_packages_file` only add training pairs (`TRAINING_ONLY_RULE`). The manifest goes to
    `out_dir/manifest.json` and, unless `manifest_path` is None, to `manifest_path`.
    """
    specs = read_packages(packages_file)
    extra = read_packages(training_packages_file) if training_packages_file is not None else []
    if both := sorted({s.cache_key.rsplit("-", 1)[0] for s in specs} & {s.cache_key.rsplit("-", 1)[0] for s in extra}):
        raise UserError(f"{training_packages_file}: {', '.join(both)} also in {packages_file}; list a package once")
    if sys.version_info[:2] != REFERENCE_PYTHON:
        print(f"note: building with Python {sys.version_info.major}.{sys.version_info.minor}; `tokenize` and `ast` "
              f"differ between versions, so files match {DEFAULT_MANIFEST} only when built with Python 3.11")
    clock = [time.perf_counter()]
    archives, failures = _download_all(specs + extra, Path(cache_dir), jobs)
    clock.append(time.perf_counter())
    results = _mine_all(archives, jobs)
    clock.append(time.perf_counter())
    failures.update({s: r["error"] for s, r in results.items() if "error" in r})
    entries = {s.spec: _package_entry(s, archives.get(s.spec), results.get(s.spec), failures.get(s.spec))
               for s in specs + extra}

    def ordered(group: list[PackageSpec]) -> list[str]:
        """The mined packages of a group, in the corpus's order."""
        return sorted((s.spec for s in group if s.spec not in failures), key=lambda s: (s.lower(), s))

    base, added = ordered(specs), ordered(extra)
    records = _deduplicate_and_split([r for spec in base for r in results[spec]["records"]], base, entries)
    if added:
        records += _training_only([r for spec in added for r in results[spec]["records"]], records, added, entries)
        records.sort(key=lambda r: (r["repository_name"].lower(), r["repository_name"]))  # stable: kept in order
    manifest = _write_outputs(Path(out_dir), records, entries, failures, results)
    if manifest_path is not None:
        write_json(manifest_path, manifest)
    clock.append(time.perf_counter())
    summary = {"counts": manifest["counts"], "packages": len(base) + len(added), "failed_packages": failures,
               "download_seconds": round(clock[1] - clock[0], 1), "mining_seconds": round(clock[2] - clock[1], 1),
               "dedup_split_write_seconds": round(clock[3] - clock[2], 1), "out_dir": str(out_dir)}
    counts = summary["counts"]
    print(f"corpus written to {out_dir}: train {counts['train']}, valid {counts['valid']}, test {counts['test']} pairs "
          f"from {summary['packages']} packages (download {summary['download_seconds']}s, mining "
          f"{summary['mining_seconds']}s, dedup/split/write {summary['dedup_split_write_seconds']}s)")
    for spec, reason in sorted(failures.items()):
        print(f"  skipped {spec}: {reason}")
    return summary


def _deduplicate_and_split(records: list[dict], ordered: list[str], entries: dict[str, dict]) -> list[dict]:
    """Drop exact duplicates, split by package, drop near duplicates across splits; note counts in `entries`."""
    records, exact_dropped = drop_exact_duplicates(records)
    pair_counts = Counter({spec: 0 for spec in ordered})
    pair_counts.update(r["repository_name"] for r in records)
    splits = assign_splits(dict(pair_counts))
    for record in records:
        record["split_name"] = splits[record["repository_name"]]
    near = near_duplicate_indices(records)
    exact_by_package = Counter(r["repository_name"] for r in exact_dropped)
    near_by_package = Counter(records[i]["repository_name"] for i in near)
    records = [r for i, r in enumerate(records) if i not in near]
    kept_by_package = Counter(r["repository_name"] for r in records)
    for spec in ordered:
        entries[spec].update(exact_duplicates=exact_by_package[spec], near_duplicates=near_by_package[spec],
                             pairs_kept=kept_by_package[spec], split=splits[spec])
    return records


def _training_only(extra: list[dict], kept: list[dict], packages: list[str], entries: dict[str, dict]) -> list[dict]:
    """The training-only packages' records that join the train split (`TRAINING_ONLY_RULE`); counts in `entries`."""
    seen = {_code_key(r) for r in kept}
    unique, exact = [], Counter()
    for record in extra:
        key = _code_key(record)
        if key in seen:
            exact[record["repository_name"]] += 1
        else:
            seen.add(key)
            unique.append(record)
    held_out = [frozenset(r["func_code_tokens"]) for r in kept if r["split_name"] != "train"]
    candidates = [frozenset(r["func_code_tokens"]) for r in unique]
    index = _PrefixIndex(NEAR_DUP_JACCARD, _rarity_rank(held_out + candidates))
    for tokens in held_out:
        index.add(tokens)
    near_flags = [index.has_similar(tokens) for tokens in candidates]
    near = Counter(r["repository_name"] for r, is_near in zip(unique, near_flags) if is_near)
    added = [{**r, "split_name": "train"} for r, is_near in zip(unique, near_flags) if not is_near]
    kept_by_package = Counter(r["repository_name"] for r in added)
    for spec in packages:
        entries[spec].update(exact_duplicates=exact[spec], near_duplicates=near[spec], pairs_kept=kept_by_package[spec],
                             split="train", training_only=True)
    return added


def _write_outputs(out_dir: Path, records: list[dict], entries: dict[str, dict], failures: dict[str, str],
                   results: dict[str, dict]) -> dict:
    """Write the three splits and `manifest.json` into `out_dir`; return the manifest."""
    outputs = {}
    for split in SPLITS:
        split_records = [r for r in records if r["split_name"] == split]
        path = out_dir / f"{split}.jsonl.gz"
        write_jsonl_gz(path, split_records)
        outputs[path.name] = {"records": len(split_records), "bytes": path.stat().st_size,
                              "sha256": sha256_file(path)}
    mined = [r for s, r in results.items() if s not in failures]
    filters: Counter = Counter()
    skipped: Counter = Counter()
    for result in mined:
        filters.update(_filter_counts(result["counts"]))
        skipped.update(result["files_skipped"])
    ok_entries = [e for e in entries.values() if "error" not in e]
    filters["exact_duplicate"] = sum(e["exact_duplicates"] for e in ok_entries)
    filters["near_duplicate"] = sum(e["near_duplicates"] for e in ok_entries)
    manifest = {
        "description": "Default corpus: (docstring, function) pairs mined from pinned PyPI packages "
                       "by CodeSearchNet's method (see seq2seq_lib/data/extract.py and corpus.py).",
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "download": ["pip download --no-deps " + " ".join(args) for args in DOWNLOAD_ATTEMPTS],
        "filters": {"min_doc_tokens": extract.MIN_DOC_TOKENS, "min_code_lines": extract.MIN_CODE_LINES,
                    "max_file_bytes": extract.MAX_FILE_BYTES, "near_duplicate_jaccard": NEAR_DUP_JACCARD,
                    "vendored_dirs": sorted(extract.VENDORED_DIRS), "test_dirs": sorted(extract.TEST_DIRS)},
        "split_rule": SPLIT_RULE,
        **({"training_only_rule": TRAINING_ONLY_RULE} if any(e.get("training_only") for e in entries.values()) else {}),
        "near_duplicate_rule": NEAR_DUP_RULE,
        "counts": {**{s: outputs[f"{s}.jsonl.gz"]["records"] for s in SPLITS}, "total": len(records)},
        "packages_per_split": {s: sum(1 for e in ok_entries if e["split"] == s) for s in SPLITS},
        "pairs_extracted": sum(e["pairs_extracted"] for e in ok_entries),
        "filter_counts": dict(sorted(filters.items())),
        "files_seen": sum(e["files_seen"] for e in ok_entries),
        "files_skipped": dict(sorted(skipped.items())),
        "failed_packages": dict(sorted(failures.items())),
        "outputs": outputs,
        "packages": [entries[s] for s in sorted(entries, key=lambda s: (s.lower(), s))],
    }
    write_json(out_dir / "manifest.json", manifest)
    return manifest


# ----------------------------------------------------------------------------- loading and statistics


def split_path(corpus_dir: str | os.PathLike, split: str) -> Path:
    """The file of one split; UserError for an unknown split name."""
    if split not in SPLITS:
        raise UserError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    return Path(corpus_dir) / f"{split}.jsonl.gz"


def load_split(corpus_dir: str | os.PathLike, split: str) -> list[dict]:
    """Load one split as a list of records; UserError when the corpus is not built."""
    path = split_path(corpus_dir, split)
    if not path.is_file():
        raise UserError(f"corpus not built: {path} is missing; run `python -m seq2seq_lib data build` "
                        f"(or use {DEFAULT_SAMPLE_DIR})")
    return read_jsonl_gz(path)


def percentiles(values: list[int], points: tuple[int, ...] = (50, 90, 95, 99)) -> dict[str, float]:
    """Mean, nearest-rank percentiles and max of `values` (zeros when empty)."""
    if not values:
        return {"mean": 0.0, **{f"p{p}": 0 for p in points}, "max": 0}
    ranks = np.percentile(values, points, method="inverted_cdf")  # nearest rank: the smallest value with p% at or below it
    return {"mean": round(sum(values) / len(values), 1), **{f"p{p}": int(r) for p, r in zip(points, ranks)}, "max": max(values)}


def corpus_stats(corpus_dir: str | os.PathLike = DEFAULT_CORPUS_DIR) -> dict:
    """Counts per split and per package, and token-length percentiles of docstrings and code."""
    stats: dict = {"corpus_dir": str(corpus_dir), "splits": {}, "packages": {}}
    all_doc, all_code = [], []
    for split in SPLITS:
        records = load_split(corpus_dir, split)
        doc = [len(r["func_documentation_tokens"]) for r in records]
        code = [len(r["func_code_tokens"]) for r in records]
        all_doc += doc
        all_code += code
        packages = Counter(r["repository_name"] for r in records)
        stats["packages"][split] = dict(sorted(packages.items(), key=lambda kv: (-kv[1], kv[0])))
        stats["splits"][split] = {"pairs": len(records), "packages": len(packages),
                                  "doc_tokens": percentiles(doc), "code_tokens": percentiles(code)}
    stats["total"] = {"pairs": len(all_doc), "packages": sum(s["packages"] for s in stats["splits"].values()),
                      "doc_tokens": percentiles(all_doc), "code_tokens": percentiles(all_code)}
    return stats
