"""Training pipeline for the expression model (needs the `[train]` extra: TensorFlow)."""
