"""The syntax guard: never forbids a piece of real code, forbids what cannot parse, steers greedy and beam search."""

from __future__ import annotations

import argparse
import ast
import inspect
import shlex
import textwrap

import pytest
import torch

from dataclasses import replace
from types import SimpleNamespace

from seq2seq_lib.config import DecodingConfig
from seq2seq_lib.decoding.search import decode
from seq2seq_lib.models import build_model
from seq2seq_lib.decoding.syntax_guard import GuardState, SyntaxGuard
from seq2seq_lib.data.tokenization import DEDENT, INDENT, NEWLINE, code_pieces, detokenize
from seq2seq_lib.data.vocab import EOS_ID, SPECIALS

HANDWRITTEN = [
    (
        'def f(self, x: int = 1, *args, **kw) -> str:\n    if x:\n        return "a"\n    elif x > 2: return b""\n'
        "    else:\n        y = {k: v[1:] for k, v in kw.items()}\n    return y"
    ),
    (
        "def g(items):\n    try:\n        sort = sorted(items, key=lambda item: item[0])\n    except (KeyError, IndexError):\n"
        "        raise\n    else:\n        pass\n    finally:\n        items = None\n    for i in items:\n        continue\n"
        "    else:\n        while True: break\n    with open(f'{items!r}') as fh: return fh.read()"
    ),
    "def h():\n    def inner(a, b=lambda: 0):\n        return a\n    class C:\n        x = 1\n    return inner",
]


def stdlib_functions() -> list[str]:
    """Source of every function and method in two standard-library modules, dedented to column 0."""
    sources = []
    for module in (argparse, shlex):
        text = inspect.getsource(module)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef):
                sources.append(textwrap.dedent(ast.get_source_segment(text, node, padded=True)))
    return sources


def guard_for(pieces: list[str]) -> SyntaxGuard:
    """A guard over a vocabulary of the specials, the structural pieces and `pieces`."""
    structural = [NEWLINE, INDENT, DEDENT, ":", "(", ")", "[", "]", "{", "}", "else", "elif", "except", "finally"]
    itos = list(dict.fromkeys([*SPECIALS, *structural, *pieces]))
    return SyntaxGuard(itos, EOS_ID)


def forbidden_after(guard: SyntaxGuard, prefix: list[str]) -> set[str]:
    """The pieces the guard forbids after the pieces of `prefix`."""
    return {guard.itos[i] for i in (~guard.allowed_after(prefix)).nonzero().flatten().tolist()}


def first_forbidden(guard: SyntaxGuard, ids: list[int]) -> int | None:
    """Where replaying ids, then <eos>, one at a time meets the first one the guard forbids (None: nowhere)."""
    states = guard.start(1)
    for position, token in enumerate([*ids, EOS_ID]):
        log_probs = torch.zeros(1, len(guard.itos))
        guard.forbid(log_probs, states)
        if torch.isinf(log_probs[0, token]):
            return position
        states = guard.advance(states, [0], [token])
    return None


@pytest.mark.parametrize("source", [*HANDWRITTEN, *stdlib_functions()[:400:4]])
def test_the_guard_never_forbids_a_piece_of_code_that_parses(source: str) -> None:
    ast.parse(source)
    pieces = code_pieces(source)
    guard = guard_for(pieces)
    position = first_forbidden(guard, [guard.ids[p] for p in pieces])
    assert position is None, f"{[*pieces, '<eos>'][position]!r} forbidden after {detokenize(pieces[:position])!r}"


def test_what_cannot_parse_is_forbidden() -> None:
    guard = guard_for(["def", "f", "x", "=", "1", "if", "try", "pass", '"', "##a", '##"', "return", "."])
    head = ["def", "f", "(", ")", ":", NEWLINE, INDENT]
    assert {"else", "elif", "except", "finally", ":", DEDENT, NEWLINE} <= forbidden_after(guard, head)
    assert forbidden_after(guard, [*head, "x", "=", "1"]) >= {":", INDENT, DEDENT}  # "else" may follow (x if y else z)
    assert forbidden_after(guard, [*head, "x", "="]) >= {NEWLINE}  # a line cannot end on an operator
    assert forbidden_after(guard, [*head, "x", "(", "["]) >= {")", "}", NEWLINE}
    assert "]" not in forbidden_after(guard, [*head, "x", "(", "["])
    eos = SPECIALS[EOS_ID]  # never forbidden: the <eos> settings decide where outputs end
    assert set(guard.itos) - forbidden_after(guard, ["def", "f", "(", ")", ":", NEWLINE]) == {INDENT, eos}
    assert set(guard.itos) - forbidden_after(guard, [*head, "try"]) == {":", eos}
    after_try = [*head, "try", ":", NEWLINE, INDENT, "pass", NEWLINE, DEDENT]
    assert set(guard.itos) - forbidden_after(guard, after_try) == {"except", "finally", eos}
    after_if = [*head, "if", "x", ":", NEWLINE, INDENT, "pass", NEWLINE, DEDENT]
    assert {"else", "elif"}.isdisjoint(forbidden_after(guard, after_if))
    assert "except" in forbidden_after(guard, after_if)
    in_string = forbidden_after(guard, [*head, "return", '"', "##a"])
    assert set(guard.itos) - in_string == {"##a", '##"', eos}  # continue or close the string
    assert '"' not in forbidden_after(guard, [*head, "return", '"', "##a", '##"', "."])
    assert DEDENT not in forbidden_after(guard, [*head, "if", "x", ":", NEWLINE, INDENT, "pass", NEWLINE])
    assert DEDENT in forbidden_after(guard, [*head, "pass", NEWLINE])  # the body never leaves the function


def test_eos_is_never_forbidden_and_ended_rows_are_left_alone() -> None:
    guard = guard_for(["def", "f", "x"])
    assert SPECIALS[EOS_ID] not in forbidden_after(guard, ["def", "f", "("])
    assert SPECIALS[EOS_ID] not in forbidden_after(guard, ["def", "f", "(", ")", ":"])
    ended = [GuardState(ended=True)]
    log_probs = torch.zeros(1, len(guard.itos))
    guard.forbid(log_probs, ended)
    assert torch.isfinite(log_probs).all()


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_decoding_with_the_guard_never_emits_a_forbidden_piece(method: str) -> None:
    pieces = code_pieces(HANDWRITTEN[0] + "\n" + HANDWRITTEN[1])
    guard = guard_for(pieces)
    torch.manual_seed(0)
    model = build_model("attention", 20, len(guard.itos), emb_dim=16, hidden_dim=16)
    with torch.no_grad():  # a model that likes pieces which break the structure: ")", "else", ":", <dedent>
        model.output.proj.bias[[guard.ids[p] for p in (")", "else", ":", DEDENT)]] += 4.0
    src = torch.randint(4, 20, (6, 7))
    lengths = torch.full((6,), 7)
    search = DecodingConfig(method=method, beam_width=3, max_len=40, no_repeat_ngram=0, eos_penalty=0.0,
                            length_target=False, syntax_guard=True)
    free = decode(model, src, lengths, replace(search, syntax_guard=False), SimpleNamespace(syntax_guard=guard))
    guarded = decode(model, src, lengths, search, SimpleNamespace(syntax_guard=guard))
    assert free.tokens != guarded.tokens  # a random model breaks the rules the guard enforces
    assert any(first_forbidden(guard, tokens) is not None for tokens in free.tokens)
    assert all(first_forbidden(guard, tokens) is None for tokens in guarded.tokens)
