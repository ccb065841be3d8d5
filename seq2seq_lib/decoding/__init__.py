"""Turning a trained model into code: greedy and beam search, the length target and the syntax guard."""
