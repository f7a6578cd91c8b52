from edge.paths import REPO_ROOT
from lsi_contract.scale import bands_markdown, lsi_bands
from lsi_contract.topics import COMMANDS, FEED_LEAVES


def test_every_topic_and_command_is_documented():
    doc = (REPO_ROOT / "docs" / "mqtt.md").read_text()
    for leaf in FEED_LEAVES:
        assert f"`lsi/<device>/{leaf}`" in doc
    for command in COMMANDS:
        assert f"`lsi/<device>/cmd/{command}`" in doc


def test_lsi_bands_in_the_docs_are_the_code_s():
    doc = (REPO_ROOT / "docs" / "mqtt.md").read_text()
    assert bands_markdown(lsi_bands()) in doc


def test_the_payload_examples_in_the_docs_pass_the_contract():
    import json
    import re
    import time

    from lsi_contract.payloads import parse_message

    doc = (REPO_ROOT / "docs" / "mqtt.md").read_text()
    examples = re.findall(r"`lsi/room-101/(\w+)`(?: \(retained\))?\n\n```json\n(.*?)```", doc, re.S)
    assert {leaf for leaf, _ in examples} == {"aggregate", "segment", "alert", "state", "stats"}
    for leaf, text in examples:
        parse_message(leaf, "room-101", json.dumps(json.loads(text)).encode(), time.time())
