"""Tests for greedy decoding and beam search against each other and against exhaustive search."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import pytest
import torch
from torch import Tensor

from types import SimpleNamespace

from seq2seq_lib.config import DecodingConfig
from seq2seq_lib.decoding.search import beam_search, decode, gnmt_length_penalty, greedy_decode
from seq2seq_lib.errors import UserError
from seq2seq_lib.models import MODEL_NAMES, Seq2Seq, build_model

SOS, EOS = 1, 2
PLAIN = {"no_repeat_ngram": 0, "eos_penalty": 0.0, "length_target": False, "syntax_guard": False}


def options(**changes: object) -> DecodingConfig:
    """Decoding options without the profile's extras (n-gram blocking, <eos> penalty, length target, guard)."""
    return DecodingConfig(**{"method": "greedy", "max_len": 10, **PLAIN, **changes})


def aiming_at(aim: object) -> SimpleNamespace:
    """What decoding reads of a preprocessor for the length target: a length model predicting `aim(src, lengths)`."""
    return SimpleNamespace(length_model=SimpleNamespace(predict=aim))


def peaked_model(name: str, tgt_vocab: int, seed: int = 0) -> Seq2Seq:
    """A small random model whose output distributions are sharp enough to avoid near-ties."""
    torch.manual_seed(seed)
    model = build_model(name, 20, tgt_vocab, emb_dim=16, hidden_dim=16)
    with torch.no_grad():
        model.output.proj.weight.mul_(8.0)
    return model


def source_batch(lengths: list[int], seed: int = 0) -> tuple[Tensor, Tensor]:
    """Padded random source ids (B, S) and their lengths (B,)."""
    gen = torch.Generator().manual_seed(seed)
    src = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
    for b, n in enumerate(lengths):
        src[b, :n] = torch.randint(4, 20, (n,), generator=gen)
    return src, torch.tensor(lengths)


def exhaustive_best(model: Seq2Seq, src: Tensor, length: Tensor, max_len: int, alpha: float) -> tuple[list[int], float]:
    """Best (tokens, score) for one sentence over every output of at most max_len steps, scored one by one."""
    vocab = model.tgt_vocab_size
    words = [w for w in range(vocab) if w != EOS]
    outputs = [list(p) + [EOS] for n in range(max_len) for p in itertools.product(words, repeat=n)]
    outputs += [list(p) for p in itertools.product(words, repeat=max_len)]  # cut off at max_len
    best_tokens, best_score = [], -math.inf
    model.eval()
    with torch.no_grad():
        enc = model.encode(src, length)
        for output in outputs:
            state, prev, log_prob = enc.state, SOS, 0.0
            for token in output:
                logits, state, _ = model.decode_step(torch.tensor([prev]), state, enc)
                log_prob += torch.log_softmax(logits, dim=-1)[0, token].item()
                prev = token
            score = log_prob / gnmt_length_penalty(len(output), alpha)
            if score > best_score:
                best_tokens, best_score = [t for t in output if t != EOS], score
    return best_tokens, best_score


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_beam_width_one_is_greedy(name: str) -> None:
    model = peaked_model(name, 12)
    src, lengths = source_batch([6, 3, 5, 1])
    greedy = greedy_decode(model, src, lengths, options())
    beam = beam_search(model, src, lengths, options(beam_width=1, length_penalty=0.0))
    assert beam.tokens == greedy.tokens
    assert beam.scores == pytest.approx(greedy.scores, abs=1e-5)


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_wide_beam_equals_exhaustive_search(name: str, alpha: float) -> None:
    vocab, max_len = 5, 3
    model = peaked_model(name, vocab, seed=1)
    model.output.proj.bias.data[EOS] -= 2.0  # make longer outputs competitive
    src, lengths = source_batch([4, 2], seed=1)
    width = vocab * (vocab - 1) ** (max_len - 1)  # every hypothesis and every candidate stays in the beam
    wide = options(beam_width=width, max_len=max_len, length_penalty=alpha)
    beam = beam_search(model, src, lengths, wide, exact_stop=True)
    if alpha == 0.0:  # without a length penalty the default (heuristic) stop is exact too
        heuristic = beam_search(model, src, lengths, wide)
        assert heuristic.tokens == beam.tokens and heuristic.scores == pytest.approx(beam.scores)
    for b in range(2):
        tokens, score = exhaustive_best(model, src[b : b + 1, : lengths[b]], lengths[b : b + 1], max_len, alpha)
        assert beam.tokens[b] == tokens
        assert beam.scores[b] == pytest.approx(score, abs=1e-5)


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_batched_decoding_equals_one_sentence_at_a_time(name: str, method: str) -> None:
    """Sentences that end early leave the batch; the others must decode exactly as they would alone."""
    model = peaked_model(name, 12)
    model.output.proj.bias.data[EOS] += 5.0  # eager to stop once the length target allows it
    src, lengths = source_batch([6, 3, 5, 4, 2])
    hooks = aiming_at(lambda src, src_lengths: src_lengths.float() + 1.0)  # <eos> held back until 7, 4, 6, 5, 3
    search = options(method=method, beam_width=4, max_len=12, no_repeat_ngram=2, eos_penalty=1e4, length_target=True)
    batched = decode(model, src, lengths, search, hooks)
    assert all(len(tokens) >= n + 1 for tokens, n in zip(batched.tokens, lengths.tolist()))
    assert len({len(tokens) for tokens in batched.tokens}) > 2  # sentences left the batch at several steps
    for b, n in enumerate(lengths.tolist()):
        single = decode(model, src[b : b + 1, :n], lengths[b : b + 1], search, hooks)
        assert single.tokens[0] == batched.tokens[b]
        assert single.scores[0] == pytest.approx(batched.scores[b], rel=1e-6)
        if batched.attention is not None:
            torch.testing.assert_close(single.attention[0], batched.attention[b])


