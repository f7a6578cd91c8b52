"""Running under systemd (Type=notify): READY=1 once frames are processed, WATCHDOG=1 while the
appliance is alive (edge/health.py's verdict), STATUS= with what it is doing, STOPPING=1 on the
way out; and giving up on a live source that stays away, so that systemd restarts the daemon.

The sd_notify protocol is one datagram per message to the socket named by $NOTIFY_SOCKET; it is
a no-op elsewhere, and the give-up still applies."""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Callable

from edge.health import Health

log = logging.getLogger("lsi_edge.service")
STATUS_SECONDS = 5.0


def notify(message: str) -> bool:
    """Send one sd_notify message; False when not run by systemd (no $NOTIFY_SOCKET)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(message.encode(), address)
        return True
    except OSError as error:
        log.warning("could not notify systemd at %s: %s", os.environ.get("NOTIFY_SOCKET"), error)
        return False


def watchdog_seconds() -> float | None:
    """The watchdog interval systemd expects (WatchdogSec=), when it is meant for this process."""
    usec, pid = os.environ.get("WATCHDOG_USEC"), os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 1e6


class ServiceMonitor:
    """A thread that turns the health verdict into notifications, and a lost source into a stop."""

    def __init__(self, health: Health, give_up: Callable[[str], None]):
        self.health, self._give_up = health, give_up
        self.watchdog = watchdog_seconds()
        # Ping at twice the rate systemd needs; look at least once a second for the rest.
        self.tick = min(1.0, self.watchdog / 2) if self.watchdog else 1.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="service-monitor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)

    def _run(self) -> None:
        ready_sent, last_status, status_due = False, "", 0.0
        while not self._stop.wait(self.tick):
            try:
                verdict = self.health.verdict()
                if verdict.ready and not ready_sent:
                    notify("READY=1")
                    ready_sent = True
                    log.info("ready: %s", verdict.summary)
                if verdict.alive and self.watchdog:
                    notify("WATCHDOG=1")
                now = self.health.clock()
                if verdict.summary != last_status and now >= status_due:
                    notify(f"STATUS={verdict.summary}")
                    last_status, status_due = verdict.summary, now + STATUS_SECONDS
                if verdict.give_up:
                    log.error("%s (source.give_up_seconds); exiting so that the service is restarted",
                              verdict.summary)
                    self._give_up(verdict.summary)
                    return
                if not verdict.alive:
                    log.error("unhealthy: %s", verdict.summary)
            except Exception:  # the monitor must outlive whatever it watches
                log.exception("service monitor failed; retrying")
