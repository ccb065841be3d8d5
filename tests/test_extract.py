"""CodeSearchNet-style extraction on hand-written source files."""

import ast
from pathlib import Path

import pytest

from seq2seq_lib.data import extract

FIXTURE = Path(__file__).parent / "fixtures" / "extract" / "sample_module.py"


@pytest.fixture(scope="module")
def extracted():
    """Records and counts of the fixture module."""
    records, counts = extract.extract_file(FIXTURE.read_bytes(), "fixture==1.0", "pkg/sample_module.py")
    return {r["func_name"]: r for r in records}, counts


def test_kept_functions_and_qualified_names(extracted):
    records, _ = extracted
    assert list(records) == ["add_numbers", "outer_function", "abstract_hook", "grüße", "platform_helper",
                             "Widget.scale", "Widget.fetch", "Widget.Inner.describe"]


def test_filter_counts(extracted):
    _, counts = extracted
    assert counts["functions"] == 13  # nested `square` is part of outer_function, not a function of its own
    assert counts["with_docstring"] == 12
    assert counts["short_docstring"] == 1  # "Increment it"
    assert counts["short_code"] == 1  # short_code()
    assert counts["test_in_name"] == 1
    assert counts["special_method"] == 1  # Widget.__init__


def test_record_fields(extracted):
    records, _ = extracted
    record = records["add_numbers"]
    assert record["func_documentation_string"] == "Return the sum of two numbers."
    assert record["func_documentation_tokens"] == ["Return", "the", "sum", "of", "two", "numbers", "."]
    assert record["func_code_string"] == "def add_numbers(a, b):\n    total = a + b\n    return total"
    assert '"""Return the sum of two numbers.\n\n    This second paragraph' in record["whole_func_string"]
    assert record["func_code_tokens"] == ["def", "add_numbers", "(", "a", ",", "b", ")", ":", "total", "=", "a",
                                          "+", "b", "return", "total"]
    assert record["repository_name"] == "fixture==1.0"
    assert record["func_path_in_repository"] == "pkg/sample_module.py"
    assert record["language"] == "python"


def test_methods_are_dedented_without_decorators(extracted):
    records, _ = extracted
    scale = records["Widget.scale"]
    assert scale["whole_func_string"].startswith("def scale(size, factor):\n    \"\"\"Scale")
    assert scale["func_code_string"] == "def scale(size, factor):\n    scaled = size * factor\n    return round(scaled)"
    assert records["Widget.fetch"]["func_code_string"].startswith("async def fetch(self, client):\n    state")


def test_every_code_string_is_valid_python_without_its_docstring(extracted):
    records, _ = extracted
    for record in records.values():
        function = ast.parse(record["func_code_string"]).body[0]
        assert ast.get_docstring(function) is None
        assert ast.get_docstring(ast.parse(record["whole_func_string"]).body[0]) is not None


def test_docstring_only_body_becomes_pass(extracted):
    records, _ = extracted
    assert records["abstract_hook"]["func_code_string"] == "def abstract_hook(\n    first,\n    second,\n):\n    pass"


def test_nested_function_stays_in_its_parent(extracted):
    records, _ = extracted
    code = records["outer_function"]["func_code_string"]
    assert "Sum the squares" not in code
    assert '"""Square one number for the outer function."""' in code


def test_non_ascii_source_offsets(extracted):
    records, _ = extracted
    record = records["grüße"]
    assert record["func_code_string"] == 'def grüße(name):\n    greeting = f"hallo {name}"\n    return greeting'
    assert record["func_documentation_string"] == "Return the greeting «hallo» for a name."


def test_docstring_sharing_a_line_with_code():
    source = 'def f(a):\n    """Return a doubled value here."""; b = a * 2\n    c = b + 1\n    return c\n'
    records, _ = extract.extract_source(source, "p==1", "m.py")
    assert records[0]["func_code_string"] == "def f(a):\n    b = a * 2\n    c = b + 1\n    return c"


def test_crlf_and_latin1_cookie():
    source = '# -*- coding: latin-1 -*-\r\ndef f(a):\r\n    """Return caf\xe9 for every input."""\r\n    b = a\r\n    return b\r\n'
    records, _ = extract.extract_file(source.encode("latin-1"), "p==1", "m.py")
    assert records[0]["func_documentation_string"] == "Return café for every input."
    assert "\r" not in records[0]["func_code_string"]


@pytest.mark.parametrize(("source", "reason"), [
    (b'def f():\n    print "hello"\n', "python2"),
    (b"def f(:\n    pass\n", "syntax_error"),
    (b"\xff\xfe not utf-8 \x81\n", "encoding_error"),
])
def test_bad_files_are_counted_as_skipped(source, reason):
    records, counts = extract.extract_file(source, "p==1", "pkg/m.py")
    assert records == []
    assert counts == {f"file:{reason}": 1}


@pytest.mark.parametrize(("path", "vendored", "test"), [
    ("pkg/core.py", False, False),
    ("pkg/_vendor/six.py", True, False),
    ("pkg/third_party/lib/x.py", True, False),
    ("astropy/extern/ply/lex.py", True, False),
    ("pkg/tests/helpers.py", False, True),
    ("pkg/testing/utils.py", False, True),
    ("pkg/test_core.py", False, True),
    ("pkg/core_test.py", False, True),
    ("conftest.py", False, True),
    ("_pytest/python.py", False, False),
    ("pkg/latest.py", False, False),
])
def test_path_rules(path, vendored, test):
    assert extract.is_vendored_path(path) is vendored
    assert extract.is_test_path(path) is test


def test_skipped_paths_yield_no_pairs():
    data = FIXTURE.read_bytes()
    assert extract.extract_file(data, "p==1", "pkg/tests/sample.py") == ([], {"file:test_path": 1})
    assert extract.extract_file(data, "p==1", "pkg/vendor/sample.py") == ([], {"file:vendored": 1})


def test_first_paragraph_and_tokens():
    doc = "\n    Parse the header.\n    Second line of paragraph one.\n\n    :param x: ignored\n    "
    assert extract.first_paragraph(doc) == "Parse the header.\nSecond line of paragraph one."
    assert extract.doc_tokens("Don't parse x_1!") == ["Don", "'", "t", "parse", "x_1", "!"]
    assert extract.code_tokens("x = 1  # note\nif x:\n    y = 'a'\n") == ["x", "=", "1", "if", "x", ":", "y", "=", "'a'"]
