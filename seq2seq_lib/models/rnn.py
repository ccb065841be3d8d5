"""Recurrent encoder-decoder without attention: the encoder's final state is the fixed context."""

from __future__ import annotations

from torch import Tensor, nn

from .base import DecoderState, EncoderOutput, ForwardOutput, Seq2Seq, OutputLayer, run_packed, src_padding_mask

_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM}


class RecurrentSeq2Seq(Seq2Seq):
    """Encoder and decoder of the same cell type (`cell_type`), the final encoder state initialises the decoder."""

    cell_type = "rnn"

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, emb_dim: int = 128, hidden_dim: int = 128,
                 num_layers: int = 1, dropout: float = 0.0, tie_embeddings: bool = False) -> None:
        super().__init__(src_vocab_size, tgt_vocab_size, emb_dim, dropout)
        cell = _CELLS[self.cell_type]
        between_layers = dropout if num_layers > 1 else 0.0  # nn.RNN only drops out between stacked layers
        self.encoder = cell(emb_dim, hidden_dim, num_layers, batch_first=True, dropout=between_layers)
        self.decoder = cell(emb_dim, hidden_dim, num_layers, batch_first=True, dropout=between_layers)
        self.output = OutputLayer(hidden_dim, self.tgt_embed, tie_embeddings)

    def encode(self, src: Tensor, src_lengths: Tensor) -> EncoderOutput:
        """Final (layers, B, H) encoder state of src (B, S), read through packing so padding is ignored."""
        embedded = self.dropout(self.src_embed(src))  # (B, S, E)
        _, hx = run_packed(self.encoder, embedded, src_lengths, with_outputs=False)  # hx: (L, B, H) [, (L, B, H)]
        return EncoderOutput(DecoderState.from_rnn(hx), src_padding_mask(src_lengths, src.size(1), src.device))

    def decode_step(
        self, prev_tokens: Tensor, state: DecoderState, enc: EncoderOutput
    ) -> tuple[Tensor, DecoderState, None]:
        """One step from prev_tokens (B,): logits (B, V), new state, no attention."""
        embedded = self.dropout(self.tgt_embed(prev_tokens)).unsqueeze(1)  # (B, 1, E)
        output, hx = self.decoder(embedded, state.as_rnn())  # output: (B, 1, H)
        logits = self.output(self.dropout(output.squeeze(1)))  # (B, V)
        return logits, DecoderState.from_rnn(hx), None

    def teacher_forced_features(self, enc: EncoderOutput, tgt_in: Tensor) -> ForwardOutput:
        """All T steps in one fused recurrent call; features (B, T, D) for one output projection."""
        embedded = self.dropout(self.tgt_embed(tgt_in))  # (B, T, E)
        outputs, _ = self.decoder(embedded, enc.state.as_rnn())  # (B, T, H)
        return ForwardOutput(self.output.features(self.dropout(outputs)), None)


class RNNSeq2Seq(RecurrentSeq2Seq):
    """Vanilla (tanh) RNN encoder and decoder."""

    cell_type = "rnn"
