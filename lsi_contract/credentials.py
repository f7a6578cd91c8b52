"""Where a box keeps its secrets, and its command token.

A box's command token is made on its first start (or by the installer) and kept readable by the
service only: in the systemd credentials directory of an installed box, in the data directory
otherwise. The dashboard beside the box reads the same file; a remote box's token is entered by
the admin who approves it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DATA_ENV_VAR = "LSI_EDGE_DATA_DIR"
TOKEN_FILE_NAME = "command-token"


def data_dir() -> Path:
    """Where state lives (databases, keys, the command token); never the current directory.

    $LSI_EDGE_DATA_DIR, else the service's state directory ($STATE_DIRECTORY, set by systemd's
    StateDirectory=), else $XDG_DATA_HOME/lsi-edge (~/.local/share/lsi-edge).
    Nothing is created here: whoever writes creates the folder.
    """
    for variable in (DATA_ENV_VAR, "STATE_DIRECTORY"):
        value = os.environ.get(variable)
        if value:
            return Path(value.split(":")[0]).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(xdg).expanduser() / "lsi-edge"


def read_secret_file(path: Path) -> str:
    """First line of a secret file (a password, a token), or ValueError naming the file."""
    try:
        value = path.read_text().splitlines()[0].strip()
    except (OSError, IndexError) as error:
        raise ValueError(f"{path}: cannot read a secret from it ({error or 'empty'})") from error
    if not value:
        raise ValueError(f"{path}: the first line is empty")
    return value


def token_file(configured: Path | None) -> Path:
    """The command token's file: systemd's credential when the service runs with one, else the
    configured file, else command-token in the data directory."""
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    if credentials and (Path(credentials) / TOKEN_FILE_NAME).is_file():
        return Path(credentials) / TOKEN_FILE_NAME
    return configured if configured is not None else data_dir() / TOKEN_FILE_NAME


def write_token(path: Path) -> str:
    """A new random token in path (mode 0600, replaced atomically); returns it."""
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token + "\n")
    os.replace(temporary, path)
    return token


def ensure_token(path: Path) -> str:
    """The token in path, made on first use."""
    return read_secret_file(path) if path.exists() else write_token(path)
