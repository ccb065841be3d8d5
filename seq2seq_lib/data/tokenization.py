"""Docstring tokenizer (NLTK regex), code tokenizer (Python `tokenize` + pieces + BPE) and detokenizer.

Code scheme ("pieces first, BPE for rare pieces"):
  * layout: NEWLINE / INDENT / DEDENT become `<newline>` / `<indent>` / `<dedent>`; comments and NL go;
  * every lexical token becomes one or more pieces; the first piece is plain, the others carry the
    continuation prefix `##` (as in WordPiece), so the detokenizer knows where a token ends;
  * identifiers split at snake/camel boundaries (`get_userName` -> `get ##_user ##Name`);
  * string literals split into opening quote, words and closing quote, with whitespace made visible
    (`"a b"` -> `" ##a ##▁b ##"`); numbers, keywords and operators stay whole;
  * pieces seen fewer than `min_freq` times (or beyond the vocabulary budget) are split by a BPE
    trained with `tokenizers` on the rare train pieces, so that (almost) nothing is unknown.
"""

from __future__ import annotations

import io
import keyword
import re
import textwrap
import tokenize as pytokenize
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from nltk.tokenize import RegexpTokenizer
from tokenizers import Tokenizer
from tokenizers.models import BPE
from tokenizers.trainers import BpeTrainer

from ..errors import UserError

NEWLINE, INDENT, DEDENT = "<newline>", "<indent>", "<dedent>"
LAYOUT_TOKENS = (NEWLINE, INDENT, DEDENT)
CONT = "##"
BPE_FRACTION = 0.25  # of the target vocabulary: pieces for what the BPE splits
UNK_PIECE = "<unk>"
_SKIPPED = frozenset({"<pad>", "<sos>", "<eos>"})

# whitespace inside string literals -> visible markers (and back)
_WS_MARKERS = {" ": "▁", "\n": "⏎", "\t": "⇥"}
_MARK = str.maketrans(_WS_MARKERS)
_UNMARK = str.maketrans({v: k for k, v in _WS_MARKERS.items()})

_IDENT_PIECE = re.compile(r"_*(?:[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+|[^\W\d_A-Za-z]+)|_+|.", re.DOTALL)
_STRING_START = re.compile(r"([A-Za-z]*)('''|\"\"\"|'|\")")
_STRING_PIECE = re.compile(r"▁+(?=▁)|▁?[A-Za-z]+|▁?\d+|▁?[^A-Za-z\d▁]|▁")
_DOC_TOKENIZER = RegexpTokenizer(r"\w+|[^\w\s]+")  # NLTK's wordpunct pattern, no data needed
_KEYWORDS = frozenset(keyword.kwlist) - {"True", "False", "None"}
_BPE_ALPHABET = [chr(c) for c in range(33, 127)] + list(_WS_MARKERS.values())
_OPENERS, _CLOSERS = "([{", ")]}"
_UNARY = frozenset({"-", "+", "~", "*", "**", "@"})
_LAYOUT_TYPES = (pytokenize.NEWLINE, pytokenize.INDENT, pytokenize.DEDENT)
_FSTRING_START = getattr(pytokenize, "FSTRING_START", -1)  # Python >= 3.12 only
_FSTRING_END = getattr(pytokenize, "FSTRING_END", -1)


def split_identifier(name: str) -> list[str]:
    """Split an identifier at snake_case / camelCase / digit boundaries; pieces concatenate to `name`."""
    return _IDENT_PIECE.findall(name)


# ----------------------------------------------------------------------------------------- docstrings


def _split_word(word: str) -> list[str]:
    """Identifier pieces of a word token; punctuation runs stay whole."""
    return split_identifier(word) if word[0].isalnum() or word[0] == "_" else [word]


class DocTokenizer:
    """Docstring tokenizer: NLTK regex words and punctuation, identifiers split, lower-cased."""

    def tokenize(self, text: str) -> list[str]:
        """Tokenize a docstring into words and punctuation runs."""
        return [piece.lower() for word in _DOC_TOKENIZER.tokenize(text or "") for piece in _split_word(word)]

    def to_dict(self) -> dict[str, Any]:
        """Settings as a JSON-ready dict (none are left; kept for the saved format)."""
        return {"lowercase": True, "split_identifiers": True}


