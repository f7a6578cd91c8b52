"""Home Assistant MQTT discovery: LSI and faces sensors for a room (with mqtt.home_assistant)."""

from __future__ import annotations

import json

from lsi_contract.topics import Topics, discovery_topic


def discovery_messages(topics: Topics, device: str, prefix: str) -> list[tuple[str, str]]:
    """(topic, retained payload) pairs announcing this room's sensors."""
    base = {"state_topic": topics.state, "availability_topic": topics.availability,
            "payload_available": "online", "payload_not_available": "offline",
            "device": {"identifiers": [f"lsi-edge-{device}"], "name": f"LSI Edge {device}",
                       "manufacturer": "LSI Edge"}}
    sensors = {"lsi": {"name": "Learning Satisfaction Index", "unit_of_measurement": "%",
                       "value_template": "{{ value_json.lsi }}", "icon": "mdi:school"},
               "faces": {"name": "Faces", "value_template": "{{ value_json.faces }}",
                         "icon": "mdi:account-group"}}
    return [(discovery_topic(prefix, device, key),
             json.dumps({**base, **extra, "unique_id": f"lsi_edge_{device}_{key}", "state_class": "measurement"}))
            for key, extra in sensors.items()]
