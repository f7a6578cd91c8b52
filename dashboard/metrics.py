"""The dashboard's Prometheus figures (/metrics): what the feed stored and refused, and the
registry of devices. One registry per app, so that several apps in one process stay apart."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from dashboard.models import APPROVALS, Room


class FeedMetrics:
    def __init__(self, sessions, connected=lambda: False):
        self.registry = CollectorRegistry()
        self._refused = Counter("lsi_dashboard_messages_refused", "Feed messages refused, by device and reason "
                                "(the contract's: too_large, not_json, invalid, wrong_device; the registry's: "
                                "not_approved, rejected, revoked, too_many_waiting, bad_device_id; "
                                "result_from_another_device)", ["device", "reason"], registry=self.registry)
        self._stored = Counter("lsi_dashboard_messages_stored", "Feed messages accepted, by topic",
                               ["topic"], registry=self.registry)
        self.errors = 0  # messages that failed on the way into the database (counted in /metrics)
        self.registry.register(_Registry(self, sessions, connected))

    def refused(self, device: str, reason: str) -> None:
        self._refused.labels(device=device, reason=reason).inc()

    def stored(self, topic: str) -> None:
        self._stored.labels(topic=topic).inc()

    def refused_count(self, device: str, reason: str) -> float:
        value = self.registry.get_sample_value("lsi_dashboard_messages_refused_total",
                                               {"device": device, "reason": reason})
        return value or 0.0

    def text(self) -> bytes:
        return generate_latest(self.registry)


class _Registry(Collector):
    """Figures read at scrape time from where they live (one source of truth each)."""

    def __init__(self, metrics: FeedMetrics, sessions, connected):
        self.metrics, self.sessions, self.connected = metrics, sessions, connected

    def collect(self):
        with self.sessions() as db:
            counts = dict(db.execute(select(Room.approval, func.count()).group_by(Room.approval)).all())
        devices = GaugeMetricFamily("lsi_dashboard_devices", "Devices in the registry, by approval",
                                    labels=["approval"])
        for approval in APPROVALS:
            devices.add_metric([approval], counts.get(approval, 0))
        yield devices
        yield GaugeMetricFamily("lsi_dashboard_feed_connected", "1 while connected to the broker",
                                value=float(self.connected()))
        yield CounterMetricFamily("lsi_dashboard_ingest_errors", "Accepted messages that could not be stored",
                                  value=self.metrics.errors)