# ------------------------------------------------------------------------------------------- lexing


def _source_span(lines: list[str], start: tuple[int, int], end: tuple[int, int]) -> str:
    """Source text between two `tokenize` positions (row from 1, column)."""
    (row0, col0), (row1, col1) = start, end
    if row0 == row1:
        return lines[row0 - 1][col0:col1]
    return lines[row0 - 1][col0:] + "".join(lines[row0 : row1 - 1]) + lines[row1 - 1][:col1]


def raw_tokens(source: str) -> Iterator[tuple[int, str]]:
    """(type, text) of Python's tokens; f-strings (split into parts since Python 3.12) come as one STRING."""
    lines = io.StringIO(source).readlines()
    depth, start = 0, (1, 0)
    for tok in pytokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == _FSTRING_START:
            depth, start = depth + 1, (start if depth else tok.start)
        elif depth and tok.type == _FSTRING_END:
            depth -= 1
            if not depth:
                yield pytokenize.STRING, _source_span(lines, start, tok.end)
        elif not depth:
            yield tok.type, tok.string


def _lex(code: str) -> list[tuple[int, str]]:
    """(type, text) of the significant Python tokens of a (possibly indented) function; best effort."""
    source = textwrap.dedent(code)
    if not source.endswith("\n"):
        source += "\n"
    out: list[tuple[int, str]] = []
    try:
        for kind, text in raw_tokens(source):
            if kind == pytokenize.INDENT and not out:
                continue  # first line still indented (dedent was blocked by a multi-line string)
            if kind != pytokenize.COMMENT and (kind in _LAYOUT_TYPES or text.strip()):  # NL, ENDMARKER: empty
                out.append((kind, text))
    except (pytokenize.TokenError, SyntaxError):
        pass  # keep what was lexed before the error
    while out and out[-1][0] in (pytokenize.NEWLINE, pytokenize.DEDENT):
        out.pop()  # trailing layout carries no information (the sequence ends with <eos>)
    return out


def _string_pieces(text: str) -> list[str]:
    """Split a string literal into opening quote, content words (whitespace marked) and closing quote."""
    match = _STRING_START.match(text)
    if match is None or len(text) < match.end() + len(match.group(2)):
        return [text]
    opening, quote = match.group(0), match.group(2)
    body = text[len(opening) : len(text) - len(quote)].translate(_MARK)
    return [opening, *(CONT + p for p in _STRING_PIECE.findall(body)), CONT + quote]


def _token_pieces(kind: int, text: str) -> list[str]:
    """Pieces of one lexical token: first plain, the rest with the `##` continuation prefix."""
    if kind == pytokenize.NEWLINE:
        return [NEWLINE]
    if kind == pytokenize.INDENT:
        return [INDENT]
    if kind == pytokenize.DEDENT:
        return [DEDENT]
    if kind == pytokenize.STRING:
        return _string_pieces(text)
    if kind == pytokenize.NAME:
        first, *rest = split_identifier(text)
        return [first, *(CONT + p for p in rest)]
    return [text]


def code_pieces(code: str) -> list[str]:
    """Code -> pieces before BPE (layout markers, identifier pieces, string pieces, other tokens)."""
    return [piece for kind, text in _lex(code) for piece in _token_pieces(kind, text)]


# ------------------------------------------------------------------------------------ detokenizing


def _words(pieces: Iterable[str]) -> Iterator[str]:
    """Glue `##` continuations onto the previous piece; layout markers pass through; specials dropped."""
    word: str | None = None
    for piece in pieces:
        if piece in _SKIPPED:
            continue
        if piece in LAYOUT_TOKENS:
            if word is not None:
                yield word
            word = None
            yield piece
        elif piece.startswith(CONT):
            word = (word or "") + piece[len(CONT) :]
        else:
            if word is not None:
                yield word
            word = piece
    if word is not None:
        yield word


def _kind(word: str) -> str:
    """Coarse class of a word for spacing: keyword, name, number, string, close or op."""
    if word in _KEYWORDS:
        return "keyword"
    if word.isidentifier() or word in ("...", UNK_PIECE):
        return "name"
    if word[0].isdigit() or (word[0] == "." and word[1:2].isdigit()):
        return "number"
    if _STRING_START.match(word):
        return "string"
    return "close" if word in _CLOSERS else "op"


