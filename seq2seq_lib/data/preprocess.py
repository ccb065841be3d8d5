"""Preprocessor: docstring tokenizer, fitted code tokenizer and both vocabularies in one object."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..decoding.length_model import LengthModel
from ..decoding.syntax_guard import SyntaxGuard
from ..errors import UserError
from ..io_utils import read_json, write_json
from .tokenization import CodeTokenizer, DocTokenizer, char_alphabet, char_pieces, code_pieces
from .vocab import EOS_ID, Vocab

SRC_FIELD, TGT_FIELD = "func_documentation_string", "func_code_string"
FORMAT_VERSION = 1


def record_fields(record: Mapping[str, Any]) -> tuple[str, str]:
    """(docstring, code) of a CodeSearchNet-style record."""
    try:
        return record[SRC_FIELD], record[TGT_FIELD]
    except KeyError as err:
        raise UserError(f"record lacks the field {err.args[0]!r}; records must follow CodeSearchNet's schema") from None


@dataclass(eq=False)
class Preprocessor:
    """Text <-> ids for both sides: docstring tokens -> src ids, code <-> tgt ids.

    `length_model` (fitted by `fit_length_model`, None until then) predicts each code's length in pieces.
    """

    doc_tokenizer: DocTokenizer
    code_tokenizer: CodeTokenizer
    src_vocab: Vocab
    tgt_vocab: Vocab
    length_model: LengthModel | None = None

    @classmethod
    def fit(
        cls,
        train_records: Sequence[Mapping[str, Any]],
        src_vocab_size: int = 8000,
        tgt_vocab_size: int = 8000,
        min_freq: int = 2,
    ) -> Preprocessor:
        """Fit tokenizers, vocabularies and the length model on the train split."""
        if not train_records:
            raise UserError("no training records to fit the preprocessor on; build the corpus first")
        doc_tok, code_tok = DocTokenizer(), CodeTokenizer()
        docs, codes = zip(*(record_fields(r) for r in train_records))
        lexed = [code_pieces(code) for code in codes]
        code_tok.fit(lexed, tgt_vocab_size, min_freq)
        pieces = [code_tok.apply_bpe(p) for p in lexed]  # each code's `code_tok.tokenize`, lexed once
        src_vocab = Vocab.build((doc_tok.tokenize(d) for d in docs), min_freq, src_vocab_size)
        tgt_vocab = Vocab.build(pieces, min_freq, tgt_vocab_size, reserved=char_alphabet())
        preprocessor = cls(doc_tok, code_tok, src_vocab, tgt_vocab)
        preprocessor.fit_length_model(train_records, [len(preprocessor._spelled(p)) for p in pieces])
        return preprocessor

    def src_tokens(self, docstring: str) -> list[str]:
        """Docstring -> source tokens."""
        return self.doc_tokenizer.tokenize(docstring)

    def tgt_tokens(self, code: str) -> list[str]:
        """Code -> target pieces; pieces outside the target vocabulary are spelled in characters."""
        return self._spelled(self.code_tokenizer.tokenize(code))

    def _spelled(self, pieces: Iterable[str]) -> list[str]:
        """The code tokenizer's pieces as target pieces: those outside the vocabulary spelled in characters."""
        return [tok for piece in pieces for tok in self._spell(piece)]

    def _spell(self, piece: str) -> list[str]:
        """[piece] if the vocabulary has it, else its characters if the vocabulary has all of them."""
        if piece in self.tgt_vocab:
            return [piece]
        chars = char_pieces(piece)
        return chars if all(c in self.tgt_vocab for c in chars) else [piece]

    def encode_src(self, docstring: str) -> list[int]:
        """Docstring -> source ids, ending with `<eos>` (so a source is never empty)."""
        return [*self.src_vocab.encode(self.src_tokens(docstring)), EOS_ID]

    def encode_tgt(self, code: str) -> list[int]:
        """Code -> target ids without specials (batching adds `<sos>` / `<eos>`)."""
        return self.tgt_vocab.encode(self.tgt_tokens(code))

    def decode_tgt(self, ids: Iterable[int]) -> str:
        """Target ids (model output) -> Python source; stops at `<eos>`, never raises."""
        return self.code_tokenizer.detokenize(self.tgt_vocab.decode(ids))

    @functools.cached_property
    def syntax_guard(self) -> SyntaxGuard:
        """The decoding guard over this target vocabulary (seq2seq_lib.decoding.syntax_guard)."""
        return SyntaxGuard(self.tgt_vocab.itos, EOS_ID)

    def fit_length_model(self, train_records: Sequence[Mapping[str, Any]], lengths: Sequence[int] | None = None) -> LengthModel:
        """Fit (and keep) the code-length regression on training records, every length included (`lengths`: their
        codes' lengths in target pieces, when the caller has them already)."""
        docs, codes = zip(*(record_fields(r) for r in train_records))
        lengths = [len(self.tgt_tokens(c)) for c in codes] if lengths is None else lengths
        self.length_model = LengthModel.fit([self.encode_src(d) for d in docs], lengths, len(self.src_vocab))
        return self.length_model

    def to_dict(self) -> dict[str, Any]:
        """Everything needed to encode and decode, as a JSON-ready dict (checkpoints embed it)."""
        data = {
            "version": FORMAT_VERSION,
            "doc_tokenizer": self.doc_tokenizer.to_dict(),
            "code_tokenizer": self.code_tokenizer.to_dict(),
            "src_vocab": self.src_vocab.to_dict(),
            "tgt_vocab": self.tgt_vocab.to_dict(),
        }
        if self.length_model is not None:
            data["length_model"] = self.length_model.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preprocessor:
        """Rebuild from `to_dict()` output."""
        if data.get("version") != FORMAT_VERSION:
            raise UserError(
                f"preprocessor format {data.get('version')!r} is not {FORMAT_VERSION}; re-run preprocessing"
            )
        return cls(
            DocTokenizer(),
            CodeTokenizer.from_dict(data["code_tokenizer"]),
            Vocab.from_dict(data["src_vocab"]),
            Vocab.from_dict(data["tgt_vocab"]),
            LengthModel.from_dict(data["length_model"]) if "length_model" in data else None,
        )

    def save(self, directory: str | os.PathLike) -> None:
        """Write everything `to_dict` holds to preprocessor.json in `directory`."""
        write_json(Path(directory) / "preprocessor.json", self.to_dict(), indent=None)

    @classmethod
    def load(cls, directory: str | os.PathLike) -> Preprocessor:
        """Read a preprocessor written by `save`."""
        path = Path(directory) / "preprocessor.json"
        if not path.exists():
            raise UserError(f"no preprocessor in {directory}; run training to create it")
        return cls.from_dict(read_json(path))
