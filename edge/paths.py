"""Where the appliance finds things that live outside the repository."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = REPO_ROOT / "models"
# the expression model the appliance loads unless classifier.model says otherwise
CLASSROOM_MODEL = MODELS_DIR / "expression_int8_classroom.tflite"
SHARED_ENV_VAR = "LSI_EDGE_SHARED"
DATA_ENV_VAR = "LSI_EDGE_DATA_DIR"


def shared_dir(override: str | os.PathLike | None = None) -> Path:
    """The shared data folder: explicit setting, else $LSI_EDGE_SHARED, else ../shared."""
    if override:
        return Path(override).expanduser().resolve()
    env = os.environ.get(SHARED_ENV_VAR)
    if env:
        return Path(env).expanduser().resolve()
    return (REPO_ROOT.parent / "shared").resolve()


def data_dir() -> Path:
    """Where state lives (databases, the dashboard's key); never the current directory.

    $LSI_EDGE_DATA_DIR, else the service's state directory ($STATE_DIRECTORY, set by systemd's
    StateDirectory=: /var/lib/lsi-edge), else $XDG_DATA_HOME/lsi-edge (~/.local/share/lsi-edge).
    Nothing is created here: whoever writes creates the folder.
    """
    for variable in (DATA_ENV_VAR, "STATE_DIRECTORY"):
        value = os.environ.get(variable)
        if value:
            return Path(value.split(":")[0]).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(xdg).expanduser() / "lsi-edge"
