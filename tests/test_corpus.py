"""Building, splitting, deduplicating and loading the default corpus (offline, on tiny local archives)."""

import gzip
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from seq2seq_lib.data import corpus, extract
from seq2seq_lib.errors import UserError

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("alpha", "beta", "gamma", "delta")


def _function(name: str, words: list[str], doc: str) -> str:
    """A small function whose identifiers come from `words` (so different word lists do not look alike)."""
    body = "".join(f"    {w} = {w}_source({i})\n" for i, w in enumerate(words))
    return f'def {name}(values):\n    """{doc}"""\n{body}    return {" + ".join(words)}\n\n\n'


def _near_copy(extra: str) -> str:
    """The same 12-statement function with one extra statement: Jaccard of token sets stays >= 0.8."""
    words = [f"shared_{i}" for i in range(12)]
    source = _function("near_copy", words, "Combine the shared values into one number.")
    return source.replace("    return", f"    {extra} = 1\n    return")


def _package_sources(package: str) -> dict[str, str]:
    """The files of one fake package: six distinct functions, a near copy and skipped files."""
    module = "".join(_function(f"{package}_op{i}", [f"{package}_{i}_{j}" for j in range(3)],
                               f"Apply operation {i} of the {package} package.") for i in range(6))
    module += _near_copy(f"{package}_extra")
    files = {f"{package}/core.py": module}
    if package in ("alpha", "beta"):
        helper = 'def shared_helper(x):\n    """Double the input value exactly."""\n    y = x * 2\n    return y\n'
        files[f"{package}/helpers.py"] = helper if package == "alpha" else helper.replace("y = x * 2", "y  =  x*2 ")
    if package == "alpha":
        files["alpha/_vendor/six.py"] = _function("vendored_fn", ["v1", "v2"], "A vendored function here.")
        files["alpha/tests/test_core.py"] = _function("check_core", ["c1", "c2"], "Check the core module works.")
        files["alpha/broken.py"] = "def broken(:\n    pass\n"
    return files


def make_wheel(cache_dir: Path, name: str, version: str, files: dict[str, str]) -> Path:
    """Write a wheel-shaped zip of `files` where the builder's cache expects it."""
    folder = cache_dir / f"{name}-{version}"
    folder.mkdir(parents=True)
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for member, text in sorted(files.items()):
            zf.writestr(zipfile.ZipInfo(member, date_time=(2020, 1, 1, 0, 0, 0)), text)
    return path


@pytest.fixture
def tiny_setup(tmp_path, monkeypatch):
    """Four fake packages in a local cache, a packages file, and held-out targets small enough to use them."""
    monkeypatch.setattr(corpus, "HELD_OUT_FRACTION", 0.25)
    monkeypatch.setattr(corpus, "MAX_PACKAGE_SHARE", 1.0)
    cache = tmp_path / "cache"
    for name in PACKAGES:
        make_wheel(cache, name, "1.0", _package_sources(name))
    packages = tmp_path / "packages.txt"
    packages.write_text("# fake packages\n" + "".join(f"{n}==1.0  # MIT\n" for n in PACKAGES))
    return packages, cache


def _build(tiny_setup, out: Path, jobs: int = 2) -> dict:
    """Build the tiny corpus into `out`, with its manifest beside it."""
    packages, cache = tiny_setup
    return corpus.build_corpus(packages, out, cache, jobs=jobs, manifest_path=out.parent / f"{out.name}-manifest.json")


