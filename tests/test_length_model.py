"""The docstring-to-length regression: fitted features match predicted ones, and it learns what it can."""

import numpy as np
import pytest
import torch

from seq2seq_lib.decoding.length_model import LengthModel

VOCAB = 12
EOS, PAD = 2, 0


def sources(seed: int, n: int) -> tuple[list[list[int]], list[int]]:
    """Random sources ending in <eos>; sources containing id 5 have 40-piece targets, the others 10."""
    rng = np.random.default_rng(seed)
    ids = [[*rng.integers(4, VOCAB, size=rng.integers(2, 7)).tolist(), EOS] for _ in range(n)]
    return ids, [40 if 5 in s else 10 for s in ids]


def padded(ids: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad a list of id lists into (B, S) and their lengths (B,)."""
    batch = torch.full((len(ids), max(map(len, ids))), PAD)
    for row, s in enumerate(ids):
        batch[row, : len(s)] = torch.tensor(s)
    return batch, torch.tensor([len(s) for s in ids])


def test_it_learns_which_words_mean_long_code_and_ignores_padding():
    train, lengths = sources(0, 400)
    model = LengthModel.fit(train, lengths, VOCAB)
    test, truth = sources(1, 50)
    predicted = model.predict(*padded(test))
    long, short = predicted[torch.tensor(truth) == 40], predicted[torch.tensor(truth) == 10]
    assert long.min() > short.max() and 25 < long.mean() < 55 and 6 < short.mean() < 16
    one = model.predict(*padded([test[0]]))
    assert one.item() == pytest.approx(model.predict(*padded(test))[0].item(), rel=1e-5)  # padding changes nothing


def test_predict_uses_the_features_the_regression_was_fitted_on():
    from sklearn.linear_model import Ridge

    from seq2seq_lib.decoding import length_model

    train, lengths = sources(2, 200)
    model = LengthModel.fit(train, lengths, VOCAB)
    counts = length_model._count_matrix(train, VOCAB)
    features = length_model.sparse.hstack(
        [length_model._tfidf(counts, model.idf.double().numpy()), length_model._length_features(counts)]
    )
    expected = np.exp(Ridge(alpha=length_model.RIDGE_ALPHA).fit(features, np.log(lengths)).predict(features))
    assert model.predict(*padded(train)).numpy() == pytest.approx(expected, rel=1e-4)


def test_round_trip_and_bad_input():
    train, lengths = sources(3, 50)
    model = LengthModel.fit(train, lengths, VOCAB)
    again = LengthModel.from_dict(model.to_dict())
    batch = padded(train[:5])
    assert torch.equal(again.predict(*batch), model.predict(*batch))
    with pytest.raises(ValueError, match="as many target lengths"):
        LengthModel.fit(train, lengths[:-1], VOCAB)
