"""Model evaluation and latency measurement (numpy + the TFLite runtime, no TensorFlow)."""
