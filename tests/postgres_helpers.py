"""A throwaway PostgreSQL server for tests (Debian's postgresql package, started by the test)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
from pathlib import Path

from tests.mjpeg_server import free_port


def _binary(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


class Postgres:
    def __init__(self, folder: Path):
        initdb, self.pg_ctl = _binary("initdb"), _binary("pg_ctl")
        if not initdb or not self.pg_ctl:
            raise RuntimeError("PostgreSQL server binaries not found: run scripts/test.sh (it installs postgresql)")
        self.port = free_port()
        self.dir = folder
        self.user = None
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            try:
                self.user = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root and no 'postgres' user exists (the postgresql package creates it)") from None
            for path in (self.dir, *self.dir.parents):  # the postgres user must reach its data folder
                if path == Path(path.anchor) or path.stat().st_mode & 0o001:
                    break
                path.chmod(path.stat().st_mode | 0o001)
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        self._run([initdb, "-D", str(self.dir / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
        self._run([self.pg_ctl, "-D", str(self.dir / "data"), "-w", "-l", str(self.dir / "log"), "-o",
                   f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1", "start"])
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, command: list[str]) -> None:
        if self.user is not None:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def stop(self) -> None:
        self._run([self.pg_ctl, "-D", str(self.dir / "data"), "-m", "fast", "stop"])
        shutil.rmtree(self.dir, ignore_errors=True)
