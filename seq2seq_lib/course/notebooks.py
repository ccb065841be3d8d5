"""Execute the course notebooks headless with papermill, export them, and record provenance.

The quick profile refreshes the committed notebooks in `notebooks/` and the figures in `figures/`;
other profiles write to `notebooks/<profile>/` and `figures/<profile>/` so they never overwrite them.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from ..config import PROJECT_ROOT, Config
from ..errors import UserError
from ..io_utils import atomic_path, write_json
from ..paths import git_commit, run_paths
from ..runtime import run_in_workers, worker_plan

KERNEL_NAME = "python3"
NOTEBOOK_DEFAULTS = {"profile": "quick", "seed": 1234}  # the values of every notebook's parameters cell
RUN_OUTPUTS = tuple(f":!{p}" for p in ("notebooks", "figures", "results", "exports", "weights", "README.md"))
CELL_TIMEOUT_S = 1800
MATHJAX_URL = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"  # the copy beside the exports


def course_notebooks(root: Path = PROJECT_ROOT) -> list[Path]:
    """The numbered notebooks in reading order (01_..., 02_..., ...)."""
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def output_dir(config: Config, root: Path = PROJECT_ROOT) -> Path:
    """Where executed notebooks of a profile go (the committed folder for quick)."""
    return root / "notebooks" if config.profile == "quick" else root / "notebooks" / config.profile


def _scrub_paths(text: str, root: Path) -> str:
    """An executed notebook's text without this machine's absolute paths."""
    for prefix in {str(root), str(root.resolve()), os.path.expanduser("~")}:
        text = text.replace(prefix + "/", "").replace(prefix, ".")
    return text


def _parameters(config: Config) -> dict[str, object]:
    """What papermill injects: nothing for the notebooks' own defaults (quick, seed 1234), so a committed notebook
    shows one parameters cell; the profile and seed otherwise."""
    chosen = {"profile": config.profile, "seed": config.seed}
    return {} if chosen == NOTEBOOK_DEFAULTS else chosen


def execute_notebook(notebook: Path, config: Config, out_dir: Path, root: Path = PROJECT_ROOT) -> Path:
    """Execute one notebook with the config's profile and seed; returns the executed copy."""
    import nbformat
    import papermill

    target = out_dir / notebook.name
    os.environ["SEQ2SEQ_TEXT_PROGRESS"] = "1"  # text progress bars in the executed outputs
    source = nbformat.read(notebook, as_version=4)  # without the parameters an earlier run injected
    source.cells = [c for c in source.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    source.metadata.pop("papermill", None)
    try:
        executed = papermill.execute_notebook(
            source,
            None,  # written below, once, with papermill's record of its input and output as paths
            parameters=_parameters(config),
            kernel_name=KERNEL_NAME,
            cwd=str(root),
            execution_timeout=CELL_TIMEOUT_S,
            progress_bar=False,
        )
    except papermill.PapermillExecutionError as exc:
        raise UserError(f"notebook {notebook.name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}") from None
    executed.metadata.papermill.update(input_path=notebook.relative_to(root).as_posix(),  # given the notebook itself,
                                       output_path=target.relative_to(root).as_posix())  # papermill records a copy
    with atomic_path(target) as tmp:
        tmp.write_text(_scrub_paths(nbformat.writes(executed), root), encoding="utf-8")
    return target


def export_notebook(executed: Path, export_dir: Path) -> None:
    """Export an executed notebook to HTML and to reveal.js slides (for presenting without a kernel), with a copy of
    MathJax beside them so that the equations render offline."""
    import jupyter_server_mathjax

    mathjax = export_dir / "mathjax"
    if not (mathjax / "MathJax.js").is_file():
        shutil.copytree(Path(jupyter_server_mathjax.__file__).parent / "static", mathjax, dirs_exist_ok=True)
    for fmt in ("html", "slides"):
        subprocess.run(
            [sys.executable, "-m", "nbconvert", "--to", fmt, "--output-dir", str(export_dir), str(executed),
             f"--HTMLExporter.mathjax_url={MATHJAX_URL}"],
            check=True,
            capture_output=True,
        )


def write_provenance(config: Config, figures_dir: Path, root: Path = PROJECT_ROOT) -> None:
    """Record which profile, seed, commit and config produced the figures and tables, and whether the code was
    committed (the files a run writes itself left aside)."""
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", *RUN_OUTPUTS],
                           cwd=root, capture_output=True, text=True)
    write_json(
        figures_dir / "provenance.json",
        {
            "profile": config.profile,
            "seed": config.seed,
            "git_commit": git_commit(root),
            "code_clean": not dirty.stdout.strip(),  # the committed code, apart from what runs write
            "config_hash": config.digest(),
            "date": dt.date.today().isoformat(),
        },
    )


def execute_notebooks(config: Config, export: bool = True, only: str | None = None, root: Path = PROJECT_ROOT) -> list[Path]:
    """Execute every course notebook (or those matching `only`) for a profile, side by side as `worker_plan` allows
    (each in its own kernel), export them, write provenance."""
    chosen = [notebook for notebook in course_notebooks(root) if not only or re.search(only, notebook.name)]
    jobs = [(notebook, config, output_dir(config, root), root, export) for notebook in chosen]
    executed = run_in_workers(_execute_job, jobs, *worker_plan(config, len(jobs)))
    write_provenance(config, run_paths(config, root).figures_dir, root)
    return executed


def _execute_job(job: tuple[Path, Config, Path, Path, bool]) -> Path:
    """Execute and (when asked) export one notebook: (notebook, config, out folder, root, export) -> the executed copy."""
    notebook, config, out_dir, root, export = job
    print(f"[notebooks] executing {notebook.name} ({config.profile} profile)", flush=True)
    executed = execute_notebook(notebook, config, out_dir, root)
    if export:
        export_notebook(executed, root / "exports" / config.profile)
    return executed