def test_length_penalty_values() -> None:
    assert gnmt_length_penalty(7, 0.0) == 1.0
    assert gnmt_length_penalty(1, 0.6) == 1.0
    assert gnmt_length_penalty(7, 1.0) == 2.0
    assert gnmt_length_penalty(7, 0.5) == pytest.approx(math.sqrt(2))


def test_stronger_length_penalty_never_gives_shorter_outputs() -> None:
    model = peaked_model("lstm", 12)
    src, lengths = source_batch([6, 3, 5, 4, 2])
    short = beam_search(model, src, lengths, options(beam_width=6, max_len=12, length_penalty=0.0))
    long = beam_search(model, src, lengths, options(beam_width=6, max_len=12, length_penalty=2.0))
    assert all(len(a) >= len(b) for a, b in zip(long.tokens, short.tokens))


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_attention_of_the_chosen_output(method: str) -> None:
    model = peaked_model("attention", 12)
    src, lengths = source_batch([6, 3, 5])
    result = decode(model, src, lengths, options(method=method, beam_width=3))
    for tokens, attn, n in zip(result.tokens, result.attention, lengths.tolist()):
        assert attn.shape == (len(tokens), n)
        torch.testing.assert_close(attn.sum(-1), torch.ones(len(tokens)))


def test_beam_attention_is_the_attention_behind_each_chosen_token() -> None:
    """The back-pointer history must give each output the attention its own prefix produced, not a sibling's."""
    model = peaked_model("attention", 12).eval()
    src, lengths = source_batch([6, 3, 5, 4])
    result = beam_search(model, src, lengths, options(beam_width=4, max_len=9, length_penalty=1.0))
    assert len(set(map(len, result.tokens))) > 1  # hypotheses of several lengths, ended at several steps
    with torch.no_grad():
        for b, (tokens, attn) in enumerate(zip(result.tokens, result.attention)):
            enc = model.encode(src[b : b + 1, : lengths[b]], lengths[b : b + 1])
            tgt_in = torch.tensor([[SOS, *tokens[:-1]]])  # (1, T): the inputs that produced the tokens
            expected = model.decode_teacher_forced(enc, tgt_in).attn[0, : len(tokens)]  # (T, S_b)
            torch.testing.assert_close(attn, expected)


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_an_output_ended_at_the_first_step_has_an_empty_attention_over_its_source(method: str) -> None:
    model = peaked_model("attention", 12)
    model.output.proj.bias.data[EOS] += 1e4  # <eos> at once
    src, lengths = source_batch([6, 3])
    result = decode(model, src, lengths, options(method=method, beam_width=3, max_len=5))
    assert result.tokens == [[], []]
    assert [tuple(attn.shape) for attn in result.attention] == [(0, 6), (0, 3)]


