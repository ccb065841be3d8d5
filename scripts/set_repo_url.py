"""Fill the GitHub repository into the README's and notebooks' Colab/Binder badges and Colab clone cells.

    .venv/bin/python scripts/set_repo_url.py owner/name          (or https://github.com/owner/name)

The one source of the repository is REPO_SLUG in scripts/make_notebooks.py (a placeholder until the
repository is public). This script replaces the current slug by the given one there, in README.md and
in every notebooks/*.ipynb, so the committed notebooks and any later regeneration agree.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "scripts" / "make_notebooks.py"
SLUG_LINE = re.compile(r'^REPO_SLUG = "([^"]+)"', re.MULTILINE)
SLUG = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")


def parse_slug(text: str) -> str:
    """'owner/name' from 'owner/name' or a GitHub URL (with or without .git); SystemExit when malformed."""
    slug = re.sub(r"^(https?://)?github\.com/", "", text.strip()).removesuffix(".git").strip("/")
    if not SLUG.match(slug):
        raise SystemExit(f"not a GitHub repository: {text!r}; give owner/name or https://github.com/owner/name")
    return slug


def set_repo_url(new_slug: str) -> list[Path]:
    """Replace the generator's current slug by new_slug in the generator and the notebooks; returns changed files."""
    source = GENERATOR.read_text(encoding="utf-8")
    match = SLUG_LINE.search(source)
    if match is None:
        raise SystemExit(f"no REPO_SLUG line in {GENERATOR.relative_to(ROOT)}")
    old_slug = match.group(1)
    changed = []
    for path in [GENERATOR, ROOT / "README.md", *sorted((ROOT / "notebooks").glob("*.ipynb"))]:
        text = path.read_text(encoding="utf-8")
        if old_slug in text and old_slug != new_slug:
            path.write_text(text.replace(old_slug, new_slug), encoding="utf-8")
            changed.append(path)
    return changed


def main() -> None:
    """Command line: one argument, the repository."""
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    for path in set_repo_url(parse_slug(sys.argv[1])):
        print(f"updated {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
