"""Logging: repeated warnings are held back and counted; JSON logs are one object per line."""

import json
import logging
import sys

from lsi_contract.logs import JsonFormatter, RepeatLimiter


def _record(message: str, level: int = logging.WARNING, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("lsi_edge.test", level, __file__, 1, message, ("x",), exc_info)


def test_a_repeated_warning_is_logged_once_a_minute_with_the_count_held_back():
    now = [0.0]
    limiter = RepeatLimiter(60.0, clock=lambda: now[0])
    assert limiter.filter(_record("camera %s down"))
    assert not any(limiter.filter(_record("camera %s down")) for _ in range(5))
    assert limiter.filter(_record("broker %s down"))  # another kind is not hidden behind the first
    assert limiter.filter(_record("frame %s", logging.INFO))  # information is never held back
    now[0] = 61.0
    again = _record("camera %s down")
    assert limiter.filter(again) and "5 more like this" in again.getMessage()


def test_json_lines_carry_the_traceback_on_the_same_line():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = _record("failed %s", logging.ERROR, sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "error" and entry["message"] == "failed x" and "RuntimeError: boom" in entry["exception"]
