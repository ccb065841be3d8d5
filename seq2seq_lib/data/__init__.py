"""Notebook 01: from Python packages to docstring-code pairs, tokens, vocabularies and batches."""
