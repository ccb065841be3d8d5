"""The course notebooks: paired with their percent scripts, well-formed, and they run in the smoke profile."""

import importlib.util
import json
import time
from collections import Counter
from pathlib import Path

import nbformat
import pytest

from seq2seq_lib.config import PROJECT_ROOT
from seq2seq_lib.paths import run_paths
from seq2seq_lib.course.notebook_helpers import coverage_curve, describe_training, pick_examples
from seq2seq_lib.course.notebooks import MATHJAX_URL, course_notebooks, execute_notebooks, export_notebook

COURSE = ("01_data_exploration.ipynb", "02_rnn_seq2seq.ipynb", "03_lstm_seq2seq.ipynb", "04_attention_seq2seq.ipynb",
          "05_comparison.ipynb")
MODEL_NOTEBOOKS = {"02_rnn_seq2seq.ipynb": "02_rnn", "03_lstm_seq2seq.ipynb": "03_lstm", "04_attention_seq2seq.ipynb": "04_attention"}
EXPECTED_FIGURES = (
    "01_split_sizes.png", "01_package_sources.png", "01_length_distributions.png", "01_top_tokens.png",
    "01_vocab_coverage.png", "01_corpus_stats.csv", "01_corpus_stats.md", "01_vocab_coverage.csv",
    *(f"{prefix}_{kind}" for prefix in MODEL_NOTEBOOKS.values()
      for kind in ("learning_curves.png", "test_metrics.csv", "test_metrics.md", "examples.csv", "examples.md")),
    "04_attention_example.png",
    "05_comparison.png", "05_comparison.csv", "05_comparison.md", "05_learning_curves.png",
    "05_gain_by_docstring_length.png", "05_gain_by_code_length.png", "05_significance.csv", "05_significance.md",
    "05_examples.csv", "05_examples.md",
)
SLIDE_TYPES = {"slide", "subslide", "fragment", "skip", "-", "notes"}
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _load_script(name: str):
    """Import scripts/<name>.py as a module."""
    spec = importlib.util.spec_from_file_location(name, PROJECT_ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _authored_cells(path) -> list[tuple[str, str, dict]]:
    """(type, source, slideshow) of a notebook's cells, without papermill's injected parameters or any outputs.

    The quick profile executes the notebooks in place (notebooks/), so committed copies may carry outputs.
    """
    nb = nbformat.read(path, as_version=4)
    return [(c.cell_type, c.source, c.metadata.get("slideshow")) for c in nb.cells
            if "injected-parameters" not in c.metadata.get("tags", [])]


@pytest.mark.parametrize("filename", [*COURSE, "06_interactive_demo.ipynb"])
def test_each_notebook_is_paired_with_its_percent_script(filename):
    import jupytext

    notebook = PROJECT_ROOT / "notebooks" / filename
    script = jupytext.read(notebook.with_suffix(".py"))
    authored = [c for c in script.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    assert _authored_cells(notebook) == [(c.cell_type, c.source, c.metadata.get("slideshow")) for c in authored], (
        f"notebooks/{filename} and its .py source differ: run `jupytext --sync notebooks/{filename}`")


@pytest.mark.parametrize("filename", COURSE)
def test_notebook_structure(filename):
    nb = nbformat.read(PROJECT_ROOT / "notebooks" / filename, as_version=4)
    nbformat.validate(nb)
    cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    assert all(cell.metadata["slideshow"]["slide_type"] in SLIDE_TYPES for cell in cells)
    first_md = cells[0]
    assert first_md.cell_type == "markdown" and "colab-badge.svg" in first_md.source and "mybinder.org" in first_md.source
    code_cells = [c for c in cells if c.cell_type == "code"]
    parameters = code_cells[0]
    assert parameters.metadata["tags"] == ["parameters"]
    assert 'profile = "quick"' in parameters.source and "seed = 1234" in parameters.source
    assert ("retrain = False" in parameters.source) == (filename in MODEL_NOTEBOOKS)
    assert 'if "google.colab" in sys.modules' in code_cells[1].source
    assert "setup_notebook(profile, seed)" in code_cells[2].source
    assert not any(str(PROJECT_ROOT) in json.dumps(c.get("outputs", [])) for c in code_cells), "absolute path in an output"


@pytest.mark.parametrize("filename", [*COURSE, "06_interactive_demo.ipynb"])
def test_committed_notebooks_show_one_parameters_cell(filename):
    nb = nbformat.read(PROJECT_ROOT / "notebooks" / filename, as_version=4)
    tagged = [c for c in nb.cells if {"parameters", "injected-parameters"} & set(c.metadata.get("tags", []))]
    assert len(tagged) == 1, "the quick profile runs the notebooks with their own defaults: nothing to inject"
    source = nb.metadata.get("papermill", {}).get("input_path", f"notebooks/{filename}")
    assert source == f"notebooks/{filename}", "papermill's record of its input is the path, not a copy of the notebook"


def test_papermill_injects_only_what_differs_from_the_notebook_defaults():
    from seq2seq_lib.config import load_config, profile_config_path
    from seq2seq_lib.course.notebooks import _parameters

    assert _parameters(load_config(profile_config_path("quick"))) == {}
    assert _parameters(load_config(profile_config_path("full"))) == {"profile": "full", "seed": 1234}
    assert _parameters(load_config(profile_config_path("quick"), {"seed": 7})) == {"profile": "quick", "seed": 7}


@pytest.mark.parametrize("filename", [*COURSE, "06_interactive_demo.ipynb"])
def test_colab_cell_clones_once_and_can_run_again(filename, tmp_path, monkeypatch):
    import subprocess
    import sys
    import types

    cell = next(c.source for c in nbformat.read(PROJECT_ROOT / "notebooks" / filename, as_version=4).cells
                if c.cell_type == "code" and 'if "google.colab" in sys.modules' in c.source)
    clone = tmp_path / "seq2seq-code-generation"
    calls = []

    def fake_run(args, check):
        calls.append(args[:2])
        if args[:2] == ["git", "clone"]:
            Path(args[-1]).mkdir()

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(sys, "path", list(sys.path))
    source = cell.replace("/content/seq2seq-code-generation", str(clone))
    exec(source, {})
    exec(source, {})  # a second run, as when a student re-runs the cell
    assert calls == [["git", "clone"], [sys.executable, "-m"]], "clone and install exactly once"
    assert sys.path.count(str(clone)) == 1


def test_set_repo_url_parses_slugs_and_urls():
    module = _load_script("set_repo_url")
    assert module.parse_slug("https://github.com/someone/seq2seq.git") == "someone/seq2seq"
    assert module.parse_slug("someone/seq2seq") == "someone/seq2seq"
    with pytest.raises(SystemExit):
        module.parse_slug("not a repository")


def test_set_repo_url_reads_the_git_remote(monkeypatch):
    import subprocess

    module = _load_script("set_repo_url")
    remote = subprocess.CompletedProcess([], 0, stdout="git@github.com:someone/seq2seq.git\n")
    monkeypatch.setattr(module.subprocess, "run", lambda *args, **kwargs: remote)
    assert module.remote_slug() == "someone/seq2seq"
    monkeypatch.setattr(module.subprocess, "run", lambda *args, **kwargs: subprocess.CompletedProcess([], 2, stdout=""))
    with pytest.raises(SystemExit, match="no git remote"):
        module.remote_slug()


def test_coverage_curve_counts_test_occurrences():
    train, test = Counter({"a": 5, "b": 3, "c": 1}), Counter({"a": 2, "c": 1, "z": 1})
    assert coverage_curve(train, test, [1, 2, 3]) == pytest.approx([0.5, 0.5, 0.75])


def test_pick_examples_is_seeded_and_never_repeats():
    assert pick_examples(100, 4, 1234) == pick_examples(100, 4, 1234)
    assert len(set(pick_examples(100, 4, 1234))) == 4
    assert pick_examples(3, 10, 0) == [0, 1, 2]


def test_describe_training_follows_the_curve():
    falling = [{"epoch": 1, "valid_loss": 3.0}, {"epoch": 2, "valid_loss": 2.0}]
    assert "still falling" in describe_training(falling, max_epochs=2)
    assert "any later epoch of the run (at most 7) did not lower it" in describe_training(falling, max_epochs=7)  # a best checkpoint
    assert "lowest at epoch 1" in describe_training([{"epoch": 1, "valid_loss": 2.0}, {"epoch": 2, "valid_loss": 2.5}], 2)


@pytest.mark.slow
def test_notebooks_run_in_the_smoke_profile(smoke_run):
    """Every numbered notebook executes without error on the smoke run and writes its figures and tables."""
    started = time.time()
    executed = execute_notebooks(smoke_run, export=False)  # raises UserError naming the failing cell
    assert [p.name for p in executed] == [p.name for p in course_notebooks()]
    assert set(COURSE) <= {p.name for p in executed}
    for path in executed:
        text = path.read_text(encoding="utf-8")
        nb = nbformat.reads(text, as_version=4)
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
        assert not [o for o in outputs if o.output_type == "error"], path.name
        assert str(PROJECT_ROOT) not in text, f"{path.name} shows an absolute path"
        assert path.stat().st_size < 3_000_000, f"{path.name} is too large"
        if path.name in COURSE:
            assert WIDGET_MIME not in json.dumps([o.get("data", {}) for o in outputs]), f"{path.name} shows a widget"
    figures = run_paths(smoke_run).figures_dir
    missing = [name for name in EXPECTED_FIGURES if not (figures / name).is_file() or (figures / name).stat().st_mtime < started - 1]
    assert not missing, f"not written by this run under {figures}: {missing}"


def test_every_badge_and_clone_url_names_the_same_repository():
    import re

    slugs = set()
    sources = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "notebooks").glob("[0-9]*.ipynb")),
               *sorted((PROJECT_ROOT / "notebooks").glob("[0-9]*.py"))]
    for path in sources:
        text = path.read_text(encoding="utf-8")
        found = re.findall(r"(?:colab\.research\.google\.com/github|mybinder\.org/v2/gh|github\.com)/([\w.-]+/[\w.-]+?)(?:/|\.git)", text)
        assert found, f"{path.name} names no repository"
        slugs |= set(found)
    assert len(slugs) == 1, f"badges and clone URLs disagree: {sorted(slugs)}"
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert "urlpath=voila%2Frender%2Fnotebooks%2F06_interactive_demo.ipynb" in readme  # Binder opens the demo as an app


