"""Notebook 05: scoring generated code (chrF, BLEU, docstring gain, compiling) against baselines."""
