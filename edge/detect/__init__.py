"""Face detection: MediaPipe full-range on overlapping tiles, and privacy masks."""
