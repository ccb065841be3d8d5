"""Encoding records, Batch padding and masks, the bucketing sampler and padding fractions."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest
import torch

from seq2seq_lib.lab.bench import padding_fraction, random_loader
from seq2seq_lib.data.batching import (
    BucketBatchSampler,
    EncodedDataset,
    collate,
    encode_records,
    make_loader,
)
from seq2seq_lib.errors import UserError
from seq2seq_lib.models.base import src_padding_mask
from seq2seq_lib.data.preprocess import Preprocessor
from seq2seq_lib.data.vocab import EOS_ID, PAD_ID, SOS_ID


def records(n: int, seed: int = 0) -> list[dict]:
    """Records of varied length: doc 'compute x y ...', code summing k names."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        names = [f"v{rng.randint(0, 9)}" for _ in range(rng.randint(1, 30))]
        out.append(
            {
                "func_documentation_string": "Compute " + " ".join(names[: rng.randint(len(names) // 2, len(names))]),
                "func_code_string": f"def f({', '.join(names)}):\n    return {' + '.join(names)}\n",
            }
        )
    return out


@pytest.fixture(scope="module")
def pre() -> Preprocessor:
    return Preprocessor.fit(records(200), src_vocab_size=100, tgt_vocab_size=200)


def test_encode_records_leaves_out_pairs_over_the_limits(pre: Preprocessor) -> None:
    recs = records(50, seed=1)
    full, counts = encode_records(recs, pre)
    assert counts == {"kept": 50, "dropped": 0} and full.indices == list(range(50))
    assert all(src[-1] == EOS_ID and tgt[-1] == EOS_ID for src, tgt in full.pairs)
    dropped, counts = encode_records(recs, pre, max_src_len=8, max_tgt_len=40)
    assert counts["dropped"] > 0 and counts["kept"] == len(dropped) == 50 - counts["dropped"]
    assert all(len(s) <= 8 and len(t) <= 40 for s, t in dropped.pairs)
    assert [full.pairs[i] for i in dropped.indices] == dropped.pairs  # the pairs kept are unchanged
    with pytest.raises(UserError):
        encode_records(recs, pre, max_src_len=1)


def test_collate_shapes_masks_and_padding() -> None:
    batch = collate([([5, 6, EOS_ID], [7, EOS_ID], 0), ([5, EOS_ID], [7, 8, 9, EOS_ID], 3)])
    assert batch.src.tolist() == [[5, 6, EOS_ID], [5, EOS_ID, PAD_ID]]
    assert batch.src_lengths.tolist() == [3, 2] and batch.src_lengths.device.type == "cpu"
    assert batch.tgt_in.tolist() == [[SOS_ID, 7, PAD_ID, PAD_ID], [SOS_ID, 7, 8, 9]]
    assert batch.tgt_out.tolist() == [[7, EOS_ID, PAD_ID, PAD_ID], [7, 8, 9, EOS_ID]]
    assert src_padding_mask(batch.src_lengths, batch.src.size(1), batch.src.device).tolist() == [[True, True, True], [True, True, False]]
    assert batch.indices.tolist() == [0, 3] and int((batch.tgt_out != PAD_ID).sum()) == 6 and len(batch) == 2
    assert all(t.dtype == torch.long for t in (batch.src, batch.src_lengths, batch.tgt_in, batch.tgt_out))
    moved = batch.to("cpu")
    assert torch.equal(moved.tgt_out, batch.tgt_out) and moved.src_lengths.device.type == "cpu"


def test_sampler_covers_every_example_once_and_is_deterministic() -> None:
    lengths = [(random.Random(i).randint(1, 50), random.Random(-i).randint(1, 90)) for i in range(1003)]
    sampler = BucketBatchSampler(lengths, batch_size=16, seed=7, bucket_size_multiplier=5)
    epoch0 = list(sampler)
    assert len(epoch0) == len(sampler) == 63
    assert Counter(i for b in epoch0 for i in b) == Counter(range(1003))
    assert list(BucketBatchSampler(lengths, 16, seed=7, bucket_size_multiplier=5)) == epoch0
    sampler.set_epoch(1)
    epoch1 = list(sampler)
    assert epoch1 != epoch0 and sorted(map(sorted, epoch1)) != sorted(map(sorted, epoch0))
    sampler.set_epoch(0)
    assert list(sampler) == epoch0
    dropped = BucketBatchSampler(lengths, 16, seed=7, drop_last=True)
    assert len(list(dropped)) == len(dropped) == 62
    for group in (1, 4):  # without shuffling, runs of `group` batches follow each other in target length
        ordered = list(BucketBatchSampler(lengths, 16, shuffle=False, group_batches=group))
        assert ordered == list(BucketBatchSampler(lengths, 16, shuffle=False, group_batches=group))
        runs = [[lengths[i][1] for b in ordered[g : g + group] for i in b] for g in range(0, len(ordered), group)]
        assert all(max(a) <= min(b) for a, b in itertools.pairwise(runs))


def test_loader_batches_and_bucketing_reduces_padding(pre: Preprocessor) -> None:
    dataset, _ = encode_records(records(600, seed=2), pre)
    batches = list(make_loader(dataset, batch_size=16, shuffle=True, seed=0))
    assert sum(len(b) for b in batches) == 600
    assert sorted(i for b in batches for i in b.indices.tolist()) == list(range(600))
    bucketed = padding_fraction(batches)
    shuffled = padding_fraction(random_loader(dataset, batch_size=16, seed=0))
    assert bucketed < 0.10 < shuffled
    assert padding_fraction([]) == 0.0


def test_dataset_items() -> None:
    dataset = EncodedDataset([([4, EOS_ID], [5, EOS_ID])], [17])
    assert dataset[0] == ([4, EOS_ID], [5, EOS_ID], 0) and dataset.indices == [17] and dataset.lengths() == [(2, 2)]
