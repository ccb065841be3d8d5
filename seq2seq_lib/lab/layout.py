"""The package's shape: code lines per folder, what the course reaches, and import cycles.

`python -m seq2seq_lib.lab.layout` prints the code lines (not blank, comment or docstring lines) of the
modules that the notebooks, the run-all pipeline and the command line reach, the lab excluded, folder by folder.
"""

from __future__ import annotations

import ast
import io
import json
import tokenize
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
ROOT = PACKAGE.parent
LAB = "seq2seq_lib.lab"
ENTRY_MODULES = ("seq2seq_lib.__main__", "seq2seq_lib.cli", "seq2seq_lib.pipeline")
_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}


def module_files(package: Path = PACKAGE) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    files = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


def code_lines(source: str) -> int:
    """Lines holding code: not blank, not only a comment, not part of a docstring."""
    tree = ast.parse(source)
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                docstrings.update(range(first.lineno, first.end_lineno + 1))
    lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in _SKIPPED:
            lines.update(range(token.start[0], token.end[0] + 1))
    return len(lines - docstrings)


def imported_names(source: str, module: str, is_package: bool) -> set[str]:
    """The dotted names a module imports from the package, at module level or inside functions."""
    base = module.split(".") if is_package else module.split(".")[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                target = ".".join(base[: len(base) - node.level + 1] + ([node.module] if node.module else []))
            names.update({target, *(f"{target}.{alias.name}" for alias in node.names)})
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name.split(".")[0] == "seq2seq_lib"}


def import_graph(files: dict[str, Path] | None = None) -> dict[str, set[str]]:
    """Module -> the package modules it imports (each name resolved to the longest module it names)."""
    files = files or module_files()
    graph = {}
    for module, path in files.items():
        edges = set()
        for name in imported_names(path.read_text(encoding="utf-8"), module, path.name == "__init__.py"):
            while name and name not in files:
                name = name.rpartition(".")[0]
            if name and name != module and name != "seq2seq_lib":
                edges.add(name)
        graph[module] = edges
    return graph


def notebook_modules(notebooks: Path = ROOT / "notebooks") -> set[str]:
    """The package modules the course notebooks import."""
    found = set()
    for path in notebooks.glob("*.ipynb"):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                lines = "".join(cell["source"]).splitlines()
                source = "\n".join(line for line in lines if not line.lstrip().startswith(("%", "!")))  # no magics
                found |= imported_names(source, "notebook", False)
    return found


def reachable(graph: dict[str, set[str]], entries: set[str], excluded: str = LAB) -> set[str]:
    """Modules reached from `entries` through imports, not entering `excluded` (nor its subpackages)."""
    seen: set[str] = set()
    stack = [m for m in entries if m in graph]
    while stack:
        module = stack.pop()
        if module in seen or module == excluded or module.startswith(excluded + "."):
            continue
        seen.add(module)
        stack.extend(graph[module])
    return seen


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that import each other, directly or through others (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in graph[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def core_modules() -> set[str]:
    """What the notebooks, the pipeline and the command line reach, the lab excluded."""
    graph = import_graph()
    entries = set(ENTRY_MODULES)
    for name in notebook_modules():
        while name and name not in graph:
            name = name.rpartition(".")[0]
        if name:
            entries.add(name)
    return reachable(graph, entries)


def lines_by_folder(modules: set[str], files: dict[str, Path] | None = None) -> dict[str, int]:
    """Code lines of the modules, summed per folder of the package ('.' for the top level)."""
    files = files or module_files()
    totals: dict[str, int] = defaultdict(int)
    for module in modules:
        path = files[module]
        folder = path.parent.relative_to(PACKAGE).as_posix()
        totals[folder] += code_lines(path.read_text(encoding="utf-8"))
    return dict(sorted(totals.items()))


def main() -> None:
    """Print the code lines per folder of what the course reaches, the lab's, and any import cycle."""
    files = module_files()
    core = core_modules()
    lab = {m for m in files if m == LAB or m.startswith(LAB + ".")}
    for title, modules in (("course core", core), ("lab", lab)):
        counts = lines_by_folder(modules, files)
        print(f"{title}: {sum(counts.values())} code lines")
        for folder, count in counts.items():
            print(f"  {folder:12} {count:5d}")
    for group in cycles(import_graph(files)):
        print("import cycle:", " <-> ".join(group))


if __name__ == "__main__":
    main()
