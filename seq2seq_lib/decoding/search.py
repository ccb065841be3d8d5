"""Batched greedy decoding and beam search, one implementation for every Seq2Seq model.

Both searches take the same frozen options (`DecodingConfig`: the config's `decoding` section) and, for the
length target and the syntax guard, the model's preprocessor (its length model and target vocabulary).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from ..config import DecodingConfig
from ..data.batching import encode_records, make_loader
from ..data.vocab import EOS_ID, SOS_ID
from ..errors import UserError
from ..models.base import Seq2Seq
from ..progress import tqdm
from .syntax_guard import SyntaxGuard

if TYPE_CHECKING:
    from ..data.preprocess import Preprocessor

DECODE_METHODS = ("greedy", "beam")


@dataclass
class DecodeResult:
    """Best output per source sentence, in batch order."""

    tokens: list[list[int]]  # generated ids without <sos> / <eos>
    scores: list[float]  # sum of log-probs (with <eos> when generated), divided by the length penalty for beam
    attention: list[Tensor] | None  # attention models: (len(tokens), src_len) per sentence, rows sum to 1


@contextmanager
def _inference(model: Seq2Seq) -> Iterator[None]:
    """Eval mode (no dropout) and no autograd for the block; the model's previous mode is restored."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            yield
    finally:
        model.train(was_training)


def gnmt_length_penalty(length: int, alpha: float) -> float:
    """GNMT length penalty ((5 + length) / 6) ** alpha; alpha = 0 ranks by raw log-probability."""
    return ((5 + length) / 6) ** alpha


def _hooks(
    options: DecodingConfig, preprocessor: Preprocessor | None, src: Tensor, src_lengths: Tensor
) -> tuple[Tensor | None, SyntaxGuard | None]:
    """The length each sentence is aimed at (B,) and the syntax guard, as the options ask and the preprocessor has."""
    targets = guard = None
    if preprocessor is not None and options.length_target and preprocessor.length_model is not None:
        targets = options.target_scale * preprocessor.length_model.predict(src, src_lengths)  # (B,)
    if preprocessor is not None and options.syntax_guard:
        guard = preprocessor.syntax_guard
    return targets, guard


def greedy_decode(
    model: Seq2Seq, src: Tensor, src_lengths: Tensor, options: DecodingConfig, preprocessor: Preprocessor | None = None,
) -> DecodeResult:
    """Pick the most likely allowed token at every step for the whole batch src (B, S), until all emit <eos>.

    The <eos> penalty, length target, n-gram blocking and syntax guard shape the choice exactly as in beam_search.
    """
    with _inference(model):
        batch, device = src.size(0), src.device
        enc = model.encode(src, src_lengths)
        targets, guard = _hooks(options, preprocessor, src, src_lengths)  # (A,) | None
        state = enc.state
        active = torch.arange(batch, device=device)  # (A,) the sentences still decoding, by batch index
        tokens = torch.full((batch,), SOS_ID, dtype=torch.long, device=device)  # (A,)
        finished = torch.zeros(batch, dtype=torch.bool, device=device)  # (B,)
        scores = torch.zeros(batch, device=device)  # (B,)
        generated = torch.full((batch, options.max_len), EOS_ID, dtype=torch.long, device=device)  # (B, max_len)
        guarded = guard.start(batch) if guard is not None else None
        attns = []  # per step (B, S), zero for sentences that ended
        for t in range(options.max_len):
            logits, state, attn = model.decode_step(tokens, state, enc)  # (A, V), (A, S) | None
            log_probs = torch.log_softmax(logits, dim=-1)  # (A, V)
            seqs = generated[:, :t].index_select(0, active)  # (A, t)
            _constrain(log_probs, seqs, options, targets, guard, guarded)
            best, tokens = row_max(log_probs)  # (A,), (A,)
            scores[active] += best
            generated[active, t] = tokens  # the rows that ended keep <eos>
            if attn is not None:
                attns.append(attn.new_zeros(batch, attn.size(1)).index_copy_(0, active, attn))  # (B, S)
            ended = tokens == EOS_ID  # (A,)
            finished[active[ended]] = True
            if finished.all():
                break
            # Sentences that ended leave the batch: the next steps compute only the others.
            going = (~ended).nonzero().flatten()  # (A',) positions in the active sentences
            if guarded is not None:
                guarded = guard.advance(guarded, going.tolist(), tokens[going].tolist())
            if going.numel() < active.numel():
                active, tokens = active[going], tokens[going]
                state, enc = state.index_select(going), enc.index_select(going)
                targets = None if targets is None else targets[going]
        outputs = [_until_eos(row) for row in generated.tolist()]  # B lists of <= T ids
        attention = None
        if model.has_attention:
            stacked = torch.stack(attns, dim=1)  # (B, T, S)
            lengths = src_lengths.tolist()
            attention = [stacked[b, : len(out), : lengths[b]].clone() for b, out in enumerate(outputs)]
        return DecodeResult(outputs, scores.tolist(), attention)


