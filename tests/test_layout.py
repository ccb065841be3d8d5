"""The package's shape: no import cycles, the lab imported by nothing in the core but the command line, and a
core that does not grow back."""

from seq2seq_lib.lab import layout

CORE_CEILING = 4550  # a ceiling on the code lines the course reaches (the aim is 3,500): lower it as the core shrinks


def test_no_module_imports_itself_through_others():
    assert layout.cycles(layout.import_graph()) == []


def test_only_the_command_line_imports_the_lab():
    graph = layout.import_graph()
    importers = {m for m, deps in graph.items() if not m.startswith(layout.LAB) and any(d.startswith(layout.LAB) for d in deps)}
    assert importers <= {"seq2seq_lib.cli"}


def test_the_course_reaches_the_core_folders_only_and_stays_small():
    core = layout.core_modules()
    assert not {m for m in core if m.startswith(layout.LAB)}
    folders = layout.lines_by_folder(core)
    assert set(folders) == {".", "data", "models", "training", "decoding", "evaluation", "course"}
    assert sum(folders.values()) <= CORE_CEILING


def test_code_lines_leave_out_blank_lines_comments_and_docstrings():
    source = '"""Module."""\n\nimport os  # why\n\n\ndef f(x):\n    """Doc\n    string."""\n    # note\n    return (x +\n            1)\n'
    assert layout.code_lines(source) == 4  # import, def, and the two lines of the return