def test_binder_installs_the_pins_the_tests_install():
    import yaml

    environment = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip = next(entry["pip"] for entry in environment["dependencies"] if isinstance(entry, dict))
    assert "-r requirements.txt" in pip and "-e ." in pip, "Binder must install requirements.txt, as run_tests.sh does"
    assert not [entry for entry in pip if not entry.startswith(("-", "--"))], "no package outside requirements.txt"
    assert "requirements.txt" in (PROJECT_ROOT / "run_tests.sh").read_text() + (PROJECT_ROOT / "scripts" / "ensure_venv.sh").read_text()


def test_exports_render_equations_with_the_mathjax_beside_them(tmp_path, chromium):
    import subprocess

    # the course's equations that need most of MathJax: a bold R, subscripts, arrows, a tanh
    equations = [nbformat.v4.new_markdown_cell(source) for source in (
        "$$h_t = \\tanh(W x_t)$$", "$h_j = [h_j^{\\rightarrow}; h_j^{\\leftarrow}] \\in \\mathbb{R}^{2H}$")]
    for cell in nbformat.read(PROJECT_ROOT / "notebooks" / "04_attention_seq2seq.ipynb", as_version=4).cells:
        if cell.cell_type == "markdown" and "$" in cell.source:
            equations.append(nbformat.v4.new_markdown_cell(cell.source))
    notebook = tmp_path / "equation.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=equations), notebook)
    export_notebook(notebook, tmp_path / "exports")
    for name in ("equation.html", "equation.slides.html"):
        html = (tmp_path / "exports" / name).read_text(encoding="utf-8")
        assert MATHJAX_URL in html and "libs/mathjax" not in html, "the export loads MathJax from its own folder"
    assert (tmp_path / "exports" / MATHJAX_URL.split("?")[0]).is_file()
    dom = subprocess.run([str(chromium), "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
                          "--dump-dom", (tmp_path / "exports" / "equation.html").as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    assert 'class="MathJax' in dom, "MathJax typeset nothing offline"
    assert "Math Processing Error" not in dom, "an equation of notebook 04 does not render with the offline MathJax"
