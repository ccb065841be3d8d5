"""Vocabulary: special tokens, frequency cut-off, size cap, JSON save/load."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import UserError
from ..io_utils import read_json, write_json

PAD, SOS, EOS, UNK = "<pad>", "<sos>", "<eos>", "<unk>"
PAD_ID, SOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
SPECIALS = (PAD, SOS, EOS, UNK)


class Vocab:
    """Token <-> id mapping; ids 0..3 are `<pad>`, `<sos>`, `<eos>`, `<unk>`."""

    def __init__(self, tokens: Sequence[str]) -> None:
        if tuple(tokens[: len(SPECIALS)]) != SPECIALS:
            raise UserError(f"a vocabulary must start with {SPECIALS}; rebuild it with Vocab.build")
        self.itos: list[str] = list(tokens)
        self.stoi: dict[str, int] = {tok: i for i, tok in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise UserError("the vocabulary has duplicate tokens; rebuild it with Vocab.build")

    @classmethod
    def build(
        cls,
        token_lists: Iterable[Sequence[str]],
        min_freq: int = 1,
        max_size: int | None = None,
        reserved: Iterable[str] = (),
    ) -> Vocab:
        """Specials, then `reserved`, then the most frequent tokens (count >= min_freq, ties by token), max_size ids in all."""
        head = list(dict.fromkeys(tok for tok in reserved if tok not in SPECIALS))
        counts = Counter(tok for tokens in token_lists for tok in tokens)
        ranked = sorted(
            (kv for kv in counts.items() if kv[1] >= min_freq and kv[0] not in SPECIALS), key=lambda kv: (-kv[1], kv[0])
        )
        taken = set(head)
        rest = [tok for tok, _ in ranked if tok not in taken]
        tokens = [*SPECIALS, *head, *rest]
        return cls(tokens if max_size is None else tokens[: max(len(SPECIALS), max_size)])

    def __len__(self) -> int:
        """Number of ids, specials included."""
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        """Whether `token` has its own id."""
        return token in self.stoi

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Tokens -> ids (`<unk>` for unknown tokens)."""
        return [self.stoi.get(tok, UNK_ID) for tok in tokens]

    def decode(self, ids: Iterable[int], strip_special: bool = True) -> list[str]:
        """Ids -> tokens; with strip_special, stop at `<eos>` and drop `<pad>`/`<sos>` (`<unk>` stays)."""
        out: list[str] = []
        for i in ids:
            i = int(i)
            if strip_special and i == EOS_ID:
                break
            if strip_special and i in (PAD_ID, SOS_ID):
                continue
            out.append(self.itos[i] if 0 <= i < len(self.itos) else UNK)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"tokens": self.itos}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vocab:
        """Rebuild from `to_dict()` output."""
        return cls(data["tokens"])

    def save(self, path: str | os.PathLike) -> None:
        """Write the vocabulary as JSON (atomically)."""
        write_json(path, self.to_dict(), indent=None)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocab:
        """Read a vocabulary written by `save`."""
        if not os.path.exists(path):
            raise UserError(f"vocabulary file {path} not found; run preprocessing/training first")
        return cls.from_dict(read_json(path))
