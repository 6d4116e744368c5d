"""Files: atomic writes, models and checkpoints on disk, and the layout of a run directory."""
