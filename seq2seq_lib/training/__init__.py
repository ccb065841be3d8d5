"""The one training loop the three models share, its losses and its checkpoints."""
