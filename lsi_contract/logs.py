"""Logging of both programs (the appliance and the dashboard): one line per event on stderr, text
or JSON, quiet libraries, and repeated warnings and errors rate-limited (an outage must not fill
the journal)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
import threading
import time

LEVELS = ("debug", "info", "warning", "error")
# Libraries that talk at INFO about things an admin does not need (schema checks, font caches, …).
QUIET_LIBRARIES = ("alembic", "absl", "matplotlib", "PIL", "h5py", "tensorflow", "waitress.queue", "urllib3")
REPEAT_SECONDS = 60.0


class RepeatLimiter(logging.Filter):
    """Lets the first warning or error of a kind through, then at most one per REPEAT_SECONDS,
    saying how many were held back. A kind is the logger, the message template and the
    exception type, so different failures are never hidden behind each other; a record may name
    its own kind (extra={"repeat_key": …}) when one template covers several (e.g. per device)."""

    def __init__(self, seconds: float = REPEAT_SECONDS, clock=time.monotonic):
        super().__init__()
        self.seconds, self._clock = seconds, clock
        self._lock = threading.Lock()
        self._kinds: dict[tuple, tuple[float, int]] = {}  # kind → (last emitted, held back since)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        kind = (record.name, getattr(record, "repeat_key", record.msg), record.exc_info[0] if record.exc_info else None)
        now = self._clock()
        with self._lock:
            last, held = self._kinds.get(kind, (None, 0))
            if last is not None and now - last < self.seconds:
                self._kinds[kind] = (last, held + 1)
                return False
            self._kinds[kind] = (now, 0)
        if held:
            record.msg = f"{record.msg} [{held} more like this in the last {self.seconds:g} s]"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the traceback, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
                 "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class OneLineFormatter(logging.Formatter):
    """Text with tracebacks folded onto the same line, so one event is one journal line."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", " | ")


def setup_logging(level: str = "info", json_format: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_format else
                         OneLineFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RepeatLimiter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    if level != "debug":
        for name in QUIET_LIBRARIES:
            logging.getLogger(name).setLevel(logging.WARNING)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
