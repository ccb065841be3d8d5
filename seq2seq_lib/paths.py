"""Where an experiment's files live: runs/, results/ and figures/ of a profile and seed."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from .config import PROJECT_ROOT, Config


def resolve_path(path: str | Path) -> Path:
    """A config path: absolute as given, relative to the project root otherwise."""
    path = Path(path)
    return path if path.is_absolute() else PROJECT_ROOT / path


def project_relative(path: str | Path, root: Path = PROJECT_ROOT) -> str:
    """A path as a reader sees it: relative to the project root when inside it, else as given."""
    path = Path(path)
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


@dataclass(frozen=True)
class RunPaths:
    """The folders of one profile and seed: runs/<profile>-seed<seed>/ and results/<profile>/."""

    root: Path
    profile: str
    seed: int

    @property
    def run_dir(self) -> Path:
        """Checkpoints, histories and the fitted preprocessor of this run."""
        return self.root / "runs" / f"{self.profile}-seed{self.seed}"

    @property
    def results_dir(self) -> Path:
        """Evaluation results and comparison tables of this profile."""
        return self.root / "results" / self.profile

    @property
    def figures_dir(self) -> Path:
        """Figures: the quick profile writes the committed figures/, others a subfolder."""
        return self.root / "figures" if self.profile == "quick" else self.root / "figures" / self.profile

    @property
    def preprocessor_dir(self) -> Path:
        """The fitted tokenizers and vocabularies of this run."""
        return self.run_dir / "vocab"

    def model_dir(self, model_name: str) -> Path:
        """Checkpoints and history of one model."""
        return self.run_dir / model_name


def git_commit(root: Path = PROJECT_ROOT) -> str:
    """The short hash of the checked-out commit ("unknown" outside a git checkout): what results record they came from."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
    return commit.stdout.strip() or "unknown"


def run_paths(config: Config, root: str | Path = PROJECT_ROOT) -> RunPaths:
    """RunPaths for a config (profile and seed name the folders)."""
    return RunPaths(Path(root), config.profile, config.seed)
