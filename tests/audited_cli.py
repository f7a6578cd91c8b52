"""`python -m tests.audited_cli AUDIT_LOG ARGS…`: runs `lsi-edge ARGS…` while a Python audit hook
records every file the process opens for writing (and every rename or link), then writes the list
to AUDIT_LOG as JSON when the process exits. The proof of what the appliance itself writes,
unaffected by other processes on the machine."""

from __future__ import annotations

import atexit
import json
import os
import sys

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
written: list[str] = []
recording = True


def _path(value) -> str | None:
    if isinstance(value, bytes):
        value = os.fsdecode(value)
    return os.path.abspath(value) if isinstance(value, (str, os.PathLike)) else None  # not fds


def _hook(event: str, args: tuple) -> None:
    if not recording:
        return
    if event == "open":
        path, mode, flags = args
        writable = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & WRITE_FLAGS)
        if writable and _path(path):
            written.append(_path(path))
    elif event in ("os.rename", "os.link", "os.symlink"):
        written.extend(p for p in map(_path, args[:2]) if p)


def _save(log_path: str) -> None:
    global recording
    recording = False
    with open(log_path, "w") as handle:
        json.dump(written, handle)


if __name__ == "__main__":
    audit_log, arguments = sys.argv[1], sys.argv[2:]
    atexit.register(_save, audit_log)
    sys.addaudithook(_hook)
    from edge.cli import main

    sys.exit(main(arguments))
