"""The box's Mosquitto configuration (config/mosquitto/), run by a real Mosquitto: log-ins are
required, a dashboard's queued feed survives a broker restart (persistence), and each appliance's
account (named as its device id) reaches only its own topics while the dashboard's reads every
room and sends commands only.

"Nothing arrived" is shown without sleeping: after the forbidden message, the same client
publishes an allowed one that the same subscriber receives; the broker queues a message to its
subscribers before it acknowledges it, so the forbidden one would have arrived first."""

import json
import time

from edge.paths import REPO_ROOT
from tests.installed_broker import InstalledBroker
from tests.mqtt_helpers import wait_for

ACCOUNTS = {"lsi-dashboard": "dashboard-secret", "room-a": "secret-a", "room-b": "secret-b"}
ROOM_FEED = ["availability", "state", "aggregate", "segment", "alert", "stats"]
COMMANDS = ["session/start", "session/stop", "session/pause", "session/resume", "segment/start"]


def _payload(device: str, **fields) -> str:
    return json.dumps({"device_id": device, "ts": time.time(), **fields})


def test_log_in_is_required_and_queued_messages_survive_a_broker_restart(tmp_path):
    broker = InstalledBroker(tmp_path, ACCOUNTS)
    broker.start()
    try:
        assert broker.client(None, client_id="anonymous").codes[0].is_failure  # not authorised
        assert broker.client("room-a", "wrong", client_id="guess").codes[0].is_failure

        dashboard = broker.client("lsi-dashboard", client_id="dashboard", clean=False)
        assert dashboard.connected
        assert not dashboard.subscribe_and_wait("lsi/+/+")[0].is_failure
        dashboard.close()

        appliance = broker.client("room-a", client_id="room-a")
        appliance.publish_and_wait("lsi/room-a/aggregate", _payload("room-a", seq=1, lsi=50.0))
        appliance.close()
        broker.stop()  # saves the queue on the way out

        broker.start()
        dashboard = broker.client("lsi-dashboard", client_id="dashboard", clean=False)
        wait_for(lambda: dashboard.topics() == ["lsi/room-a/aggregate"], 10, "the queued window after the restart")
    finally:
        broker.stop()


