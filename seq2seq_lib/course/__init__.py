"""What the notebooks show: figures, attention views, the interactive demo and the notebook runner."""
