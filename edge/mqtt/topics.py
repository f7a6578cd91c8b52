"""Topic names. Every topic is documented in docs/mqtt.md."""

from __future__ import annotations

from dataclasses import dataclass

COMMANDS = ("session/start", "session/stop", "session/pause", "session/resume", "segment/start")


@dataclass(frozen=True)
class Topics:
    prefix: str
    device_id: str

    def _t(self, leaf: str) -> str:
        return f"{self.prefix}/{self.device_id}/{leaf}"

    @property
    def availability(self) -> str:
        return self._t("availability")

    @property
    def state(self) -> str:
        return self._t("state")

    @property
    def aggregate(self) -> str:
        return self._t("aggregate")

    @property
    def segment(self) -> str:
        return self._t("segment")

    @property
    def alert(self) -> str:
        return self._t("alert")

    @property
    def stats(self) -> str:
        return self._t("stats")

    @property
    def command_filter(self) -> str:
        return self._t("cmd/#")

    @property
    def command_result(self) -> str:
        return self._t("cmd/result")

    def command_name(self, topic: str) -> str:
        """'lsi/room/cmd/session/start' → 'session/start'."""
        return topic[len(self._t("cmd/")):]

    def outbox(self, kind: str) -> str:
        return {"aggregate": self.aggregate, "segment": self.segment, "alert": self.alert}[kind]