def test_double_build_is_byte_identical(tiny_setup, tmp_path):
    _build(tiny_setup, tmp_path / "one", jobs=2)
    _build(tiny_setup, tmp_path / "two", jobs=1)
    for name in ("train.jsonl.gz", "valid.jsonl.gz", "test.jsonl.gz", "manifest.json"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    assert (tmp_path / "one-manifest.json").read_bytes() == (tmp_path / "one" / "manifest.json").read_bytes()


def test_tiny_build_filters_and_splits(tiny_setup, tmp_path):
    summary = _build(tiny_setup, tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    entries = {e["name"]: e for e in manifest["packages"]}
    assert entries["alpha"]["files_skipped"] == {"syntax_error": 1, "test_path": 1, "vendored": 1}
    assert entries["alpha"]["files_seen"] == 5
    assert entries["beta"]["exact_duplicates"] == 1 and entries["alpha"]["exact_duplicates"] == 0
    assert manifest["filter_counts"]["exact_duplicate"] == 1
    # one package each in valid and test; their near copies of the train packages' function are dropped
    assert sorted(e["split"] for e in entries.values()) == ["test", "train", "train", "valid"]
    assert manifest["filter_counts"]["near_duplicate"] == 2
    records = {split: corpus.load_split(tmp_path / "out", split) for split in corpus.SPLITS}
    assert sum(len(r) for r in records.values()) == manifest["counts"]["total"] == 4 * 7 + 1 - 2
    assert summary["counts"] == manifest["counts"]
    for split, split_records in records.items():
        assert {r["split_name"] for r in split_records} == {split}
        assert {r["repository_name"] for r in split_records} == {
            f"{n}==1.0" for n, e in entries.items() if e["split"] == split}
        assert split_records == sorted(split_records, key=lambda r: r["repository_name"])
    train_names = {r["func_name"] for r in records["train"]}
    assert "near_copy" in train_names and "shared_helper" in train_names
    held_out = {r["func_name"] for split in ("valid", "test") for r in records[split]}
    assert "near_copy" not in held_out
    assert manifest["outputs"]["train.jsonl.gz"]["sha256"] == corpus.sha256_file(tmp_path / "out" / "train.jsonl.gz")
    assert entries["alpha"]["sha256"] == corpus.sha256_file(tiny_setup[1] / "alpha-1.0" / "alpha-1.0-py3-none-any.whl")


def test_failed_package_is_reported_and_skipped(tiny_setup, tmp_path, monkeypatch):
    packages, cache = tiny_setup
    packages.write_text(packages.read_text() + "missing-pkg==9.9  # MIT\n")
    monkeypatch.setattr(corpus, "_pip_download", lambda spec, dest, args: "ERROR: No matching distribution found")
    summary = corpus.build_corpus(packages, tmp_path / "out", cache, jobs=1, manifest_path=None)
    assert summary["failed_packages"] == {"missing-pkg==9.9": "download failed: ERROR: No matching distribution found"}
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert "missing-pkg==9.9" in manifest["failed_packages"]
    assert summary["packages"] == 4


def test_stats_on_tiny_build(tiny_setup, tmp_path):
    _build(tiny_setup, tmp_path / "out")
    stats = corpus.corpus_stats(tmp_path / "out")
    assert stats["total"]["pairs"] == sum(s["pairs"] for s in stats["splits"].values()) == 27
    assert stats["total"]["packages"] == 4
    assert stats["total"]["doc_tokens"]["max"] >= stats["total"]["doc_tokens"]["p50"] >= 3
    train = corpus.load_split(tmp_path / "out", "train")
    assert sum(stats["packages"]["train"].values()) == stats["splits"]["train"]["pairs"] == len(train)


def test_load_split_errors(tmp_path):
    with pytest.raises(UserError) as info:
        corpus.load_split(tmp_path / "nowhere", "train")
    message = str(info.value)
    assert message.startswith("corpus not built: ") and "train.jsonl.gz is missing" in message
    assert "python -m seq2seq_lib data build" in message and "\n" not in message
    with pytest.raises(UserError, match="unknown split 'dev'"):
        corpus.load_split(tmp_path, "dev")


def test_exact_duplicates_ignore_whitespace_and_comments():
    codes = ("def f(x):\n    return x+1", "def f(x):  return   x + 1  # same", "def f(y):\n    return y+1")
    records = [{"func_code_string": code, "func_code_tokens": extract.code_tokens(code)} for code in codes]
    kept, dropped = corpus.drop_exact_duplicates(records)
    assert kept == [records[0], records[2]] and dropped == [records[1]]


def test_near_duplicates_across_splits_only():
    base = [f"tok{i}" for i in range(20)]

    def record(split, tokens):
        return {"split_name": split, "func_code_tokens": tokens}

    records = [
        record("train", base),
        record("train", base[:19] + ["other"]),  # same split: never dropped
        record("valid", base[:18] + ["v1", "v2"]),  # J = 18/22 >= 0.8 with train -> dropped
        record("valid", base[:15] + ["w1", "w2", "w3", "w4", "w5"]),  # J = 15/25 < 0.8 -> kept
        record("test", base[:15] + ["w1", "w2", "w3", "w4", "x5"]),  # near the kept valid one -> dropped
        record("test", [f"unique{i}" for i in range(10)]),
    ]
    assert corpus.near_duplicate_indices(records) == {2, 4}


def test_assign_splits_rule():
    counts = {f"pkg{i}": 50 + 37 * (i % 7) for i in range(40)}
    counts["huge"] = 3000
    splits = corpus.assign_splits(counts)
    assert splits == corpus.assign_splits(dict(reversed(counts.items())))  # order of input does not matter
    assert splits["huge"] == "train"
    total = sum(counts.values())
    for split in ("valid", "test"):
        members = [p for p, s in splits.items() if s == split]
        share = sum(counts[p] for p in members) / total
        assert len(members) >= 3 and 0.08 <= share <= 0.10


def test_read_packages(tmp_path):
    path = tmp_path / "packages.txt"
    path.write_text("# comment\n\nFoo_Bar==1.2.post1  # MIT\n")
    [spec] = corpus.read_packages(path)
    assert (spec.spec, spec.licence, spec.cache_key) == ("Foo_Bar==1.2.post1", "MIT", "foo-bar-1.2.post1")
    path.write_text("foo>=1.0  # MIT\n")
    with pytest.raises(UserError, match="packages.txt:1"):
        corpus.read_packages(path)
    path.write_text("foo==1.0\n")
    with pytest.raises(UserError, match="licence"):
        corpus.read_packages(path)


def test_sdist_paths_lose_their_top_folder(tmp_path):
    archive = tmp_path / "pkg-1.0.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for name in ("pkg-1.0/pkg/mod.py", "pkg-1.0/setup.py", "pkg-1.0/README.txt"):
            data = b"x = 1\n"
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    assert [path for path, _ in corpus.iter_python_files(archive)] == ["pkg/mod.py", "setup.py"]


def test_packages_file_is_pinned_and_permissive():
    specs = corpus.read_packages(REPO / "data" / "packages.txt")
    assert len(specs) >= 40
    allowed = ("MIT", "BSD-2-Clause", "BSD-3-Clause", "Apache-2.0", "ISC", "PSF-2.0")
    assert all(any(spec.licence.startswith(a) for a in allowed) for spec in specs)


def test_committed_manifest_is_package_disjoint():
    manifest = json.loads((REPO / "data" / "corpus_manifest.json").read_text())
    built = [e for e in manifest["packages"] if "split" in e]
    counts = manifest["counts"]
    assert counts["total"] >= 50_000
    assert sum(counts[s] for s in corpus.SPLITS) == counts["total"]
    for split in corpus.SPLITS:
        assert sum(e["pairs_kept"] for e in built if e["split"] == split) == counts[split]
    for split in ("valid", "test"):
        assert manifest["packages_per_split"][split] >= 3
        assert 0.07 <= counts[split] / counts["total"] <= 0.11
    assert all(len(e["sha256"]) == 64 for e in built)


def test_committed_sample_is_small_disjoint_and_noticed():
    sample_dir = REPO / "data" / "sample"
    manifest = json.loads((sample_dir / "manifest.json").read_text())
    packages = {}
    total_bytes = 0
    for split in corpus.SPLITS:
        path = sample_dir / f"{split}.jsonl.gz"
        total_bytes += path.stat().st_size
        records = corpus.load_split(sample_dir, split)
        assert len(records) == manifest["outputs"][path.name]["records"] > 0
        assert {r["split_name"] for r in records} == {split}
        packages[split] = {r["repository_name"] for r in records}
    assert total_bytes <= 5_000_000
    assert not packages["train"] & packages["valid"]
    assert not packages["train"] & packages["test"]
    assert not packages["valid"] & packages["test"]
    notices = (REPO / "data" / "THIRD_PARTY_NOTICES.md").read_text()
    for spec in set().union(*packages.values()):
        name, version = spec.split("==")
        assert f"| {name} | {version} | {manifest['licences'][spec]} |" in notices


def test_gzip_outputs_have_no_timestamp(tiny_setup, tmp_path):
    _build(tiny_setup, tmp_path / "out")
    header = (tmp_path / "out" / "train.jsonl.gz").read_bytes()[:10]
    assert header[4:8] == b"\x00\x00\x00\x00"  # mtime 0: builds on different days give the same bytes
    with gzip.open(tmp_path / "out" / "train.jsonl.gz", "rt") as f:
        assert json.loads(f.readline())["language"] == "python"


def test_training_only_packages_add_train_pairs_and_leave_valid_and_test_byte_identical(tiny_setup, tmp_path):
    packages, cache = tiny_setup
    _build(tiny_setup, tmp_path / "base")
    base = {split: corpus.load_split(tmp_path / "base", split) for split in corpus.SPLITS}
    valid_fn, test_fn = base["valid"][0]["whole_func_string"], base["test"][0]["whole_func_string"]
    near_test = test_fn.replace("\n    return", "\n    added_statement = 1\n    return")
    train_fn = base["train"][0]["whole_func_string"]
    fresh = "".join(_function(f"eps_op{i}", [f"eps_{i}_{j}" for j in range(3)], f"Apply new operation {i} here.") for i in range(3))
    make_wheel(cache, "epsilon", "2.0", {"epsilon/core.py": fresh, "epsilon/copies.py": "\n\n".join([valid_fn, near_test, train_fn])})
    extra = tmp_path / "extra.txt"
    extra.write_text("epsilon==2.0  # MIT\n")
    corpus.build_corpus(packages, tmp_path / "full", cache, jobs=1, manifest_path=None, training_packages_file=extra)

    for split in ("valid", "test"):
        assert (tmp_path / "full" / f"{split}.jsonl.gz").read_bytes() == (tmp_path / "base" / f"{split}.jsonl.gz").read_bytes()
    train = corpus.load_split(tmp_path / "full", "train")
    added = [r for r in train if r["repository_name"] == "epsilon==2.0"]
    assert sorted(r["func_name"] for r in added) == ["eps_op0", "eps_op1", "eps_op2"]  # the three copies dropped
    assert [r for r in train if r["repository_name"] != "epsilon==2.0"] == base["train"]
    assert train == sorted(train, key=lambda r: r["repository_name"])
    manifest = json.loads((tmp_path / "full" / "manifest.json").read_text())
    entry = next(e for e in manifest["packages"] if e["name"] == "epsilon")
    assert (entry["split"], entry["training_only"], entry["pairs_kept"]) == ("train", True, 3)
    assert (entry["exact_duplicates"], entry["near_duplicates"]) == (2, 1)  # the valid and the train copy; the near test one
    assert manifest["training_only_rule"] == corpus.TRAINING_ONLY_RULE


def test_a_package_in_both_lists_is_refused(tiny_setup, tmp_path):
    packages, cache = tiny_setup
    extra = tmp_path / "extra.txt"
    extra.write_text("alpha==2.0  # MIT\n")
    with pytest.raises(UserError, match="alpha also in"):
        corpus.build_corpus(packages, tmp_path / "out", cache, jobs=1, manifest_path=None, training_packages_file=extra)
