"""`python -m tests.full_disk_cli PAGES_FILE ARGS…`: runs `lsi-edge ARGS…` with every SQLite
database capped at the number of pages PAGES_FILE holds, read at each use of a connection (empty
or absent: no cap). Writing "1" into the file fills the disk as a full file system would ("database
or disk is full"); emptying it frees the space. For a real SIGTERM to an appliance whose store fails."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine


def main() -> int:
    pages = Path(sys.argv[1])

    @event.listens_for(Engine, "checkout")
    def _cap(connection, _record, _proxy):
        text = pages.read_text().strip() if pages.exists() else ""
        if text and type(connection).__module__.startswith("sqlite3"):
            connection.execute(f"PRAGMA max_page_count = {int(text)}")

    from edge.cli import main as cli
    return cli(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
