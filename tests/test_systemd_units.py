"""The service units: systemd's own verifier accepts them, and they keep their hardening."""

import configparser
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from edge.paths import REPO_ROOT

UNITS = REPO_ROOT / "systemd"
INSTALLED_BIN = "/opt/lsi-edge/.venv/bin/"
HARDENING = {"NoNewPrivileges": "true", "ProtectSystem": "strict", "ProtectHome": "true", "PrivateTmp": "true",
             "CapabilityBoundingSet": "", "AmbientCapabilities": "", "ProtectKernelTunables": "true",
             "ProtectKernelModules": "true", "ProtectKernelLogs": "true", "ProtectControlGroups": "true",
             "RestrictNamespaces": "true", "RestrictRealtime": "true", "RestrictSUIDSGID": "true",
             "LockPersonality": "true", "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
             "SystemCallFilter": "@system-service", "SystemCallArchitectures": "native", "UMask": "0027"}


def _service_lines(name: str) -> list[tuple[str, str]]:
    lines, section = [], None
    for line in (UNITS / name).read_text().splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "Service" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            lines.append((key, value))
    return lines


def _service_section(name: str) -> dict[str, str]:
    return dict(_service_lines(name))  # the last of repeated keys


def _console_scripts() -> set[str]:
    """The commands `pip install` puts into the virtual environment's bin (setup.cfg or pyproject.toml)."""
    setup = configparser.ConfigParser()
    setup.read(REPO_ROOT / "setup.cfg")
    declared = setup.get("options.entry_points", "console_scripts", fallback="")
    names = {line.split("=")[0].strip() for line in declared.splitlines() if "=" in line}
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    return names | set(pyproject.get("project", {}).get("scripts", {}))


@pytest.mark.parametrize("name", ["lsi-edge.service", "lsi-dashboard.service"])
def test_systemd_analyze_verify_accepts_the_unit(tmp_path, name):
    command = _service_section(name)["ExecStart"].split()[0]
    assert command.startswith(INSTALLED_BIN), command
    installed = Path(sys.executable).with_name(Path(command).name)  # the entry point, as under /opt
    if not installed.is_file():  # declared (see the next test) but this environment predates it
        installed = tmp_path / "bin" / installed.name
        installed.parent.mkdir()
        installed.write_text("#!/bin/sh\n")
        installed.chmod(0o755)
    unit = tmp_path / name
    unit.write_text((UNITS / name).read_text().replace(INSTALLED_BIN, f"{installed.parent}/"))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    complaints = [line for line in result.stderr.splitlines() if name in line]  # e.g. "Unknown key"
    assert not complaints, complaints


@pytest.mark.parametrize("name", ["lsi-edge.service", "lsi-dashboard.service"])
def test_each_unit_runs_a_command_of_the_project_with_the_installed_configuration(name):
    command, *arguments = _service_section(name)["ExecStart"].split()
    assert Path(command).name in _console_scripts(), f"{command}: no such console script in setup.cfg/pyproject.toml"
    assert arguments[-2:] == ["--config", f"/etc/lsi-edge/{'config' if name == 'lsi-edge.service' else 'dashboard'}.yaml"]


@pytest.mark.parametrize("name", ["lsi-edge.service", "lsi-dashboard.service"])
def test_both_units_get_the_command_token_and_their_own_broker_password(name):
    credentials = dict(value.split(":", 1) for key, value in _service_lines(name) if key == "LoadCredential")
    password = "mqtt-password" if name == "lsi-edge.service" else "dashboard-mqtt-password"
    assert credentials == {"mqtt-password": f"/etc/lsi-edge/credentials/{password}",
                           "command-token": "/etc/lsi-edge/credentials/command-token"}


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
