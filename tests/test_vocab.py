"""Vocab: specials, frequency cut-off, deterministic order, unknown tokens, JSON round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from seq2seq_lib.errors import UserError
from seq2seq_lib.data.vocab import EOS, EOS_ID, PAD, PAD_ID, SOS, SOS_ID, UNK, UNK_ID, Vocab

LISTS = [["b", "a", "c", "a"], ["c", "b", "d"], ["e"]]


def test_specials_come_first() -> None:
    vocab = Vocab.build(LISTS)
    assert (PAD_ID, SOS_ID, EOS_ID, UNK_ID) == (0, 1, 2, 3)
    assert vocab.itos[:4] == [PAD, SOS, EOS, UNK]


def test_order_min_freq_and_max_size_are_deterministic() -> None:
    assert Vocab.build(LISTS).itos[4:] == ["a", "b", "c", "d", "e"]  # count desc, then token
    assert Vocab.build(LISTS, min_freq=2).itos[4:] == ["a", "b", "c"]
    assert Vocab.build(LISTS, max_size=6).itos[4:] == ["a", "b"]
    assert Vocab.build(list(reversed(LISTS))).itos == Vocab.build(LISTS).itos
    assert len(Vocab.build(LISTS, max_size=6)) == 6


def test_encode_unknown() -> None:
    vocab = Vocab.build(LISTS, min_freq=2)
    assert vocab.encode(["a", "zzz", "c"]) == [4, UNK_ID, 6]
    assert "a" in vocab and "zzz" not in vocab


def test_decode_stops_at_eos_and_strips_specials() -> None:
    vocab = Vocab.build(LISTS)
    ids = [SOS_ID, 4, UNK_ID, 5, EOS_ID, 6, PAD_ID]
    assert vocab.decode(ids) == ["a", UNK, "b"]
    assert vocab.decode(ids, strip_special=False) == [SOS, "a", UNK, "b", EOS, "c", PAD]
    assert vocab.decode([4, 10_000, -1]) == ["a", UNK, UNK]  # garbage ids never crash


def test_save_load_round_trip(tmp_path: Path) -> None:
    vocab = Vocab.build(LISTS + [["<newline>", "##▁x", "é"]])
    vocab.save(tmp_path / "v" / "src.json")
    loaded = Vocab.load(tmp_path / "v" / "src.json")
    assert loaded.itos == vocab.itos and loaded.stoi == vocab.stoi
    assert Vocab.from_dict(vocab.to_dict()).itos == vocab.itos


def test_bad_inputs_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError):
        Vocab.load(tmp_path / "missing.json")
    with pytest.raises(UserError):
        Vocab(["a", "b"])
