"""The Learning Satisfaction Index: per-face score, class windows, teaching segments, alerts."""
