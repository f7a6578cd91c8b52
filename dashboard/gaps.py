"""Gaps found and filled: what is missing from each approved device's stored sequence (one per
device and store epoch, across windows, segment summaries and alerts) is asked of the box with a
`replay` command; what the box no longer has is kept as the room's holes, shown on the health page.

Gaps are found in what is *stored* (so several ingest workers can share the feed), and a gap is
asked for only once two checks in a row saw it (messages still on their way are not gaps)."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import text

from dashboard.models import APPROVED, Room
from lsi_contract.sequence import REPLAY_MAX

log = logging.getLogger("lsi_dashboard.gaps")
ASKS_PER_CHECK = 10  # replays asked per check at most (the boxes answer one per 2 s each)
ASKS_PER_GAP = 3  # a gap still open after this many replays (refused messages, say) is a hole

# Every stored number of a device with the number before it, per epoch; a step of more than one is
# a gap, and a first number above 1 a gap at the start (e.g. what a box sent before approval).
_GAPS = text("""
    SELECT epoch, previous, seq FROM (
        SELECT epoch, seq, LAG(seq, 1, 0) OVER (PARTITION BY epoch ORDER BY seq) AS previous FROM (
            SELECT epoch, seq FROM windows WHERE device_id = :device AND epoch <> ''
            UNION SELECT epoch, seq FROM segments WHERE device_id = :device AND epoch IS NOT NULL AND seq IS NOT NULL
            UNION SELECT epoch, seq FROM alerts WHERE device_id = :device AND epoch IS NOT NULL AND seq IS NOT NULL
        ) AS stored
    ) AS steps WHERE seq > previous + 1
""")


def subtract(gap: tuple[int, int], holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of gap (inclusive) not covered by holes."""
    parts = [gap]
    for low, high in holes:
        parts = [piece for first, last in parts
                 for piece in ((first, min(last, low - 1)), (max(first, high + 1), last)) if piece[0] <= piece[1]]
    return parts


def find_gaps(db, room: Room) -> list[tuple[str, int, int]]:
    """(epoch, first, last) ranges missing from what is stored of room's box, less its known holes."""
    holes = [(first, last, epoch) for epoch, first, last in room.holes or []]
    gaps = []
    for epoch, previous, seq in db.execute(_GAPS, {"device": room.device_id}):
        known = [(first, last) for first, last, hole_epoch in holes if hole_epoch == epoch]
        gaps += [(epoch, first, last) for first, last in subtract((previous + 1, seq - 1), known)]
    return gaps


class GapFiller:
    def __init__(self, sessions, ingest, interval: float, command_timeout: float):
        self.sessions, self.ingest, self.interval, self.timeout = sessions, ingest, interval, command_timeout
        self.asked = 0  # replays asked
        self._asks: dict[tuple, int] = {}  # gap → replays asked for it
        self._thread = threading.Thread(target=self._run, name="gap-filler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        previous: set = set()
        while not self.ingest.stopped.wait(self.interval):
            try:
                previous = self.check(previous)
            except Exception:  # a database hiccup: try again at the next check
                log.exception("looking for gaps failed; trying again in %g s", self.interval)

    def check(self, previous: set) -> set:
        """Asks for the gaps seen now and at the previous check; returns the gaps seen now."""
        with self.sessions() as db:
            rooms = list(db.query(Room).filter(Room.approval == APPROVED))
            current = {(room.device_id, *gap) for room in rooms for gap in find_gaps(db, room)}
        self._asks = {gap: count for gap, count in self._asks.items() if gap in current}
        for gap in sorted(current & previous)[:ASKS_PER_CHECK]:
            device, epoch, first, last = gap
            if self._asks.get(gap, 0) >= ASKS_PER_GAP:  # replayed, and still not stored: give it up
                self._hole(device, epoch, [(first, last)], f"still missing after {ASKS_PER_GAP} replays")
                continue
            self._asks[gap] = self._asks.get(gap, 0) + 1
            last = min(last, first + REPLAY_MAX - 1)
            answer = self.ingest.send_command(device, "replay", {"epoch": epoch, "first": first, "last": last},
                                              self.timeout)
            self.asked += 1
            if not answer.get("ok"):
                log.info("asked %s to replay seq %d–%d of epoch %s: %s", device, first, last, epoch,
                         answer.get("error"))
                continue
            log.info("asked %s to replay seq %d–%d of epoch %s: %s", device, first, last, epoch, answer.get("detail"))
            if answer.get("missing"):
                self._hole(device, epoch, answer["missing"], "no longer stored on the box")
        return current

    def _hole(self, device: str, epoch: str, ranges, why: str) -> None:
        with self.sessions.begin() as db:
            room = db.get(Room, device)
            room.holes = (room.holes or []) + [[epoch, first, last] for first, last in ranges]
        log.warning("%s: seq %s of epoch %s %s: a hole in its history the dashboard cannot fill", device,
                    ", ".join(f"{first}–{last}" for first, last in ranges), epoch, why)
