"""Tests for greedy decoding and beam search against each other and against exhaustive search."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import Tensor

from seq2seq_lib.decoding import beam_search, decode, gnmt_length_penalty, greedy_decode
from seq2seq_lib.errors import UserError
from seq2seq_lib.models import MODEL_NAMES, Seq2Seq, build_model

SOS, EOS = 1, 2


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
    greedy = greedy_decode(model, src, lengths, max_len=10)
    beam = beam_search(model, src, lengths, beam_width=1, max_len=10, length_penalty=0.0)
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
    beam = beam_search(model, src, lengths, beam_width=width, max_len=max_len, length_penalty=alpha, exact_stop=True)
    if alpha == 0.0:  # without a length penalty the default (heuristic) stop is exact too
        heuristic = beam_search(model, src, lengths, beam_width=width, max_len=max_len, length_penalty=alpha)
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
    src, lengths = source_batch([6, 3, 5, 4, 2])
    def aim(src: Tensor, src_lengths: Tensor) -> Tensor:
        return src_lengths.float() + 1.0  # each sentence ends at its own step: 7, 4, 6, 5, 3

    options = {"method": method, "beam_width": 4, "max_len": 12, "no_repeat_ngram": 2,
               "target_length": aim, "eos_penalty": 1e4, "eos_bonus": 1e4}
    batched = decode(model, src, lengths, **options)
    assert [len(tokens) for tokens in batched.tokens] == [7, 4, 6, 5, 3]
    for b, n in enumerate(lengths.tolist()):
        single = decode(model, src[b : b + 1, :n], lengths[b : b + 1], **options)
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
    short = beam_search(model, src, lengths, beam_width=6, max_len=12, length_penalty=0.0)
    long = beam_search(model, src, lengths, beam_width=6, max_len=12, length_penalty=2.0)
    assert all(len(a) >= len(b) for a, b in zip(long.tokens, short.tokens))


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_attention_of_the_chosen_output(method: str) -> None:
    model = peaked_model("attention", 12)
    src, lengths = source_batch([6, 3, 5])
    result = decode(model, src, lengths, method=method, max_len=10, beam_width=3)
    for tokens, attn, n in zip(result.tokens, result.attention, lengths.tolist()):
        assert attn.shape == (len(tokens), n)
        torch.testing.assert_close(attn.sum(-1), torch.ones(len(tokens)))


def test_beam_attention_is_the_attention_behind_each_chosen_token() -> None:
    """The back-pointer history must give each output the attention its own prefix produced, not a sibling's."""
    model = peaked_model("attention", 12).eval()
    src, lengths = source_batch([6, 3, 5, 4])
    result = beam_search(model, src, lengths, beam_width=4, max_len=9, length_penalty=1.0)
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
    src, lengths = source_batch([6, 3])

    def now(src: Tensor, src_lengths: Tensor) -> Tensor:
        return torch.zeros(src_lengths.size(0))  # every output's predicted length is 0: <eos> at once

    result = decode(model, src, lengths, method=method, beam_width=3, max_len=5,
                    target_length=now, eos_penalty=0.0, eos_bonus=1e4)
    assert result.tokens == [[], []]
    assert [tuple(attn.shape) for attn in result.attention] == [(0, 6), (0, 3)]


@pytest.mark.parametrize("name", ["rnn", "lstm"])
def test_models_without_attention_return_no_attention(name: str) -> None:
    src, lengths = source_batch([4, 2])
    assert beam_search(peaked_model(name, 12), src, lengths, beam_width=2, max_len=5).attention is None


@pytest.mark.parametrize("width", [1, 4])
def test_min_len_and_no_repeat_ngram_constraints(width: int) -> None:
    model = peaked_model("attention", 12)
    model.output.proj.bias.data[EOS] += 5.0  # eager to stop
    src, lengths = source_batch([6, 3, 5, 4])
    result = beam_search(model, src, lengths, beam_width=width, max_len=15, min_len=4, no_repeat_ngram=2)
    for tokens in result.tokens:
        assert len(tokens) >= 4
        bigrams = list(zip(tokens, tokens[1:]))
        assert len(bigrams) == len(set(bigrams))
    unigram = beam_search(model, src, lengths, beam_width=width, max_len=15, no_repeat_ngram=1)
    assert all(len(tokens) == len(set(tokens)) for tokens in unigram.tokens)


def test_greedy_obeys_the_same_constraints_as_a_beam_of_one() -> None:
    model = peaked_model("attention", 12)
    model.output.proj.bias.data[EOS] += 5.0  # eager to stop
    src, lengths = source_batch([6, 3, 5, 4])
    plain = greedy_decode(model, src, lengths, max_len=15)
    assert min(len(tokens) for tokens in plain.tokens) < 4  # the constraints below have work to do
    for options in ({"min_len": 4}, {"no_repeat_ngram": 2}, {"min_len": 4, "no_repeat_ngram": 1}):
        greedy = greedy_decode(model, src, lengths, max_len=15, **options)
        beam = beam_search(model, src, lengths, beam_width=1, max_len=15, length_penalty=0.0, **options)
        assert greedy.tokens == beam.tokens, options
        assert greedy.scores == pytest.approx(beam.scores, abs=1e-5)
    repeats = greedy_decode(model, src, lengths, max_len=15, no_repeat_ngram=2)
    for tokens in repeats.tokens:
        bigrams = list(zip(tokens, tokens[1:]))
        assert len(bigrams) == len(set(bigrams))


