from edge.mqtt.payloads import SCHEMA_DIR, SCHEMAS, schema_text
from edge.mqtt.topics import COMMANDS
from edge.paths import REPO_ROOT


def test_schema_files_are_current():
    for name in SCHEMAS:
        assert (SCHEMA_DIR / f"{name}.json").read_text() == schema_text(name), \
            f"docs/mqtt-schemas/{name}.json is stale: python -m edge.mqtt.payloads"


def test_every_topic_and_command_is_documented():
    doc = (REPO_ROOT / "docs" / "mqtt.md").read_text()
    for leaf in ("availability", "state", "aggregate", "segment", "alert", "stats", "cmd/result"):
        assert f"`lsi/<device>/{leaf}`" in doc
    for command in COMMANDS:
        assert f"`lsi/<device>/cmd/{command}`" in doc