def beam_search(
    model: Seq2Seq, src: Tensor, src_lengths: Tensor, options: DecodingConfig, preprocessor: Preprocessor | None = None,
    exact_stop: bool = False,
) -> DecodeResult:
    """Beam search over the batch src (B, S) with B * options.beam_width hypotheses in flight.

    A hypothesis is scored by its log-probability / gnmt_length_penalty(steps, length_penalty), where steps
    counts <eos>. Each sentence keeps its best finished hypothesis and stops once it beats every alive one
    scored at the current length (the usual heuristic; exact when length_penalty is 0). With `exact_stop`
    it waits until no alive hypothesis could win even under the largest penalty (slow: almost always max_len
    steps; the tests use it to compare with exhaustive search). Hypotheses alive at max_len compete as they are.
    At every step `eos_penalty` is subtracted from log p(<eos>) (with the length target, only before the length
    predicted for the sentence), `no_repeat_ngram` = n > 0 forbids repeating any n-gram within a hypothesis, and
    the syntax guard forbids the pieces that would certainly break the code's block structure.
    """
    with _inference(model):
        batch, k, device = src.size(0), options.beam_width, src.device
        max_len, length_penalty = options.max_len, options.length_penalty
        enc = model.encode(src, src_lengths).index_select(torch.arange(batch, device=device).repeat_interleave(k))
        targets, guard = _hooks(options, preprocessor, src, src_lengths)
        targets = None if targets is None else targets.repeat_interleave(k)  # (A*K,)
        state = enc.state  # A*K entries, active sentence a at rows a*K .. a*K+K-1
        active = torch.arange(batch, device=device)  # (A,) the sentences still searched, by batch index
        alive_scores = torch.full((batch, k), float("-inf"), device=device)  # (A, K)
        alive_scores[:, 0] = 0.0  # one live hypothesis <sos> per sentence to start with
        alive_seqs = torch.empty(batch * k, 0, dtype=torch.long, device=device)  # (A*K, t)
        history = _AttentionHistory(src.size(1), device) if model.has_attention else None  # the alive hypotheses' attention
        tokens = torch.full((batch * k,), SOS_ID, dtype=torch.long, device=device)  # (A*K,)
        best = _BestHypotheses(src_lengths.tolist(), device)
        done = torch.zeros(batch, dtype=torch.bool, device=device)  # (B,)
        guarded = guard.start(batch * k) if guard is not None else None
        largest_penalty = max(gnmt_length_penalty(max_len, length_penalty), gnmt_length_penalty(1, length_penalty))
        for t in range(1, max_len + 1):
            offsets = torch.arange(active.numel(), device=device).unsqueeze(1) * k  # (A, 1)
            logits, state, attn = model.decode_step(tokens, state, enc)  # (A*K, V), (A*K, S) | None
            log_probs = torch.log_softmax(logits, dim=-1)  # (A*K, V)
            _constrain(log_probs, alive_seqs, options, targets, guard, guarded)
            vocab = log_probs.size(1)
            candidates = (alive_scores.view(-1, 1) + log_probs).view(-1, k * vocab)  # (A, K*V)
            top_scores, top_ids = candidates.topk(min(2 * k, k * vocab), dim=1)  # (A, 2K): >= K are not <eos>
            top_parents = top_ids // vocab + offsets  # (A, 2K) row of the extended hypothesis
            top_tokens = top_ids % vocab  # (A, 2K)
            is_eos = top_tokens == EOS_ID  # (A, 2K)

            # Only an <eos> within the top K ends a hypothesis (so beam_width 1 is exactly greedy).
            ended = top_scores[:, :k].masked_fill(~is_eos[:, :k], float("-inf"))  # (A, K)
            ended_best, ended_pos = (ended / gnmt_length_penalty(t, length_penalty)).max(dim=1)  # (A,)
            parents = top_parents.gather(1, ended_pos.unsqueeze(1)).squeeze(1)  # (A,)
            best.update(ended_best, parents, active, alive_seqs)

            keep = torch.sort(is_eos.long(), dim=1, stable=True).indices[:, :k]  # (A, K) best K not ending
            alive_scores = top_scores.gather(1, keep)  # (A, K)
            parents = top_parents.gather(1, keep).view(-1)  # (A*K,)
            tokens = top_tokens.gather(1, keep).view(-1)  # (A*K,)

            # Log-probs only fall: under the largest penalty no alive hypothesis can still win (exact stop).
            penalty = largest_penalty if exact_stop else gnmt_length_penalty(t, length_penalty)
            done[active] = best.scores[active] >= alive_scores.max(dim=1).values / penalty
            if done.all():
                break
            # Sentences that are done leave the batch: the next steps compute only the others' rows.
            searching = (~done[active]).nonzero().flatten()  # (A',) positions in the active sentences
            if searching.numel() < active.numel():
                active, alive_scores = active[searching], alive_scores[searching]
                kept_rows = (searching.unsqueeze(1) * k + torch.arange(k, device=device)).flatten()  # (A'*K,)
                parents, tokens = parents[kept_rows], tokens[kept_rows]
                enc = enc.index_select(kept_rows)
                targets = None if targets is None else targets[kept_rows]
            if guarded is not None:
                guarded = guard.advance(guarded, parents.tolist(), tokens.tolist())
            alive_seqs = torch.cat([alive_seqs.index_select(0, parents), tokens.unsqueeze(1)], dim=1)  # (A*K, t)
            if history is not None:
                history.append(attn, parents)
            state = state.index_select(parents)
        if not done.all():  # max_len reached: the hypotheses still alive compete as they are
            final = alive_scores / gnmt_length_penalty(alive_seqs.size(1), length_penalty)  # (A, K)
            final_best, final_pos = final.max(dim=1)  # (A,)
            offsets = torch.arange(active.numel(), device=device) * k  # (A,)
            best.update(final_best, final_pos + offsets, active, alive_seqs)
        return best.result(history)


