"""What Colab and Binder see: a copy of the repository with no corpus and no runs/, where every committed
quick-profile notebook runs top to bottom from the shipped weights and the committed results."""

import shutil
import subprocess

import nbformat
import pytest

from seq2seq_lib.config import PROJECT_ROOT


def repository_copy(target):
    """The repository's files as a fresh clone of this working tree has them (tracked and not ignored)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=PROJECT_ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = PROJECT_ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.mark.slow
def test_every_quick_notebook_runs_from_a_fresh_clone(tmp_path, monkeypatch):
    import papermill

    clone = repository_copy(tmp_path / "clone")
    assert not (clone / "data" / "corpus").exists() and not (clone / "runs").exists()
    monkeypatch.setenv("PYTHONPATH", str(clone))  # the kernel imports the copy's seq2seq_lib
    for notebook in sorted((clone / "notebooks").glob("0[1-6]_*.ipynb")):
        executed = tmp_path / notebook.name
        papermill.execute_notebook(str(notebook), str(executed), parameters={"profile": "quick", "seed": 1234},
                                   cwd=str(clone), kernel_name="python3", progress_bar=False)
        outputs = [output for cell in nbformat.read(executed, as_version=4).cells for output in cell.get("outputs", [])]
        assert not any(output.get("output_type") == "error" for output in outputs), notebook.name
        assert "no results for" not in "\n".join(map(str, outputs)), notebook.name  # real results, not a note
    assert (clone / "figures" / "05_comparison.png").is_file()
    assert not (clone / "runs").exists() and not (clone / "data" / "corpus").exists()  # nothing was trained or built
