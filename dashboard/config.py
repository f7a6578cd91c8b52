"""Dashboard settings (validated; unknown keys are errors). The YAML file and the command-line
flags go through the same schema."""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lsi_contract.credentials import data_dir
from lsi_contract.settings import ConfigError, describe
from lsi_contract.settings import reference_markdown as schema_reference
from lsi_contract.topics import DEFAULT_PREFIX, DEVICE_ID_PATTERN, PREFIX_PATTERN


class DashboardConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    database_url: str = Field(None, validate_default=True,
                              description="SQLAlchemy URL (PostgreSQL for a school); default: SQLite file "
                                          "lsi-dashboard.db in the data directory. Migrated to the newest "
                                          "schema at start")
    mqtt_host: str = Field("localhost", description="broker the appliances publish to")
    mqtt_port: int = Field(1883, ge=1, le=65535, description="broker port (8883 is usual with TLS)")
    mqtt_client_id: str = Field(None, validate_default=True, min_length=1, max_length=64,
                                description="MQTT client id; must stay the same across restarts, so the broker "
                                            "keeps the feed for the dashboard while it is down "
                                            "(default: lsi-dashboard-<host name>)")
    mqtt_username: str | None = Field(None, description="broker user name (the installer's: lsi-dashboard)")
    mqtt_password_file: Path | None = Field(None, description="file holding the broker password (first line), "
                                                              "e.g. a systemd credential; never logged")
    mqtt_ca_file: Path | None = Field(None, description="TLS: the broker's CA certificate (PEM); set it to connect "
                                                        "over TLS")
    mqtt_cert_file: Path | None = Field(None, description="TLS: this dashboard's client certificate (PEM), when "
                                                          "the broker asks for one")
    mqtt_key_file: Path | None = Field(None, description="TLS: the client certificate's private key (PEM)")
    topic_prefix: str = Field(DEFAULT_PREFIX, pattern=PREFIX_PATTERN,
                              description="first topic level of the feed (the appliances' mqtt.topic_prefix)")
    local_device_id: str | None = Field(None, pattern=DEVICE_ID_PATTERN,
                                        description="the appliance on this machine (`lsi-edge dashboard` sets it "
                                                    "from the appliance's configuration): approved without "
                                                    "asking, its command token read from local_token_file")
    local_token_file: Path | None = Field(None, description="the local appliance's command token file (`lsi-edge "
                                                            "token` prints where it is)")
    max_waiting_devices: int = Field(500, ge=1, description="devices listed as waiting for approval at most; "
                                                            "messages of further unknown devices are refused")
    refusal_log_seconds: float = Field(300.0, gt=0, description="a refused message is logged once per device and "
                                                                "reason in this interval (all are counted in "
                                                                "/metrics)")
    host: str = Field("0.0.0.0", description="address the web server listens on (the school LAN)")
    port: int = Field(8080, ge=1, le=65535, description="web server port")
    secret_key_file: Path = Field(None, validate_default=True,
                                  description="session-signing key, created with a random key if absent "
                                              "(default: lsi-dashboard.secret in the data directory; "
                                              "$LSI_DASHBOARD_SECRET_KEY wins)")
    secure_cookies: bool = Field(False, description="true when served over HTTPS (behind a TLS proxy)")
    login_attempts: int = Field(5, ge=1, description="failed logins per 5 minutes per address before 429")
    command_timeout_seconds: float = Field(5.0, gt=0, description="how long a command waits for the device's answer")
    gap_check_seconds: float = Field(60.0, gt=0, description="how often the stored sequence of each approved device "
                                                             "is checked for gaps; a gap seen twice in a row is "
                                                             "asked of the box (replay)")

    @field_validator("database_url", mode="before")
    @classmethod
    def _database_in_data_dir(cls, url):
        return f"sqlite:///{data_dir() / 'lsi-dashboard.db'}" if url is None else url

    @field_validator("secret_key_file", mode="before")
    @classmethod
    def _key_in_data_dir(cls, path):
        return data_dir() / "lsi-dashboard.secret" if path is None else path

    @field_validator("mqtt_client_id", mode="before")
    @classmethod
    def _stable_client_id(cls, client_id):
        return f"lsi-dashboard-{socket.gethostname()}"[:64] if client_id is None else client_id

    @model_validator(mode="after")
    def _consistent(self):
        if (self.mqtt_cert_file is None) != (self.mqtt_key_file is None):
            raise ValueError("mqtt_cert_file and mqtt_key_file go together: set both or neither")
        if self.mqtt_cert_file is not None and self.mqtt_ca_file is None:
            raise ValueError("a client certificate needs TLS: set mqtt_ca_file too")
        if self.local_token_file is not None and self.local_device_id is None:
            raise ValueError("local_token_file needs local_device_id (the appliance it belongs to)")
        return self


def load_dashboard_config(path: str | Path | None, overrides: dict | None = None) -> DashboardConfig:
    """The YAML file (none: every default), then command-line overrides; validated together."""
    data: dict = {}
    if path is not None:
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as error:
            raise ConfigError(f"{path}: {error}") from error
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of settings")
    try:
        return DashboardConfig.model_validate({**data, **(overrides or {})})
    except ValidationError as error:
        raise ConfigError(f"{path or 'dashboard settings'}: {describe(error, 'docs/dashboard.md')}") from error


def secret_key(cfg: DashboardConfig) -> str:
    """From $LSI_DASHBOARD_SECRET_KEY, else a file created once with a random key (mode 0600)."""
    if os.environ.get("LSI_DASHBOARD_SECRET_KEY"):
        return os.environ["LSI_DASHBOARD_SECRET_KEY"]
    path = cfg.secret_key_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def reference_markdown() -> str:
    """docs/dashboard.md: every dashboard setting, generated from DashboardConfig."""
    return schema_reference(DashboardConfig, [
        "# Dashboard configuration reference", "",
        "The teacher dashboard (`lsi-dashboard --config FILE`, or `lsi-edge dashboard`; the `lsi-dashboard` "
        "service reads",
        "`/etc/lsi-edge/dashboard.yaml`) takes one YAML file of the keys below. Every key is optional;",
        "unknown keys and bad values stop start-up with a message naming the key. State (the database",
        "and the session key) goes to the data directory: `$LSI_EDGE_DATA_DIR`, else `/var/lib/lsi-dashboard`",
        "for the service, else `~/.local/share/lsi-edge`.",
        "This page is generated from `dashboard/config.py` (`python -m dashboard.config > docs/dashboard.md`).", ""])


if __name__ == "__main__":
    print(reference_markdown())