def decode(
    model: Seq2Seq, src: Tensor, src_lengths: Tensor, options: DecodingConfig, preprocessor: Preprocessor | None = None,
) -> DecodeResult:
    """Decode src (B, S) with the search `options.method` names ("greedy" or "beam")."""
    if options.method == "greedy":
        return greedy_decode(model, src, src_lengths, options, preprocessor)
    if options.method == "beam":
        return beam_search(model, src, src_lengths, options, preprocessor)
    raise UserError(f"unknown decoding method {options.method!r}: choose one of {', '.join(DECODE_METHODS)}")


def decode_records(
    model: Seq2Seq, records: Sequence[Mapping[str, Any]], options: DecodingConfig, preprocessor: Preprocessor,
    device: torch.device, batch_size: int = 64, desc: str | None = None,
) -> list[tuple[list[int], Tensor | None]]:
    """Decode every record's docstring in length-bucketed batches: per record, in order, the output ids and (attention
    models) the (T, S) attention. Every record counts, also those longer than the training limits."""
    dataset, _ = encode_records(records, preprocessor)
    decoded: list[tuple[list[int], Tensor | None]] = [([], None)] * len(records)
    for batch in tqdm(make_loader(dataset, batch_size, shuffle=False, seed=0), desc=desc, leave=False, disable=desc is None):
        result = decode(model, batch.src.to(device), batch.src_lengths, options, preprocessor)
        attention = result.attention or [None] * len(result.tokens)
        for position, tokens, attn in zip(batch.indices.tolist(), result.tokens, attention):
            decoded[dataset.indices[position]] = (tokens, attn)
    return decoded


class _AttentionHistory:
    """The attention behind every alive beam hypothesis, kept as one row per step and back-pointers.

    Copying each hypothesis's whole attention past at every step costs O(T^2) memory traffic per sentence;
    a finished hypothesis is named by (length, row) instead and traced back once, when the search ends.
    """

    def __init__(self, src_len: int, device: torch.device) -> None:
        self.src_len, self.device = src_len, device
        self.attn: list[Tensor] = []  # step j: (A_j*K, S) attention of the rows alive before step j
        self.parents: list[Tensor] = []  # step j: (A_{j+1}*K,) the row of step j's attention behind each new row

    def append(self, attn: Tensor, parents: Tensor) -> None:
        """Record one step: the decoder's attention per row, and which row each new hypothesis extends."""
        self.attn.append(attn)
        self.parents.append(parents)

    def trace(self, ends: list[tuple[int, int]]) -> list[Tensor]:
        """The attention (length, S) of each hypothesis named by (length, row among the rows of that length)."""
        lengths = torch.tensor([length for length, _ in ends], dtype=torch.long, device=self.device)  # (N,)
        rows = torch.tensor([row for _, row in ends], dtype=torch.long, device=self.device)  # (N,) walking back
        traced = torch.zeros(len(ends), int(lengths.max()), self.src_len, device=self.device)  # (N, T, S)
        for j in range(traced.size(1) - 1, -1, -1):
            live = (lengths > j).nonzero().flatten()  # hypotheses that have a step j
            parents = self.parents[j][rows[live]]  # (n,) their rows in step j's attention
            traced[live, j] = self.attn[j][parents]
            rows[live] = parents
        return [traced[i, :length] for i, (length, _) in enumerate(ends)]


