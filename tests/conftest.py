"""Shared fixtures: where the shared data lives, and skips with a reason when it does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.datasets import fer2013_path
from edge.paths import shared_dir


@pytest.fixture(scope="session")
def shared() -> Path:
    return shared_dir()


@pytest.fixture(scope="session")
def fer2013(shared: Path):
    if not fer2013_path(shared).is_file():
        pytest.skip(f"FER2013 not found at {fer2013_path(shared)} (set LSI_EDGE_SHARED to the shared folder)")
    from edge.datasets import load_fer2013
    return load_fer2013(shared)
