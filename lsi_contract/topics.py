"""Topic names: `<prefix>/<device id>/<leaf>`. Every topic is documented in docs/mqtt.md; the
broker's ACLs (config/mosquitto/lsi-edge.acl) give each device account its own `<device id>`."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_PREFIX = "lsi"
PREFIX_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
# One topic level, and a Mosquitto user name (the broker account of a device is its id): no
# '/', '+', '#', and only what Home Assistant accepts as a node id.
DEVICE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
DASHBOARD_ACCOUNT = "lsi-dashboard"  # reserved: no device may be named so

COMMANDS = ("session/start", "session/stop", "session/pause", "session/resume", "segment/start", "replay")
AVAILABILITY, STATE, AGGREGATE, SEGMENT, ALERT, STATS, COMMAND_RESULT = (
    "availability", "state", "aggregate", "segment", "alert", "stats", "cmd/result")
FEED_LEAVES = (AVAILABILITY, STATE, AGGREGATE, SEGMENT, ALERT, STATS, COMMAND_RESULT)
# What the outbox stores and replays (QoS 1, never lost); the rest is a latest-value snapshot.
DURABLE_LEAVES = (AGGREGATE, SEGMENT, ALERT)
AVAILABILITY_VALUES = ("online", "offline", "stopped")

_DEVICE = re.compile(DEVICE_ID_PATTERN)


def valid_device_id(device_id: str) -> bool:
    return bool(_DEVICE.match(device_id)) and device_id != DASHBOARD_ACCOUNT


@dataclass(frozen=True)
class Topics:
    """The topics of one device."""

    prefix: str
    device_id: str

    def leaf(self, leaf: str) -> str:
        return f"{self.prefix}/{self.device_id}/{leaf}"

    @property
    def availability(self) -> str:
        return self.leaf(AVAILABILITY)

    @property
    def state(self) -> str:
        return self.leaf(STATE)

    @property
    def stats(self) -> str:
        return self.leaf(STATS)

    @property
    def command_filter(self) -> str:
        return self.leaf("cmd/#")

    @property
    def command_result(self) -> str:
        return self.leaf(COMMAND_RESULT)

    def command(self, name: str) -> str:
        return self.leaf(f"cmd/{name}")

    def command_name(self, topic: str) -> str:
        """'lsi/room/cmd/session/start' → 'session/start'."""
        return topic[len(self.leaf("cmd/")):]


def feed_filters(prefix: str) -> tuple[str, ...]:
    """What a consumer of every device's feed subscribes to (the dashboard's account may read these)."""
    return f"{prefix}/+/+", f"{prefix}/+/{COMMAND_RESULT}"


def split_topic(prefix: str, topic: str) -> tuple[str, str] | None:
    """'lsi/room-1/aggregate' → ('room-1', 'aggregate'); None for a topic outside the feed."""
    parts = topic.split("/")
    if len(parts) < 3 or parts[0] != prefix:
        return None
    leaf = "/".join(parts[2:])
    return (parts[1], leaf) if leaf in FEED_LEAVES else None


def discovery_topic(discovery_prefix: str, device_id: str, object_id: str) -> str:
    """Home Assistant discovery, with the device id as node id (so an ACL pattern can own it)."""
    return f"{discovery_prefix}/sensor/{device_id}/{object_id}/config"