def test_each_device_reaches_only_its_own_topics_and_the_dashboard_only_reads_and_commands(tmp_path):
    broker = InstalledBroker(tmp_path, ACCOUNTS, extra_acl="user observer\ntopic read homeassistant/#")
    broker.add("observer", "observer-secret")
    broker.start()
    try:
        assert broker.client(None, client_id="anonymous").codes[0].is_failure

        feed = broker.client("lsi-dashboard", client_id="dashboard-feed")
        for topic in ["lsi/+/+", "lsi/+/cmd/result"]:
            assert not feed.subscribe_and_wait(topic)[0].is_failure
        room_a = broker.client("room-a", client_id="room-a")
        room_b = broker.client("room-b", client_id="room-b")
        assert room_a.connected and room_b.connected
        assert not room_b.subscribe_and_wait("lsi/room-b/cmd/#")[0].is_failure
        assert not room_a.subscribe_and_wait("lsi/room-a/cmd/#")[0].is_failure
        # room-a asks for room-b's commands directly and through wildcards.
        for topic in ["lsi/room-b/cmd/#", "lsi/+/cmd/#", "lsi/#"]:
            room_a.subscribe_and_wait(topic)

        # A device publishes its own feed; a forged one for another room is dropped.
        for kind in ROOM_FEED:
            room_a.publish_and_wait(f"lsi/room-b/{kind}", _payload("room-b", forged=True))
        room_a.publish_and_wait("lsi/room-b/cmd/result", _payload("room-b", forged=True))
        room_a.publish_and_wait("lsi/room-b/cmd/session/start", _payload("room-b", forged=True))
        room_a.publish_and_wait("lsi/room-a/cmd/session/pause", _payload("room-a", forged=True))  # nor its own
        for kind in ROOM_FEED:
            room_a.publish_and_wait(f"lsi/room-a/{kind}", _payload("room-a"))
        room_a.publish_and_wait("lsi/room-a/cmd/result", _payload("room-a", ok=True))
        room_b.publish_and_wait("lsi/room-b/aggregate", _payload("room-b"))
        expected = [f"lsi/room-a/{kind}" for kind in ROOM_FEED] + ["lsi/room-a/cmd/result", "lsi/room-b/aggregate"]
        wait_for(lambda: len(feed.received) >= len(expected), 5, "both rooms' feeds at the dashboard")
        assert feed.topics() == expected  # the dashboard reads every room; nothing forged arrived
        assert all(b"forged" not in payload for _, payload in feed.received)

        # The dashboard's commands reach their device only; room-a does not read room-b's.
        commander = broker.client("lsi-dashboard", client_id="dashboard-commands")
        for command in COMMANDS:
            commander.publish_and_wait(f"lsi/room-b/cmd/{command}", _payload("room-b", request_id=command))
        commander.publish_and_wait("lsi/room-a/cmd/session/start", _payload("room-a", request_id="a"))
        wait_for(lambda: "lsi/room-a/cmd/session/start" in room_a.topics(), 5, "room-a's own command")
        wait_for(lambda: len(room_b.received) >= len(COMMANDS), 5, "room-b's commands")
        assert room_b.topics() == [f"lsi/room-b/cmd/{command}" for command in COMMANDS]
        # (its own result comes back: a device reads all of its cmd/ subtree)
        assert set(room_a.topics()) == {"lsi/room-a/cmd/result", "lsi/room-a/cmd/session/start"}

        # The dashboard cannot write feed topics or results (nor anything but the two command kinds).
        for topic in ["lsi/room-a/aggregate", "lsi/room-a/state", "lsi/room-a/cmd/result", "lsi/room-a/cmd/other"]:
            commander.publish_and_wait(topic, _payload("room-a", forged=True))
        commander.publish_and_wait("lsi/room-a/cmd/session/stop", _payload("room-a", request_id="b"))
        wait_for(lambda: "lsi/room-a/cmd/session/stop" in room_a.topics(), 5, "room-a's second command")
        room_a.publish_and_wait("lsi/room-a/stats", _payload("room-a", last=True))
        wait_for(lambda: len(feed.received) > len(expected), 5, "room-a's stats")
        assert feed.topics()[len(expected):] == ["lsi/room-a/stats"]
        assert set(room_a.topics()) == {"lsi/room-a/cmd/result", "lsi/room-a/cmd/session/start",
                                        "lsi/room-a/cmd/session/stop"}

        # Home Assistant discovery: under the device's own node id only.
        observer = broker.client("observer", client_id="observer")
        observer.subscribe_and_wait("homeassistant/#")
        room_a.publish_and_wait("homeassistant/sensor/room-b/lsi/config", "{}")
        room_a.publish_and_wait("homeassistant/binary_sensor/room-a/lsi/config", "{}")
        room_a.publish_and_wait("homeassistant/sensor/room-a/lsi/config", "{}")
        wait_for(lambda: observer.received, 5, "room-a's discovery message")
        assert observer.topics() == ["homeassistant/sensor/room-a/lsi/config"]

        # A stolen box: its account revoked, the broker reloaded (new log-ins refused; Mosquitto 2.0
        # drops the open connection too), then restarted to be certain.
        revoked = broker.revoke("room-a")
        assert revoked.stdout.splitlines()[-1] == "systemctl restart mosquitto"
        assert "room-a" not in broker.account_script("list").stdout.split()
        broker.reload()
        wait_for(lambda: not room_a.is_connected(), 5, "room-a's connection to end with the reload")
        assert broker.client("room-a", "secret-a", client_id="room-a-again").codes[0].is_failure
        assert room_b.is_connected()
        broker.stop()
        broker.start()
        assert broker.client("room-a", "secret-a", client_id="room-a").codes[0].is_failure
        assert broker.client("room-b", client_id="room-b").connected
    finally:
        broker.stop()


def test_the_installed_broker_file_is_rendered_from_the_one_definition():
    from edge.broker import DATA_PROTECTION, installed_config, local_config

    assert (REPO_ROOT / "config" / "mosquitto" / "lsi-edge.conf").read_text() == installed_config(), \
        "config/mosquitto/lsi-edge.conf is stale: python -m edge.broker > config/mosquitto/lsi-edge.conf"
    for rendered in (installed_config(), local_config(1883, "127.0.0.1", REPO_ROOT / "x")):
        for key, value in DATA_PROTECTION:
            assert f"\n{key} {value}\n" in rendered
