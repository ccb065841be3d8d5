"""The lab: ablations, the benchmark against tutorial-style reference models, seed sweeps.

Nothing in the core imports it, except the command line adding the lab's commands (`lab/commands.py`)."""
