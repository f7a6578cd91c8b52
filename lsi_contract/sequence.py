"""The per-device sequence: every stored message (window, segment summary, alert) of a box carries
the next number of one sequence, within its store's epoch (a random id made with the box's
database). A receiver finds what it lacks as ranges, and asks the box to replay them."""

from __future__ import annotations

EPOCH_PATTERN = r"^[0-9a-f]{8,32}$"
REPLAY_MAX = 5000  # messages one replay command may ask for
REPLAY_INTERVAL_SECONDS = 2.0  # a box answers at most one replay per this interval; the rest: rate limited


def missing_ranges(present: list[int], first: int, last: int) -> list[tuple[int, int]]:
    """The ranges of first..last (inclusive) that the sorted numbers in present do not cover."""
    ranges, expected = [], first
    for seq in present:
        if seq > expected:
            ranges.append((expected, min(seq - 1, last)))
        expected = max(expected, seq + 1)
        if expected > last:
            break
    if expected <= last:
        ranges.append((expected, last))
    return ranges
