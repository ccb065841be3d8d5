"""Fill the GitHub repository into the README's and notebooks' Colab/Binder badges and Colab clone cells.

    .venv/bin/python scripts/set_repo_url.py [owner/name | https://github.com/owner/name]

Without an argument the repository is read from the git remote `origin`. The current slug is the one in the
README's Colab badge (a placeholder until the repository is public). This script replaces it by the new one in
README.md and in every notebook and its paired .py source, so that all of them agree.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BADGE = re.compile(r"colab\.research\.google\.com/github/([^/]+/[^/]+)/blob/")
SLUG = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")


def parse_slug(text: str) -> str:
    """'owner/name' from 'owner/name' or a GitHub URL (with or without .git); SystemExit when malformed."""
    slug = re.sub(r"^(https?://)?github\.com/", "", text.strip()).removesuffix(".git").strip("/")
    if not SLUG.match(slug):
        raise SystemExit(f"not a GitHub repository: {text!r}; give owner/name or https://github.com/owner/name")
    return slug


def remote_slug() -> str:
    """'owner/name' of the git remote `origin`; SystemExit when there is none or it is not on GitHub."""
    remote = subprocess.run(["git", "remote", "get-url", "origin"], cwd=ROOT, capture_output=True, text=True)
    if remote.returncode != 0:
        raise SystemExit("no git remote 'origin': give the repository, e.g. scripts/set_repo_url.py owner/name")
    return parse_slug(re.sub(r"^git@github\.com:", "github.com/", remote.stdout.strip()))


def set_repo_url(new_slug: str) -> list[Path]:
    """Replace the README badge's current slug by new_slug in the README and the notebooks; returns changed files."""
    match = BADGE.search((ROOT / "README.md").read_text(encoding="utf-8"))
    if match is None:
        raise SystemExit("no Colab badge in README.md to read the current repository from")
    old_slug = match.group(1)
    notebooks = ROOT / "notebooks"
    changed = []
    for path in [ROOT / "README.md", *sorted(notebooks.glob("[0-9]*.ipynb")), *sorted(notebooks.glob("[0-9]*.py"))]:
        text = path.read_text(encoding="utf-8")
        if old_slug in text and old_slug != new_slug:
            path.write_text(text.replace(old_slug, new_slug), encoding="utf-8")
            changed.append(path)
    return changed


def main() -> None:
    """Command line: the repository as its one argument, or none to use the git remote."""
    if len(sys.argv) > 2:
        raise SystemExit(__doc__)
    for path in set_repo_url(parse_slug(sys.argv[1]) if len(sys.argv) == 2 else remote_slug()):
        print(f"updated {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
