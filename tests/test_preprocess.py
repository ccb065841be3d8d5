"""Preprocessor: fitting, encoding, decoding, dict / directory round trips."""

from __future__ import annotations

from pathlib import Path

import pytest

from seq2seq_lib.errors import UserError
from seq2seq_lib.data.preprocess import Preprocessor
from seq2seq_lib.data.vocab import EOS_ID, SOS_ID, UNK_ID

CODES = [
    "def add(a, b):\n    return a + b\n",
    "def get_user_name(user):\n    return user.name\n",
    "    def getUserId(self):\n        return self.user_id\n",
    "def greet(name):\n    print('Hello,  ' + name)\n",
    "def empty(x):\n",
]
DOCS = ["Add two numbers.", "Return the name of a user.", "Return the user_id.", "Greet someone by name.", ""]


def records(n: int = 40) -> list[dict]:
    """CodeSearchNet-style records cycling through the examples above."""
    return [
        {"func_documentation_string": DOCS[i % 5], "func_code_string": CODES[i % 5], "language": "python"}
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def pre() -> Preprocessor:
    return Preprocessor.fit(records(), src_vocab_size=100, tgt_vocab_size=300, min_freq=2)


def test_encode_decode(pre: Preprocessor) -> None:
    src = pre.encode_src("Return the name of a user.")
    assert src[-1] == EOS_ID and UNK_ID not in src
    assert pre.encode_src("") == [EOS_ID]
    assert pre.src_tokens("Return the user_id") == ["return", "the", "user", "_id"]
    for code in CODES[:4]:
        ids = pre.encode_tgt(code)
        assert UNK_ID not in ids and EOS_ID not in ids
        assert pre.decode_tgt([SOS_ID, *ids, EOS_ID, 7, 8]) == pre.code_tokenizer.detokenize(pre.tgt_tokens(code))
    assert pre.decode_tgt(pre.encode_tgt(CODES[3])) == "def greet(name):\n    print('Hello,  ' + name)\n"


def test_unseen_code_has_few_unknowns(pre: Preprocessor) -> None:
    ids = pre.encode_tgt("def other_name(user):\n    return user + 1\n")
    assert UNK_ID not in ids


def test_to_dict_round_trip_gives_identical_encodings(pre: Preprocessor) -> None:
    clone = Preprocessor.from_dict(pre.to_dict())
    for doc, code in zip(DOCS, CODES):
        assert clone.encode_src(doc) == pre.encode_src(doc)
        assert clone.encode_tgt(code) == pre.encode_tgt(code)
        assert clone.decode_tgt(pre.encode_tgt(code)) == pre.decode_tgt(pre.encode_tgt(code))


def test_save_load_round_trip(pre: Preprocessor, tmp_path: Path) -> None:
    pre.save(tmp_path / "vocab")
    assert {p.name for p in (tmp_path / "vocab").iterdir()} == {"preprocessor.json"}
    clone = Preprocessor.load(tmp_path / "vocab")
    assert clone.to_dict() == pre.to_dict()


def test_bad_input_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="func_code_string"):
        Preprocessor.fit([{"func_documentation_string": "x"}])
    with pytest.raises(UserError):
        Preprocessor.fit([])
    with pytest.raises(UserError):
        Preprocessor.load(tmp_path)


def test_fitting_twice_gives_identical_preprocessors():
    """Same data, same vocabularies and merges (the BPE trainer's tie-breaking is made deterministic)."""
    from seq2seq_lib.data.corpus import load_split

    records = load_split("data/sample", "train")[:1500]
    first = Preprocessor.fit(records, 600, 600, 2).to_dict()
    second = Preprocessor.fit(records, 600, 600, 2).to_dict()
    assert first == second


def test_the_guard_table_shows_what_may_follow_each_prefix() -> None:
    from seq2seq_lib.course.notebook_helpers import guard_table

    pre = Preprocessor.fit(records(), src_vocab_size=100, tgt_vocab_size=300, min_freq=2)
    table = guard_table(pre, ["def", "def f ( x ) : <newline>", "def f ( x ) : <newline> <indent> return x"])
    assert table["pieces so far"].tolist() == ["def", "def f ( x ) : <newline>", "def f ( x ) : <newline> <indent> return x"]
    only_indent = table["pieces allowed next"][1]
    assert only_indent == f"2 of {len(pre.tgt_vocab)}"  # <indent> or <eos>
    forbidden = set(table["structural pieces forbidden"][2].split())
    assert {":", ")"} <= forbidden and "<newline>" not in forbidden  # the line may end after `return x`
    with pytest.raises(UserError, match="not in the target vocabulary"):
        guard_table(pre, ["def no_such_piece_here"])


def test_the_length_model_is_fitted_with_the_vocabularies_and_travels_in_the_dict() -> None:
    from seq2seq_lib.course.notebook_helpers import length_predictions

    pre = Preprocessor.fit(records(), src_vocab_size=100, tgt_vocab_size=300, min_freq=2)
    examples = [{"docstring": d, "reference": c} for d, c in zip(DOCS, CODES)]
    assert "length_model" in pre.to_dict()
    bare = Preprocessor.from_dict({k: v for k, v in pre.to_dict().items() if k != "length_model"})
    assert bare.length_model is None and length_predictions(bare, examples) is None
    true, predicted = length_predictions(pre, examples, chunk=2)
    assert true == [len(pre.tgt_tokens(c)) for c in CODES]
    longest = max(range(4), key=lambda i: true[i])  # the empty docstring (index 4) predicts the mean
    assert max(range(4), key=lambda i: predicted[i]) == longest
    again = Preprocessor.from_dict(pre.to_dict())
    assert length_predictions(again, examples) == (true, pytest.approx(predicted))
