"""A syntax guard for decoding: forbid the code pieces that would certainly break Python's block structure.

Most outputs that do not parse fail on structure, not on expressions: an `else:` or `except` with no `if`
or `try` before it, a colon after a plain statement, a closing bracket that does not match, a line break
inside a string or a bracket, a block that returns to the `def` line's depth. The guard follows each
hypothesis piece by piece (open brackets, indentation depth, the statement that opened each block,
whether a string is open) and sets to -inf, before the search picks a token, the pieces that no
continuation could repair. It is a small state machine over the tokenizer's pieces
(seq2seq_lib.data.tokenization), not a parser, and it never forbids `<eos>`: the <eos> penalty and the
length target decide where an output ends. An output can still fail to parse (ended inside a bracket, an
argument written as an assignment), but not for the reasons above. `DecodingConfig.syntax_guard` turns it
on for greedy and beam search alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
from torch import Tensor

from ..data.tokenization import CONT, DEDENT, INDENT, NEWLINE

CLOSING = {")": "(", "]": "[", "}": "{"}
COMPOUND = {"def", "class", "if", "elif", "else", "for", "while", "try", "except", "finally", "with", "async"}
FOLLOWS = {  # a line starting with the key continues the statement before it at the same depth, one of these
    "elif": {"if", "elif"},
    "else": {"if", "elif", "for", "while", "except"},
    "except": {"try", "except"},
    "finally": {"try", "except", "else"},
}
NEEDS_OPERAND = {  # pieces a line cannot end with
    ".", "=", "+", "-", "*", "/", "//", "%", "**", "@", "==", "!=", "<", ">", "<=", ">=", "and", "or", "not",
    "in", "is", "+=", "-=", "*=", "/=", "|", "&", "^", "|=", "&=", "lambda", "import", "from", "->", "await",
}
BARE = {"else", "try", "finally"}  # headers whose colon comes right after the keyword
_CACHE_SIZE = 100_000  # states whose forbidden pieces the guard remembers (cleared when full)
_STRING_OPENING = re.compile(r"[rRbBuUfF]{0,2}(\"\"\"|'''|\"|')")


class GuardState(NamedTuple):
    """What the guard knows about one hypothesis so far (immutable and hashable: the guard caches by state)."""

    brackets: tuple[str, ...] = ()  # open brackets, innermost last
    depth: int = 0  # indentation depth of the current line (the `def` line is 0)
    headers: tuple[str | None, ...] = (None,)  # per depth: the compound keyword that opened the last statement
    head: str | None = None  # first piece of the current line (None at a line start)
    colon: bool = False  # the current line has a colon outside brackets (its header is complete)
    lambdas: int = 0  # `lambda`s outside brackets on the current line still waiting for their colon
    last: str | None = None  # the previous piece
    need_indent: bool = False  # the previous line ended with a header colon: an indented block must follow
    string: tuple[str, str] | None = None  # (quote, text so far) of a string literal still open
    ended: bool = False  # <eos> was generated


@dataclass
class SyntaxGuard:
    """Forbidden pieces for each hypothesis, and the state after each chosen piece, for one target vocabulary."""

    itos: Sequence[str]
    eos_id: int
    ids: dict[str, int] = field(init=False)
    continuation: Tensor = field(init=False)  # (V,) True for `##` pieces
    _rules: dict[GuardState, tuple[str, tuple[int, ...]]] = field(init=False, repr=False)  # the rule of each state
    _masks: dict[tuple[str, tuple[int, ...]], Tensor] = field(init=False, repr=False)  # the (V,) mask of each rule

    def __post_init__(self) -> None:
        """Index the vocabulary's pieces and mark its continuations."""
        self.ids = {piece: i for i, piece in enumerate(self.itos)}
        self.continuation = torch.tensor([piece.startswith(CONT) for piece in self.itos])
        self._rules, self._masks = {}, {}

    def start(self, rows: int) -> list[GuardState]:
        """Fresh states for `rows` hypotheses."""
        return [GuardState() for _ in range(rows)]

    def forbid(self, log_probs: Tensor, states: Sequence[GuardState]) -> None:
        """Set to -inf (in place) every piece of log_probs (N, V) that state n can never recover from."""
        # Adding 0 or -inf leaves the same values as masked_fill_, which runs about 10x slower on a CPU.
        log_probs.add_(torch.stack([self._mask(state) for state in states]).to(log_probs.device))  # (N, V)

    def _mask(self, state: GuardState) -> Tensor:
        """(V,) -inf on the pieces a state forbids (never `<eos>`), 0 elsewhere; one tensor per distinct rule."""
        rule = ("ended", ()) if state.ended else self._rule(state)
        mask = self._masks.get(rule)
        if mask is None:
            kind, ids = rule
            if kind == "string":  # a string literal is open: only its continuation pieces (or <eos>)
                forbidden = ~self.continuation
            else:
                forbidden = torch.full((len(self.itos),), kind == "only")
                forbidden[list(ids)] = kind != "only"
            forbidden[self.eos_id] = False
            mask = self._masks[rule] = torch.zeros(len(self.itos)).masked_fill_(forbidden, float("-inf"))
        return mask

    def _rule(self, state: GuardState) -> tuple[str, tuple[int, ...]]:
        """("only", allowed ids), ("string", ()) or ("banned", forbidden ids) for a state, cached by state."""
        rule = self._rules.get(state)
        if rule is None:
            only = self._only(state)
            if only:
                rule = ("only", tuple(only))
            elif state.string is not None:
                return ("string", ())  # not cached: the text so far makes nearly every such state unique
            else:
                rule = ("banned", tuple(self.ids[p] for p in self._banned(state) if p in self.ids))
            if len(self._rules) >= _CACHE_SIZE:
                self._rules.clear()
            self._rules[state] = rule
        return rule

    def advance(self, states: Sequence[GuardState], parents: Sequence[int], tokens: Sequence[int]) -> list[GuardState]:
        """The states after hypothesis parents[n] takes tokens[n] (greedy: parents are the rows themselves)."""
        return [self._step(states[parent], token) for parent, token in zip(parents, tokens)]

    def allowed_after(self, pieces: Sequence[str]) -> Tensor:
        """(V,) True for every piece the guard allows after `pieces` (a prefix in this vocabulary's pieces)."""
        states = self.start(1)
        for piece in pieces:
            states = self.advance(states, [0], [self.ids[piece]])
        log_probs = torch.zeros(1, len(self.itos))  # (1, V)
        self.forbid(log_probs, states)
        return torch.isfinite(log_probs[0])

    def _only(self, state: GuardState) -> list[int]:
        """The only pieces allowed next where the state leaves no choice (empty where it does)."""
        if state.need_indent:
            allowed = [INDENT]
        elif state.head in BARE and state.last == state.head:
            allowed = [":"]
        elif state.head is None and state.headers[state.depth] == "try":
            allowed = ["except", "finally"]
        else:
            return []
        return [self.ids[p] for p in allowed if p in self.ids]

    def _banned(self, state: GuardState) -> list[str]:
        """Pieces that would make the code unparseable whatever follows (never `<eos>`: see the module notes)."""
        banned = [c for c, o in CLOSING.items() if not state.brackets or state.brackets[-1] != o]
        at_line_start = state.head is None
        unfinished_header = not at_line_start and state.head in COMPOUND and not state.colon
        if state.brackets or unfinished_header or state.last in NEEDS_OPERAND:
            banned.append(NEWLINE)
        if state.last != NEWLINE:
            banned.append(INDENT)
        if not at_line_start or state.depth <= 1 or state.last == INDENT:
            banned.append(DEDENT)  # no empty block, and the body never returns to the `def` line's depth
        if at_line_start:
            banned += [NEWLINE, ":"] + [k for k, before in FOLLOWS.items() if state.headers[state.depth] not in before]
        elif not state.brackets and state.lambdas == 0 and (state.head not in COMPOUND or state.colon):
            banned.append(":")
        return banned

    def _step(self, state: GuardState, token: int) -> GuardState:
        """The state after `token`."""
        if state.ended:
            return state
        if token == self.eos_id:
            return state._replace(ended=True)
        piece = self.itos[token]
        if piece.startswith(CONT):
            string = None if state.string is None else _string_after(state.string, piece[len(CONT) :])
            return state._replace(last=piece, string=string)
        if piece == NEWLINE:
            return state._replace(head=None, colon=False, lambdas=0, last=piece, need_indent=state.last == ":")
        if piece == INDENT:
            return state._replace(depth=state.depth + 1, headers=(*state.headers, None), last=piece, need_indent=False)
        if piece == DEDENT:
            return state._replace(depth=state.depth - 1, headers=state.headers[:-1], last=piece)
        changes: dict = {"last": piece, "string": _string_after(None, piece)}
        if state.head is None:  # the first piece of a statement at this depth
            header = piece if piece in COMPOUND else None
            changes.update(head=piece, headers=(*state.headers[: state.depth], header))
        if piece in CLOSING.values():
            changes["brackets"] = (*state.brackets, piece)
        elif piece in CLOSING:
            changes["brackets"] = state.brackets[:-1]
        elif piece == "lambda" and not state.brackets:
            changes["lambdas"] = state.lambdas + 1
        elif piece == ":" and not state.brackets:
            if state.lambdas:
                changes["lambdas"] = state.lambdas - 1  # the colon of a lambda
            else:
                changes["colon"] = True
        return state._replace(**changes)


def _string_after(string: tuple[str, str] | None, text: str) -> tuple[str, str] | None:
    """The open string after appending text (None once its quote closes it); with `string` None, the string
    that text opens (None unless text is a string's opening piece: prefix and quote)."""
    if string is None:
        opening = _STRING_OPENING.fullmatch(text)
        return None if opening is None else (opening.group(1), "")
    quote, body = string
    body += text
    before = body[: len(body) - len(quote)]
    closed = body.endswith(quote) and (len(before) - len(before.rstrip("\\"))) % 2 == 0  # not an escaped quote
    return None if closed else (quote, body)
