"""Count code lines (no blank, comment or docstring lines) reachable from entry modules."""
import ast, io, sys, tokenize
from pathlib import Path
from collections import defaultdict

PKG = Path("seq2seq_lib")

def module_name(path):
    rel = path.with_suffix("").relative_to(PKG.parent)
    parts = list(rel.parts)
    if parts[-1] == "__init__": parts = parts[:-1]
    return ".".join(parts)

def code_lines(path):
    src = path.read_text()
    tree = ast.parse(src)
    doc = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            b = node.body
            if b and isinstance(b[0], ast.Expr) and isinstance(b[0].value, ast.Constant) and isinstance(b[0].value.value, str):
                doc.update(range(b[0].lineno, b[0].end_lineno + 1))
    code = set()
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
            continue
        for ln in range(tok.start[0], tok.end[0] + 1):
            code.add(ln)
    return len(code - doc)

def imports(path, name):
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                b = base[: len(base) - node.level + 1]
                mod = ".".join(b + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("seq2seq_lib"):
                out.add(mod)
                for a in node.names:
                    out.add(mod + "." + a.name)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("seq2seq_lib"): out.add(a.name)
    return out

mods = {module_name(p): p for p in PKG.rglob("*.py")}
graph = {}
for m, p in mods.items():
    deps = set()
    for d in imports(p, m):
        while d and d not in mods: d = d.rpartition(".")[0]
        if d and d != m: deps.add(d)
        # parent packages are imported too
    parts = m.split(".")
    for i in range(1, len(parts)):
        par = ".".join(parts[:i])
        if par in mods and par != m: deps.add(par)
    graph[m] = deps
if __name__ == "__main__":
    entries = sys.argv[1:]
    exclude = [e[1:] for e in entries if e.startswith("-")]
    entries = [e for e in entries if not e.startswith("-")]
    seen, stack = set(), list(entries)
    while stack:
        m = stack.pop()
        if m in seen or any(m == x or m.startswith(x + ".") for x in exclude): continue
        seen.add(m); stack.extend(graph.get(m, ()))
    total = 0
    per = defaultdict(int)
    for m in sorted(seen):
        n = code_lines(mods[m]); total += n
        print(f"{n:5d} {m}")
    print("total", total)