class _BestHypotheses:
    """The best finished hypothesis of every sentence in a search, and where its attention history ends."""

    def __init__(self, src_lengths: list[int], device: torch.device) -> None:
        self.scores = torch.full((len(src_lengths),), float("-inf"), device=device)  # (B,)
        self.tokens: list[list[int]] = [[] for _ in src_lengths]
        self.ends: list[tuple[int, int]] = [(0, 0) for _ in src_lengths]  # (length, row) for the attention history
        self.src_lengths = src_lengths

    def update(self, scores: Tensor, rows: Tensor, sentences: Tensor, seqs: Tensor) -> None:
        """Keep hypothesis seqs[rows[a]] for sentence sentences[a] where scores[a] (A,) beats that sentence's best."""
        improved = scores > self.scores[sentences]  # (A,)
        for a in improved.nonzero().flatten().tolist():
            b, row = int(sentences[a]), int(rows[a])
            self.tokens[b] = seqs[row].tolist()
            self.ends[b] = (seqs.size(1), row)
        self.scores[sentences] = torch.where(improved, scores, self.scores[sentences])

    def result(self, history: _AttentionHistory | None) -> DecodeResult:
        """The collected best hypotheses as a DecodeResult (with their attention when there is a history)."""
        if history is None:
            return DecodeResult(self.tokens, self.scores.tolist(), None)
        traced = history.trace(self.ends)
        attention = [attn[:, :n] for attn, n in zip(traced, self.src_lengths)]  # (T_b, S_b) each
        return DecodeResult(self.tokens, self.scores.tolist(), attention)


def _constrain(
    log_probs: Tensor, seqs: Tensor, options: DecodingConfig, targets: Tensor | None, guard: SyntaxGuard | None,
    guarded: object,
) -> None:
    """Apply the <eos> penalty, n-gram blocking and syntax guard to log_probs (N, V) of the hypotheses seqs (N, t)."""
    if targets is None:
        log_probs[:, EOS_ID] -= options.eos_penalty
    else:
        log_probs[:, EOS_ID] -= options.eos_penalty * (seqs.size(1) < targets)  # only rows short of their length
    if options.no_repeat_ngram > 0:
        _ban_repeated_ngrams(log_probs, seqs, options.no_repeat_ngram)
    if guard is not None:
        guard.forbid(log_probs, guarded)


def _ban_repeated_ngrams(log_probs: Tensor, seqs: Tensor, n: int) -> None:
    """Set to -inf (in place) every token of log_probs (N, V) that would repeat an n-gram of seqs (N, t)."""
    length = seqs.size(1)
    if length < n:
        return
    starts = length - n + 1  # n-grams so far
    prefix = seqs[:, starts:]  # (N, n-1) the last n-1 tokens
    # match[:, s]: the n-gram starting at s begins with the prefix; built one offset at a time, which runs
    # several times faster on a CPU than .all() over a short last dimension
    match = torch.ones(seqs.size(0), starts, dtype=torch.bool, device=seqs.device)  # (N, starts)
    for j in range(n - 1):
        match &= seqs[:, j : j + starts] == prefix[:, j : j + 1]
    rows, cols = match.nonzero(as_tuple=True)
    log_probs[rows, seqs[rows, cols + n - 1]] = float("-inf")


def row_max(x: Tensor, block: int = 32) -> tuple[Tensor, Tensor]:
    """x.max(dim=1) of x (N, V): the same values and (first) indices, from the maxima of blocks of columns and then
    the best block's columns: torch's max with indices runs several times slower on a CPU than amax."""
    n, v = x.shape
    if v % block:
        x = torch.nn.functional.pad(x, (0, block - v % block), value=float("-inf"))
    blocks = x.view(n, -1, block)  # (N, V/block, block)
    block_max = blocks.amax(dim=2)  # (N, V/block)
    which = block_max.argmax(dim=1)  # (N,) the first block that holds the row's maximum
    within = blocks[torch.arange(n, device=x.device), which].argmax(dim=1)  # (N,)
    return block_max.gather(1, which.unsqueeze(1)).squeeze(1), which * block + within


def _until_eos(ids: list[int]) -> list[int]:
    """The ids before the first <eos> (all of them when there is none)."""
    return ids[: ids.index(EOS_ID)] if EOS_ID in ids else ids
