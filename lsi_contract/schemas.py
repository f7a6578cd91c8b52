"""docs/mqtt-schemas/: the JSON Schema of every payload and command, generated from the models.

`python -m lsi_contract.schemas` rewrites the files; a test checks that they are current.
"""

from __future__ import annotations

import json
from pathlib import Path

from lsi_contract.commands import SCHEMAS as COMMAND_MODELS
from lsi_contract.payloads import MODELS
from lsi_contract.topics import COMMAND_RESULT

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "docs" / "mqtt-schemas"


def schema_files() -> dict[str, str]:
    """File name → text."""
    models = {("cmd-result" if leaf == COMMAND_RESULT else leaf): model for leaf, model in MODELS.items()}
    models.update({f"cmd-{name.replace('/', '-')}": model for name, model in COMMAND_MODELS.items()})
    return {f"{name}.json": json.dumps(model.model_json_schema(), indent=2) + "\n" for name, model in models.items()}


def write_schemas(folder: Path = SCHEMA_DIR) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in schema_files().items():
        (folder / name).write_text(text)


if __name__ == "__main__":
    write_schemas()