def _space_before(prev: str, prev_kind: str, prev_unary: bool, word: str, kind: str, inner: str) -> bool:
    """Whether a space separates `prev` and `word` (`inner` is the innermost open bracket or '')."""
    if word in (")", "]", "}", ",", ":", ";"):
        return False
    if prev in _OPENERS or prev_unary:
        return False
    if prev == ".":
        return kind == "keyword"  # `from . import x`
    if word == ".":
        return prev_kind in ("number", "keyword")
    if word in ("(", "["):
        return prev_kind not in ("name", "string", "close")  # call / subscript
    if inner == "(" and "=" in (word, prev):
        return False  # keyword argument
    return not (prev == ":" and inner == "[")  # slice


def _is_unary(word: str, prev: str | None, prev_kind: str) -> bool:
    """Whether an operator word is used as a prefix (unary minus, *args, decorator @...)."""
    if word not in _UNARY:
        return False
    if prev is None:
        return True
    return word != "@" and (prev_kind == "keyword" or (prev_kind == "op" and prev not in _CLOSERS))


def _layout(words: Iterable[str]) -> str:
    """Lay words out into indented lines with PEP 8-like spacing."""
    lines: list[str] = []
    level = 0
    line: list[str] = []
    prev: str | None = None
    prev_kind, prev_unary = "op", False
    stack: list[str] = []
    for word in words:
        if word == NEWLINE:
            if line:
                lines.append("".join(line))
            line, prev, stack = [], None, []
        elif word == INDENT:
            level += 1
        elif word == DEDENT:
            level = max(0, level - 1)
        else:
            kind = _kind(word)
            if prev is None:
                line.append("    " * level)
            elif _space_before(prev, prev_kind, prev_unary, word, kind, stack[-1] if stack else ""):
                line.append(" ")
            line.append(word)
            prev_unary = _is_unary(word, prev, prev_kind)
            if word in _OPENERS:
                stack.append(word)
            elif word in _CLOSERS and stack:
                stack.pop()
            prev, prev_kind = word, kind
    if line:
        lines.append("".join(line))
    return "\n".join(lines) + "\n" if lines else ""


def detokenize(pieces: Sequence[str]) -> str:
    """Rebuild Python source from code pieces; never raises, whatever the sequence."""
    return _layout(word.translate(_UNMARK) for word in _words(pieces))


# ------------------------------------------------------------------------------------- round trip


# ----------------------------------------------------------------------------------- the tokenizer


