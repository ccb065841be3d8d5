"""CodeSearchNet-style extraction of (docstring, function) pairs from Python source with `ast`.

Decisions (CodeSearchNet, Husain et al. 2019, with the choices it leaves open made explicit):

* Extracted: module-level functions and methods of classes (nested classes give
  `Outer.Inner.method`), also when defined inside `if`/`try`/`with`/... blocks at module or class
  level. Functions nested inside functions belong to their parent and are not extracted alone.
* `whole_func_string` is the source of the `def` statement without its decorators (CodeSearchNet's
  tree-sitter `function_definition` node), dedented by the column of `def` so it parses on its own.
* `func_code_string` is `whole_func_string` with the docstring statement removed and every other
  line byte-identical. A function whose body was only the docstring gets `pass` so that it stays
  valid Python (CodeSearchNet keeps such functions; a training filter may drop them).
* `func_documentation_string` is the first paragraph of the `inspect.cleandoc`-ed docstring.
* Filters: docstrings under 3 tokens, functions under 3 non-blank lines (counted with the docstring,
  as CodeSearchNet's `code` kept it), qualified names containing "test" (any case) and special
  (dunder) methods are dropped; each dropped function is counted under the first filter it fails.
"""

from __future__ import annotations

import ast
import inspect
import io
import re
import tokenize
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import PurePosixPath

MIN_DOC_TOKENS = 3
MIN_CODE_LINES = 3
MAX_FILE_BYTES = 1_000_000

VENDORED_DIRS = frozenset(
    {"_vendor", "_vendored", "vendor", "vendored", "third_party", "thirdparty", "extern", "external", "externals"}
)
TEST_DIRS = frozenset({"test", "tests", "testing", "unittests", "unit_tests"})
TEST_FILES = frozenset({"conftest.py", "test.py", "tests.py"})

