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


def test_lsi_bands_in_the_docs_are_the_code_s():
    from edge.config import DEFAULT_LSI_WEIGHTS
    from edge.datasets import FER2013_LABELS
    from edge.lsi.scale import bands_markdown, lsi_bands

    doc = (REPO_ROOT / "docs" / "mqtt.md").read_text()
    assert bands_markdown(lsi_bands(DEFAULT_LSI_WEIGHTS, FER2013_LABELS)) in doc
