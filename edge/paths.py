"""Where the appliance finds things that live outside the repository."""

from __future__ import annotations

import os
from pathlib import Path

from lsi_contract.credentials import DATA_ENV_VAR, data_dir  # noqa: F401  (where the appliance keeps state)

REPO_ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = REPO_ROOT / "models"
# the expression model the appliance loads unless classifier.model says otherwise
CLASSROOM_MODEL = MODELS_DIR / "expression_int8_classroom.tflite"
SHARED_ENV_VAR = "LSI_EDGE_SHARED"


def shared_dir(override: str | os.PathLike | None = None) -> Path:
    """The shared data folder: explicit setting, else $LSI_EDGE_SHARED, else ../shared."""
    if override:
        return Path(override).expanduser().resolve()
    env = os.environ.get(SHARED_ENV_VAR)
    if env:
        return Path(env).expanduser().resolve()
    return (REPO_ROOT.parent / "shared").resolve()