_SKIPPED_TOKEN_TYPES = frozenset(
    {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
)
_DOC_TOKEN_RE = re.compile(r"\w+|[^\w\s]")
_PARAGRAPH_BREAK_RE = re.compile(r"\n[ \t]*\n")
_DUNDER_RE = re.compile(r"^__\w+__$")
_PYTHON2_HINTS = (
    "Missing parentheses in call to",
    "leading zeros in decimal integer literals",
    "multiple exception types must be parenthesized",
)

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def is_vendored_path(path: str) -> bool:
    """True when a folder on `path` holds a vendored copy of another project."""
    return any(part.lower() in VENDORED_DIRS for part in PurePosixPath(path).parts[:-1])


def is_test_path(path: str) -> bool:
    """True for files under test folders and for test modules (`test_*.py`, `*_test.py`, conftest)."""
    parts = [part.lower() for part in PurePosixPath(path).parts]
    name = parts[-1]
    if name in TEST_FILES or name.startswith("test_") or name.endswith(("_test.py", "_tests.py")):
        return True
    return any(d in TEST_DIRS or d.startswith("test_") or d.endswith(("_test", "_tests")) for d in parts[:-1])


def first_paragraph(docstring: str) -> str:
    """The first paragraph of a docstring, cleaned with `inspect.cleandoc` rules."""
    return _PARAGRAPH_BREAK_RE.split(inspect.cleandoc(docstring).strip(), maxsplit=1)[0].strip()


def doc_tokens(text: str) -> list[str]:
    """Simple word tokens of documentation text: runs of word characters and single punctuation marks."""
    return _DOC_TOKEN_RE.findall(text)


def code_tokens(code: str) -> list[str]:
    """Python `tokenize` token strings of `code` without comments, newlines, indents and end marker."""
    tokens = tokenize.generate_tokens(io.StringIO(code).readline)
    return [tok.string for tok in tokens if tok.type not in _SKIPPED_TOKEN_TYPES]


def decode_source(data: bytes) -> str:
    """Decode Python source bytes by PEP 263 (BOM, coding cookie, default UTF-8); newlines become `\\n`."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    text = data.decode(encoding)
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def parse_source(source: str) -> tuple[ast.Module | None, str | None]:
    """Parse Python 3 source; on failure return (None, reason) with reason `python2` or `syntax_error`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(source), None
    except SyntaxError as err:
        message = str(err.msg)
        return None, "python2" if any(hint in message for hint in _PYTHON2_HINTS) else "syntax_error"
    except (ValueError, RecursionError, MemoryError):
        return None, "syntax_error"


def iter_functions(body: list[ast.stmt], prefix: str = "") -> Iterator[tuple[str, FunctionNode]]:
    """Yield (qualified name, node) for functions and class methods in `body`, in source order."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield prefix + node.name, node
        elif isinstance(node, ast.ClassDef):
            yield from iter_functions(node.body, f"{prefix}{node.name}.")
        else:
            for block in _statement_blocks(node):
                yield from iter_functions(block, prefix)


def _statement_blocks(node: ast.AST) -> Iterator[list[ast.stmt]]:
    """The statement lists inside a compound statement (if/try/with/for/while/match)."""
    for _, value in ast.iter_fields(node):
        if isinstance(value, list) and value:
            if isinstance(value[0], ast.stmt):
                yield value
            elif isinstance(value[0], (ast.excepthandler, ast.match_case)):
                for item in value:
                    yield item.body


def _char_col(line: str, byte_col: int) -> int:
    """Convert an `ast` UTF-8 byte column to a character column in `line`."""
    if line.isascii():
        return byte_col
    return len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))


def _dedent(line: str, indent: str) -> str:
    """Remove the `def` statement's indentation from a following line (only whitespace is removed)."""
    if line.startswith(indent):
        return line[len(indent):]
    stripped = line.lstrip(" \t")
    return line[min(len(indent), len(line) - len(stripped)):]


def _function_lines(lines: list[str], node: FunctionNode) -> list[str]:
    """The source lines of `node` (original coordinates; the last line cut at the node's end)."""
    start, end = node.lineno - 1, node.end_lineno - 1
    segment = lines[start:end + 1]
    segment[-1] = segment[-1][:_char_col(segment[-1], node.end_col_offset)]
    return segment


def _finish(segment: list[str], node: FunctionNode) -> str:
    """Cut the first line at the `def` column and dedent the other lines by it."""
    col = _char_col(segment[0], node.col_offset)
    indent = segment[0][:col]
    return "\n".join([segment[0][col:]] + [_dedent(line, indent) for line in segment[1:]])


def _remove_docstring(segment: list[str], node: FunctionNode) -> list[str]:
    """Remove the docstring statement (node.body[0]) from the function's lines; `pass` if it was alone."""
    doc = node.body[0]
    only_statement = len(node.body) == 1
    r1, r2 = doc.lineno - node.lineno, doc.end_lineno - node.lineno
    c1 = _char_col(segment[r1], doc.col_offset)
    c2 = _char_col(segment[r2], doc.end_col_offset)
    prefix, suffix = segment[r1][:c1], segment[r2][c2:]
    if not prefix.strip() and (not suffix.strip() or suffix.strip().startswith("#")):
        middle = [prefix + "pass"] if only_statement else []
        return segment[:r1] + middle + segment[r2 + 1:]
    if not only_statement and suffix.lstrip().startswith(";"):
        suffix = suffix.lstrip()[1:].lstrip()
    combined = prefix + ("pass" if only_statement else "") + suffix
    return segment[:r1] + ([combined] if combined.strip() else []) + segment[r2 + 1:]


def extract_function(
    lines: list[str], qualname: str, node: FunctionNode, repository_name: str, path: str
) -> tuple[dict | None, str | None]:
    """Build the record of one function, or (None, filter reason); (None, None) when it has no docstring."""
    docstring = ast.get_docstring(node, clean=False)
    if docstring is None:
        return None, None
    if _DUNDER_RE.match(node.name):
        return None, "special_method"
    if "test" in qualname.lower():
        return None, "test_in_name"
    documentation = first_paragraph(docstring)
    documentation_tokens = doc_tokens(documentation)
    if len(documentation_tokens) < MIN_DOC_TOKENS:
        return None, "short_docstring"
    segment = _function_lines(lines, node)
    if sum(1 for line in segment if line.strip()) < MIN_CODE_LINES:
        return None, "short_code"
    code = _finish(_remove_docstring(list(segment), node), node)
    if parse_source(code)[0] is None:
        return None, "code_edit_failed"
    try:
        tokens = code_tokens(code)
    except (tokenize.TokenError, SyntaxError):
        return None, "tokenize_error"
    record = {
        "repository_name": repository_name,
        "func_path_in_repository": path,
        "func_name": qualname,
        "whole_func_string": _finish(segment, node),
        "language": "python",
        "func_code_string": code,
        "func_code_tokens": tokens,
        "func_documentation_string": documentation,
        "func_documentation_tokens": documentation_tokens,
        "split_name": "",
    }
    return record, None


def extract_source(source: str, repository_name: str, path: str) -> tuple[list[dict], Counter]:
    """Extract the kept pairs of one decoded module and count functions, docstrings and filter reasons.

    The counter holds `functions` (all extracted definitions), `with_docstring` (candidate pairs) and
    one key per filter reason; an unparsable module gives no records and the key `file:<reason>`.
    """
    counts: Counter = Counter()
    tree, reason = parse_source(source)
    if tree is None:
        counts[f"file:{reason}"] += 1
        return [], counts
    lines = source.split("\n")
    records = []
    for qualname, node in iter_functions(tree.body):
        counts["functions"] += 1
        record, reason = extract_function(lines, qualname, node, repository_name, path)
        if record is None and reason is None:
            continue
        counts["with_docstring"] += 1
        if reason is not None:
            counts[reason] += 1
        else:
            records.append(record)
    return records, counts


def extract_file(data: bytes, repository_name: str, path: str) -> tuple[list[dict], Counter]:
    """Extract pairs from one source file's bytes; skipped files count as `file:<reason>`."""
    if is_vendored_path(path):
        return [], Counter({"file:vendored": 1})
    if is_test_path(path):
        return [], Counter({"file:test_path": 1})
    if len(data) > MAX_FILE_BYTES:
        return [], Counter({"file:too_large": 1})
    try:
        source = decode_source(data)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return [], Counter({"file:encoding_error": 1})
    return extract_source(source, repository_name, path)
