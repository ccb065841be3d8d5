"""LSTM encoder-decoder: the encoder's final (h, c) is the fixed context of the decoder."""

from __future__ import annotations

from .rnn import RecurrentSeq2Seq


class LSTMSeq2Seq(RecurrentSeq2Seq):
    """LSTM encoder and decoder; everything else is shared with the vanilla RNN model."""

    cell_type = "lstm"