@pytest.mark.parametrize("name", ["rnn", "lstm"])
def test_models_without_attention_return_no_attention(name: str) -> None:
    src, lengths = source_batch([4, 2])
    assert beam_search(peaked_model(name, 12), src, lengths, options(beam_width=2, max_len=5)).attention is None


@pytest.mark.parametrize("width", [1, 4])
def test_no_repeat_ngram_blocks_every_repeated_ngram(width: int) -> None:
    model = peaked_model("attention", 12)
    src, lengths = source_batch([6, 3, 5, 4])
    plain = beam_search(model, src, lengths, options(beam_width=width, max_len=15))
    assert any(len(tokens) != len(set(tokens)) for tokens in plain.tokens)  # the constraints below have work to do
    result = beam_search(model, src, lengths, options(beam_width=width, max_len=15, no_repeat_ngram=2))
    for tokens in result.tokens:
        bigrams = list(zip(tokens, tokens[1:]))
        assert len(bigrams) == len(set(bigrams))
    unigram = beam_search(model, src, lengths, options(beam_width=width, max_len=15, no_repeat_ngram=1))
    assert all(len(tokens) == len(set(tokens)) for tokens in unigram.tokens)


def test_greedy_obeys_the_same_constraints_as_a_beam_of_one() -> None:
    model = peaked_model("attention", 12)
    model.output.proj.bias.data[EOS] += 5.0  # eager to stop
    src, lengths = source_batch([6, 3, 5, 4])
    hooks = aiming_at(lambda src, src_lengths: torch.tensor([2.0, 7.0, 4.0, 5.5]))
    for changes in ({"eos_penalty": 3.0}, {"no_repeat_ngram": 2}, {"eos_penalty": 1e4, "length_target": True}):
        greedy = greedy_decode(model, src, lengths, options(max_len=15, **changes), hooks)
        beam = beam_search(model, src, lengths, options(beam_width=1, max_len=15, length_penalty=0.0, **changes), hooks)
        assert greedy.tokens == beam.tokens, changes
        assert greedy.scores == pytest.approx(beam.scores, abs=1e-5)


@pytest.mark.parametrize("width", [1, 3])
def test_a_length_target_holds_eos_back_until_each_outputs_own_length(width: int) -> None:
    model = peaked_model("attention", 12)
    model.output.proj.bias.data[EOS] += 50.0  # <eos> is the first choice wherever it is not penalised
    src, lengths = source_batch([6, 3, 5, 4])
    hooks = aiming_at(lambda src, src_lengths: torch.tensor([2.0, 7.0, 4.0, 5.5]))
    search = options(beam_width=width, method="beam", max_len=15, length_penalty=0.0, eos_penalty=1e4)
    aimed = decode(model, src, lengths, replace(search, length_target=True), hooks)
    assert [len(tokens) for tokens in aimed.tokens] == [2, 7, 4, 6]  # <eos> from step ceil(target)
    scaled = decode(model, src, lengths, replace(search, length_target=True, target_scale=2.0), hooks)
    assert [len(tokens) for tokens in scaled.tokens] == [4, 14, 8, 11]
    everywhere = decode(model, src, lengths, search, hooks)  # without the length target, the penalty holds throughout
    assert all(len(tokens) == 15 for tokens in everywhere.tokens)


def test_decoding_restores_training_mode_and_rejects_unknown_methods() -> None:
    model = peaked_model("rnn", 12).train()
    src, lengths = source_batch([3])
    assert decode(model, src, lengths, options(max_len=5)).tokens == greedy_decode(model, src, lengths, options(max_len=5)).tokens
    assert model.training
    with pytest.raises(UserError, match="greedy, beam"):
        decode(model, src, lengths, options(method="sample"))


def test_options_are_frozen() -> None:
    with pytest.raises(AttributeError):
        options().max_len = 3