class CodeTokenizer:
    """Python code <-> pieces: `tokenize` lexing, identifier/string pieces, BPE for rare pieces."""

    def __init__(self) -> None:
        self.kept: frozenset[str] = frozenset()
        self._bpe: Tokenizer | None = None
        self._cache: dict[str, list[str]] = {}

    def fit(self, piece_lists: Iterable[list[str]], vocab_size: int = 8000, min_freq: int = 2) -> CodeTokenizer:
        """Learn the kept pieces and the BPE for rare pieces (a quarter of the vocabulary) from lexed training code
        (`code_pieces`)."""
        counts = Counter(p for pieces in piece_lists for p in pieces)
        bpe_size = max(len(_BPE_ALPHABET) * 2, int(vocab_size * BPE_FRACTION))
        budget = max(0, vocab_size - bpe_size - 4 - len(LAYOUT_TOKENS))
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        kept = [p for p, c in ranked if c >= min_freq and p not in LAYOUT_TOKENS][:budget]
        self.kept = frozenset(kept)
        rare: Counter[str] = Counter()
        for piece, count in counts.items():
            if piece not in self.kept and piece not in LAYOUT_TOKENS:
                rare[_body(piece)] += count
        self._bpe = _train_bpe(rare, bpe_size, min_freq)
        self._cache = {}
        return self

    def _split_rare(self, piece: str) -> list[str]:
        """BPE pieces of a piece outside the kept set (the first inherits its `##`); characters BPE lacks stay characters."""
        cached = self._cache.get(piece)
        if cached is None:
            body, cached, pos = _body(piece), [], 0
            for token in self._bpe.model.tokenize(body):  # type: ignore[union-attr]
                size = 1 if token.value == UNK_PIECE else len(_body(token.value) if pos else token.value)
                cached.append((CONT if pos or piece.startswith(CONT) else "") + body[pos : pos + size])
                pos += size
            self._cache[piece] = cached
        return cached

    def apply_bpe(self, pieces: Iterable[str]) -> list[str]:
        """Replace rare pieces by their BPE pieces (identity before `fit`)."""
        if self._bpe is None:
            return list(pieces)
        out: list[str] = []
        for piece in pieces:
            if piece in self.kept or piece in LAYOUT_TOKENS:
                out.append(piece)
            else:
                out.extend(self._split_rare(piece))
        return out

    def tokenize(self, code: str) -> list[str]:
        """Code -> pieces (layout markers, kept pieces, BPE pieces)."""
        return self.apply_bpe(code_pieces(code))

    @staticmethod
    def detokenize(pieces: Sequence[str]) -> str:
        """Pieces -> Python source (best effort, never raises)."""
        return detokenize(pieces)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state (kept pieces, BPE model) for checkpoints."""
        return {
            "kind": "pieces+bpe",
            "bpe_fraction": BPE_FRACTION,
            "kept": sorted(self.kept),
            "bpe": self._bpe.to_str() if self._bpe is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CodeTokenizer:
        """Rebuild from `to_dict()` output."""
        if data.get("kind") != "pieces+bpe":
            raise UserError(f"unknown code tokenizer kind {data.get('kind')!r}; re-run preprocessing")
        tok = cls()
        tok.kept = frozenset(data["kept"])
        tok._bpe = Tokenizer.from_str(data["bpe"]) if data["bpe"] is not None else None
        return tok


def _body(piece: str) -> str:
    """A piece without its continuation prefix."""
    return piece.removeprefix(CONT)


def char_pieces(piece: str) -> list[str]:
    """A piece split into single characters, keeping its continuation marking (`##ab` -> `##a ##b`)."""
    prefix, body = (CONT, piece[len(CONT) :]) if piece.startswith(CONT) else ("", piece)
    return [prefix + body[0], *(CONT + c for c in body[1:])] if body else [piece]


def char_alphabet() -> list[str]:
    """Single-character pieces (ASCII and whitespace markers, plain and `##`) that spell any ASCII code."""
    return [*_BPE_ALPHABET, *(CONT + c for c in _BPE_ALPHABET)]


def bpe_alphabet(word_counts: Counter[str], extra: int = 100) -> list[str]:
    """The BPE's characters: printable ASCII and the whitespace markers, then the `extra` most frequent others
    (ties by code point, so the same words always give the same alphabet)."""
    counts: Counter[str] = Counter()
    for word, count in word_counts.items():
        for char in word:
            counts[char] += count
    base = set(_BPE_ALPHABET)
    others = sorted((c for c in counts if c not in base), key=lambda c: (-counts[c], c))
    return [*_BPE_ALPHABET, *others[:extra]]


def _train_bpe(word_counts: Counter[str], vocab_size: int, min_freq: int) -> Tokenizer:
    """Train a `##`-continuation BPE on weighted words (each word is one pre-token)."""
    tokenizer = Tokenizer(BPE(unk_token=UNK_PIECE, continuing_subword_prefix=CONT))
    # The trainer numbers `##x` pieces in hash-map order, and merges of equal count are ranked by those
    # numbers, so a vocabulary could differ from run to run (tokenizers issue #1794). Registering every
    # `##x` up front, sorted, fixes their numbers and makes training deterministic.
    continuations = sorted({CONT + c for c in _BPE_ALPHABET} | {CONT + c for word in word_counts for c in word[1:]})
    # Likewise the trainer breaks ties among rare characters in hash-map order when it limits its alphabet,
    # so the alphabet is chosen here and given whole.
    alphabet = bpe_alphabet(word_counts)
    trainer = BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_freq,
        special_tokens=[UNK_PIECE, *continuations],
        initial_alphabet=alphabet,
        limit_alphabet=len(alphabet),
        continuing_subword_prefix=CONT,
        show_progress=False,
    )
    words = sorted(word_counts.items())
    tokenizer.train_from_iterator(
        (w for w, c in words for _ in range(c)), trainer=trainer, length=sum(word_counts.values())
    )
    return tokenizer
