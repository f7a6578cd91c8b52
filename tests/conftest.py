"""Shared fixtures: where the shared data lives (skips with a reason when it does not), a broker."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from edge.datasets import fer2013_path
from edge.paths import shared_dir
from lsi_contract.credentials import DATA_ENV_VAR
from tests.mqtt_helpers import Broker


def pytest_configure(config) -> None:
    # matplotlib (imported by MediaPipe) caches its font list under $HOME: keep it in a folder of
    # this run's, removed at the end, so that a test run leaves nothing outside its folders.
    config.matplotlib_cache = tempfile.mkdtemp(prefix="lsi-test-matplotlib-")
    os.environ["MPLCONFIGDIR"] = config.matplotlib_cache


def pytest_collection_modifyitems(items) -> None:
    for item in items:  # `pytest -m reliability`: the fault tests (scripts/reliability.sh)
        if "reliability" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.reliability)


def pytest_unconfigure(config) -> None:
    shutil.rmtree(config.matplotlib_cache, ignore_errors=True)


# The scripted classrooms' faces, and the FER+ votes that pick them (edge.scenes.render.FaceBank).
SCENE_DATA = (fer2013_path(shared_dir()), shared_dir() / "data" / "ferplus_votes.csv")
needs_scene_data = pytest.mark.skipif(not all(path.is_file() for path in SCENE_DATA),
                                      reason=f"FER2013 or its FER+ votes not found in {SCENE_DATA[0].parent} "
                                             "(shared data absent)")


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch) -> Path:
    """Each test's own data directory (databases, keys, the command token), inherited by the
    processes it starts: nothing lands in the user's home."""
    folder = tmp_path / "data"
    monkeypatch.setenv(DATA_ENV_VAR, str(folder))
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    return folder


RELIABILITY_ENV = "LSI_EDGE_RELIABILITY"  # scripts/reliability.sh: where fault tests write what they saw


class Reliability:
    """What a fault test tried, the promise and what it observed, for docs/reliability.md
    (scripts/reliability.sh); a plain test run writes nothing. `full`: the long versions."""

    def __init__(self, name: str):
        self.name = name
        folder = os.environ.get(RELIABILITY_ENV)
        self.folder = Path(folder) if folder else None
        self.full = os.environ.get(f"{RELIABILITY_ENV}_FULL") == "1"

    def record(self, fault: str, promise: str, observed: str) -> None:
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            entry = {"test": self.name, "fault": fault, "promise": promise, "observed": observed}
            (self.folder / f"{self.name.replace('/', '_').replace('::', '--')}.json").write_text(json.dumps(entry))


@pytest.fixture
def reliability(request) -> Reliability:
    return Reliability(request.node.nodeid)


@pytest.fixture(scope="session")
def shared() -> Path:
    return shared_dir()


@pytest.fixture(scope="session")
def fer2013(shared: Path):
    if not fer2013_path(shared).is_file():
        pytest.skip(f"FER2013 not found at {fer2013_path(shared)} (set LSI_EDGE_SHARED to the shared folder)")
    from edge.datasets import load_fer2013
    return load_fer2013(shared)


@pytest.fixture
def broker(tmp_path):
    """A Mosquitto of the test's own, on a free port, persistence in the test's folder."""
    server = Broker(tmp_path / "broker")
    server.workdir.mkdir()
    server.start()
    yield server
    server.stop()