@pytest.mark.parametrize("width", [1, 3])
def test_can_end_holds_back_eos_like_the_constraint_it_encodes(width: int) -> None:
    model = peaked_model("attention", 12)
    model.output.proj.bias.data[EOS] += 5.0  # eager to stop
    src, lengths = source_batch([6, 3, 5, 4])
    calls: list[list[int]] = []

    def at_least_four(ids: list[int]) -> bool:
        calls.append(ids)
        return len(ids) >= 4

    options = {"max_len": 15, "length_penalty": 0.0, "no_repeat_ngram": 2}
    checked = beam_search(model, src, lengths, beam_width=width, can_end=at_least_four, **options)
    constrained = beam_search(model, src, lengths, beam_width=width, min_len=4, **options)
    assert checked.tokens == constrained.tokens and all(len(tokens) >= 4 for tokens in checked.tokens)
    assert checked.scores == pytest.approx(constrained.scores, abs=1e-5)
    steps = max(len(tokens) for tokens in checked.tokens) + 1
    assert 0 < len(calls) < 4 * width * steps  # only hypotheses that could end right then are checked
    assert all(EOS not in ids for ids in calls)
    if width == 1:
        greedy = greedy_decode(model, src, lengths, 15, no_repeat_ngram=2, can_end=at_least_four)
        assert greedy.tokens == checked.tokens


def test_decoding_restores_training_mode_and_rejects_unknown_methods() -> None:
    model = peaked_model("rnn", 12).train()
    src, lengths = source_batch([3])
    assert decode(model, src, lengths, max_len=5).tokens == greedy_decode(model, src, lengths, 5).tokens
    assert model.training
    with pytest.raises(UserError, match="greedy, beam"):
        decode(model, src, lengths, method="sample")


@pytest.mark.parametrize("name", ["rnn", "attention"])
def test_decode_dispatches_with_every_option(name: str) -> None:
    model = peaked_model(name, 12)
    src, lengths = source_batch([5, 3, 4])
    direct = beam_search(model, src, lengths, 3, 9, length_penalty=0.6, min_len=2, no_repeat_ngram=2)
    dispatched = decode(model, src, lengths, method="beam", max_len=9, beam_width=3, min_len=2, no_repeat_ngram=2)
    assert dispatched.tokens == direct.tokens
    assert all(len(tokens) >= 2 for tokens in dispatched.tokens)
    greedy = greedy_decode(model, src, lengths, 9, min_len=2, no_repeat_ngram=2)
    assert decode(model, src, lengths, method="greedy", max_len=9, min_len=2, no_repeat_ngram=2).tokens == greedy.tokens


@pytest.mark.parametrize("width", [1, 3])
def test_a_length_target_ends_each_output_at_its_own_length(width: int) -> None:
    model = peaked_model("attention", 12)
    src, lengths = source_batch([6, 3, 5, 4])
    targets = torch.tensor([2.0, 7.0, 4.0, 5.5])

    def aim(src: Tensor, src_lengths: Tensor) -> Tensor:
        return targets

    options = {"max_len": 15, "length_penalty": 0.0, "eos_penalty": 1e4, "eos_bonus": 1e4}
    aimed = beam_search(model, src, lengths, beam_width=width, target_length=aim, **options)
    assert [len(tokens) for tokens in aimed.tokens] == [2, 7, 4, 6]  # <eos> is the first choice from step ceil(target)
    uniform = beam_search(model, src, lengths, beam_width=width, **options)
    assert all(len(tokens) == 15 for tokens in uniform.tokens)  # without targets, the penalty holds <eos> back throughout
    if width == 1:
        assert greedy_decode(model, src, lengths, 15, eos_penalty=1e4, eos_bonus=1e4, target_length=aim).tokens == aimed.tokens
    neutral = beam_search(model, src, lengths, beam_width=width, max_len=15, target_length=aim)
    assert neutral.tokens == beam_search(model, src, lengths, beam_width=width, max_len=15).tokens


@pytest.mark.parametrize("width", [1, 3])
def test_an_output_that_never_may_end_falls_back_to_a_refused_end(width: int) -> None:
    model = peaked_model("attention", 12)
    src, lengths = source_batch([6, 3, 5, 4])
    options = {"max_len": 15, "length_penalty": 0.0, "no_repeat_ngram": 2}
    plain = beam_search(model, src, lengths, beam_width=width, **options)
    assert all(len(tokens) < 15 for tokens in plain.tokens)
    never = beam_search(model, src, lengths, beam_width=width, can_end=lambda ids: False, **options)
    assert all(len(tokens) < 15 for tokens in never.tokens)  # not the hypotheses still alive at max_len
    assert [attn.size(0) for attn in never.attention] == [len(tokens) for tokens in never.tokens]
    if width == 1:  # greedy's best refused end is its first, exactly where it would have ended
        assert never.tokens == plain.tokens and never.scores == pytest.approx(plain.scores, abs=1e-5)
        greedy = greedy_decode(model, src, lengths, 15, no_repeat_ngram=2, can_end=lambda ids: False)
        assert greedy.tokens == plain.tokens and greedy.scores == pytest.approx(plain.scores, abs=1e-5)
        assert [attn.size(0) for attn in greedy.attention] == [len(tokens) for tokens in greedy.tokens]
