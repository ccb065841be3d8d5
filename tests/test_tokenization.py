"""Docstring tokenizer, code tokenizer, detokenizer: round trip on real functions and robustness."""

from __future__ import annotations

import ast
import glob
import random
import sysconfig
import textwrap
from pathlib import Path

import pytest

from seq2seq_lib.io_utils import read_jsonl_gz
from seq2seq_lib.data.tokenization import (
    DEDENT,
    INDENT,
    NEWLINE,
    CodeTokenizer,
    DocTokenizer,
    code_pieces,
    detokenize,
    split_identifier,
)

STDLIB = Path(sysconfig.get_paths()["stdlib"])
MODULES = [
    "textwrap.py",
    "argparse.py",
    "difflib.py",
    "inspect.py",
    "dataclasses.py",
    "pathlib.py",
    "collections/__init__.py",
    "json/decoder.py",
    "email/_header_value_parser.py",
    "tarfile.py",
    "typing.py",
    "ast.py",
    "configparser.py",
    "string.py",
    "fractions.py",
]


def without_docstring(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """Source of a function with its docstring lines removed (as in the corpus; the body may become empty)."""
    start = (node.decorator_list[0] if node.decorator_list else node).lineno - 1
    body = lines[start : node.end_lineno]
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        del body[first.lineno - 1 - start : first.end_lineno - start]
    return "".join(body)


def stdlib_functions() -> list[str]:
    """Every function and method (possibly indented, docstrings removed) of a few stdlib modules."""
    codes = []
    for name in MODULES:
        source = (STDLIB / name).read_text(encoding="utf-8")
        lines = source.splitlines(keepends=True)
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                codes.append(without_docstring(lines, node))
    return codes


def ast_dump(code: str) -> str | None:
    """The AST of a (possibly indented) function as text, or None when it does not parse."""
    try:
        return ast.dump(ast.parse(textwrap.dedent(code)))
    except (SyntaxError, ValueError):
        return None


def round_trip_rate(tokenizer: CodeTokenizer, codes: list[str]) -> float:
    """Share of codes whose detokenized pieces have the same AST (or, for code that does not parse, the same pieces)."""
    def same(code: str) -> bool:
        pieces = tokenizer.tokenize(code)
        rebuilt = detokenize(pieces)
        reference = ast_dump(code)
        return tokenizer.tokenize(rebuilt) == pieces if reference is None else ast_dump(rebuilt) == reference

    return sum(map(same, codes)) / len(codes)


@pytest.fixture(scope="module")
def functions() -> list[str]:
    return stdlib_functions()


@pytest.fixture(scope="module")
def fitted(functions: list[str]) -> CodeTokenizer:
    return CodeTokenizer().fit([code_pieces(c) for c in functions[::2]], vocab_size=2000, min_freq=2)


def test_round_trip_stdlib(functions: list[str], fitted: CodeTokenizer) -> None:
    assert len(functions) > 1500
    assert round_trip_rate(fitted, functions) >= 0.99
    assert round_trip_rate(CodeTokenizer(), functions) >= 0.99  # unfitted: pieces without BPE


def test_round_trip_corpus_sample() -> None:
    paths = sorted(glob.glob("data/sample/*.jsonl.gz"))
    if not paths:
        pytest.skip("no data/sample/*.jsonl.gz yet (built by `python -m seq2seq_lib data build`)")
    codes = [r["func_code_string"] for p in paths for r in read_jsonl_gz(p)]
    train = codes[: len(codes) // 2]
    assert round_trip_rate(CodeTokenizer().fit([code_pieces(c) for c in train], 8000, 2), codes) >= 0.99


def test_layout_markers_and_indented_method() -> None:
    method = "    def f(self, x):\n        # comment\n        if x:\n\n            return 1\n        return 2\n"
    pieces = code_pieces(method)
    assert pieces[0] == "def" and pieces.count(INDENT) == 2 and DEDENT in pieces
    assert "#" not in "".join(pieces) and pieces[-1] != NEWLINE
    assert detokenize(pieces) == "def f(self, x):\n    if x:\n        return 1\n    return 2\n"


def test_identifier_and_string_pieces() -> None:
    assert split_identifier("get_HTTPResponse2Code") == ["get", "_HTTP", "Response", "2", "Code"]
    assert split_identifier("__init__") == ["__init", "__"]
    assert code_pieces("x = getUser_name") == ["x", "=", "get", "##User", "##_name"]
    assert code_pieces('s = "a  b\\tc\tz"') == [
        "s",
        "=",
        '"',
        "##a",
        "##▁",
        "##▁b",
        "##\\",
        "##tc",
        "##⇥",
        "##z",
        '##"',
    ]


def test_whitespace_inside_strings_survives(fitted: CodeTokenizer) -> None:
    code = 'def f():\n    return """two  spaces\n\ttab""" + r\'\\d+ \' + f"{x!r:>10}"\n'
    assert ast.dump(ast.parse(fitted.detokenize(fitted.tokenize(code)))) == ast.dump(ast.parse(code))


def test_spacing_is_readable() -> None:
    code = "def f(a, *args, b=-1, **kw) -> int:\n    return a[1:-1] + {'k': -b}[x].y(not z, lambda: 0)\n"
    assert detokenize(code_pieces(code)) == code
    assert detokenize(code_pieces("@decorator\ndef g():\n    from . import m\n    return 1 .real\n")) == (
        "@decorator\ndef g():\n    from . import m\n    return 1 .real\n"
    )


def test_empty_body_and_broken_code() -> None:
    tok = CodeTokenizer()
    assert tok.tokenize("    def f(self, x):\n") == ["def", "f", "(", "self", ",", "x", ")", ":"]
    assert round_trip_rate(tok, ["def f(x):\n"]) == 1.0
    assert tok.tokenize("def f(:\n    x = '''unterminated\n")[:3] == ["def", "f", "("]
    assert tok.tokenize("") == []


def test_detokenize_never_crashes_on_garbage(fitted: CodeTokenizer) -> None:
    rng = random.Random(0)
    alphabet = sorted(fitted.kept) + [NEWLINE, INDENT, DEDENT, "<unk>", "<pad>", "<eos>", "##", "##'''", '"', "##▁"]
    for _ in range(500):
        out = detokenize([rng.choice(alphabet) for _ in range(rng.randint(0, 80))])
        assert isinstance(out, str)
    assert detokenize([DEDENT, DEDENT, "##x", INDENT, "<unk>", "(", NEWLINE, ")", ")", "]"]) == "x <unk>(\n    ))]\n"


def test_to_dict_round_trip(functions: list[str], fitted: CodeTokenizer) -> None:
    clone = CodeTokenizer.from_dict(fitted.to_dict())
    for code in functions[:300]:
        assert clone.tokenize(code) == fitted.tokenize(code)


def test_rare_pieces_use_bpe(fitted: CodeTokenizer) -> None:
    pieces = fitted.tokenize("def frobnicateWidgetzz(qqq_xyzzy):\n    return qqq_xyzzy\n")
    assert not {"frobnicate", "##Widgetzz", "qqq", "##_xyzzy"} & set(pieces)
    assert fitted.detokenize(pieces) == "def frobnicateWidgetzz(qqq_xyzzy):\n    return qqq_xyzzy\n"


def test_doc_tokenizer() -> None:
    assert DocTokenizer().tokenize("Return the userName of get_user_id (HTTPServer), e.g. 'x'...") == [
        "return",
        "the",
        "user",
        "name",
        "of",
        "get",
        "_user",
        "_id",
        "(",
        "http",
        "server",
        "),",
        "e",
        ".",
        "g",
        ".",
        "'",
        "x",
        "'...",
    ]
    assert DocTokenizer().tokenize("") == []


def test_bpe_alphabet_breaks_ties_by_code_point() -> None:
    from collections import Counter

    from seq2seq_lib.data.tokenization import _train_bpe, bpe_alphabet

    rare = [chr(c) for c in range(0x3B1, 0x3B1 + 30)]  # 30 Greek letters, each seen once: all tied
    words = Counter({f"x{c}": 1 for c in rare} | {"xé": 5})
    alphabet = bpe_alphabet(words, extra=11)
    assert alphabet[-11:] == ["é", *rare[:10]]  # most frequent first, then the lowest code points
    vocab = _train_bpe(words, vocab_size=500, min_freq=2).get_vocab()
    kept = {c for c in rare if c in vocab}
    assert kept == set(rare)  # the default 100 extra characters hold all 30; the next line checks the limit
    trained = [_train_bpe(Counter({f"x{c}": 1 for c in map(chr, range(0x4E00, 0x4E00 + 150))}), 500, 2) for _ in range(2)]
    first, second = ({c for c in map(chr, range(0x4E00, 0x4E00 + 150)) if c in t.get_vocab()} for t in trained)
    assert first == second == set(map(chr, range(0x4E00, 0x4E00 + 100)))
