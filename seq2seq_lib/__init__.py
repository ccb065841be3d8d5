"""Neural code generation from docstrings: corpus, tokenizers, three seq2seq models, training,
decoding, evaluation and visualisation, shared by the course notebooks and the command line."""

__version__ = "0.1.0"
