"""The service units: systemd's own verifier accepts them, and they keep their hardening."""

import subprocess
import sys
from pathlib import Path

import pytest

from edge.paths import REPO_ROOT

UNITS = REPO_ROOT / "systemd"
INSTALLED_COMMAND = "/opt/lsi-edge/.venv/bin/lsi-edge"
HARDENING = {"NoNewPrivileges": "true", "ProtectSystem": "strict", "ProtectHome": "true", "PrivateTmp": "true",
             "CapabilityBoundingSet": "", "AmbientCapabilities": "", "ProtectKernelTunables": "true",
             "ProtectKernelModules": "true", "ProtectKernelLogs": "true", "ProtectControlGroups": "true",
             "RestrictNamespaces": "true", "RestrictRealtime": "true", "RestrictSUIDSGID": "true",
             "LockPersonality": "true", "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
             "SystemCallFilter": "@system-service", "SystemCallArchitectures": "native", "UMask": "0027"}


def _service_section(name: str) -> dict[str, str]:
    keys, section = {}, None
    for line in (UNITS / name).read_text().splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "Service" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            keys[key] = value
    return keys


@pytest.mark.parametrize("name", ["lsi-edge.service", "lsi-dashboard.service"])
def test_systemd_analyze_verify_accepts_the_unit(tmp_path, name):
    command = Path(sys.executable).with_name("lsi-edge")  # the installed entry point, as under /opt
    assert command.is_file()
    unit = tmp_path / name
    unit.write_text((UNITS / name).read_text().replace(INSTALLED_COMMAND, str(command)))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    complaints = [line for line in result.stderr.splitlines() if name in line]  # e.g. "Unknown key"
    assert not complaints, complaints


@pytest.mark.parametrize("name", ["lsi-edge.service", "lsi-dashboard.service"])
def test_units_are_hardened(name):
    service = _service_section(name)
    for key, value in HARDENING.items():
        assert service.get(key) == value, f"{name}: {key}={service.get(key)!r}, expected {value!r}"
    assert service["User"] == "lsi-edge" and service["StateDirectory"] and "LoadCredential" in service


def test_the_appliance_unit_is_a_watched_notify_service_that_reaches_only_the_camera():
    service = _service_section("lsi-edge.service")
    assert service["Type"] == "notify" and service["NotifyAccess"] == "main" and float(service["WatchdogSec"]) > 0
    assert service["Restart"] == "on-failure" and service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["DevicePolicy"] == "closed" and service["DeviceAllow"] == "char-video4linux rw"
    assert service["SupplementaryGroups"] == "video"
    assert _service_section("lsi-dashboard.service")["PrivateDevices"] == "true"
