"""Dashboard settings (validated; unknown keys are errors)."""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from edge.config import ConfigError
from edge.paths import data_dir


class DashboardConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    database_url: str = Field(None, validate_default=True,
                              description="SQLAlchemy URL (PostgreSQL for a school); default: SQLite file "
                                          "lsi-dashboard.db in the data directory")
    mqtt_host: str = Field("localhost", description="broker the appliances publish to")
    mqtt_port: int = Field(1883, ge=1, le=65535, description="broker port")
    mqtt_client_id: str = Field(None, validate_default=True, min_length=1, max_length=64,
                                description="MQTT client id; must stay the same across restarts, so the broker "
                                            "keeps the feed for the dashboard while it is down "
                                            "(default: lsi-dashboard-<host name>)")
    mqtt_username: str | None = Field(None, description="broker user name")
    mqtt_password_file: Path | None = Field(None, description="file holding the broker password (first line), "
                                                              "e.g. a systemd credential; never logged")
    topic_prefix: str = Field("lsi", description="first topic level of the feed (the appliances' mqtt.topic_prefix)")
    host: str = Field("0.0.0.0", description="address the web server listens on (the school LAN)")
    port: int = Field(8080, ge=1, le=65535, description="web server port")
    secret_key_file: Path = Field(None, validate_default=True,
                                  description="session-signing key, created with a random key if absent "
                                              "(default: lsi-dashboard.secret in the data directory; "
                                              "$LSI_DASHBOARD_SECRET_KEY wins)")
    secure_cookies: bool = Field(False, description="true when served over HTTPS (behind a TLS proxy)")
    login_attempts: int = Field(5, ge=1, description="failed logins per 5 minutes per address before 429")
    command_timeout_seconds: float = Field(5.0, gt=0, description="how long a command waits for the device's answer")

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


def load_dashboard_config(path: str | Path | None) -> DashboardConfig:
    if path is None:
        return DashboardConfig()
    try:
        return DashboardConfig.model_validate(yaml.safe_load(Path(path).read_text()) or {})
    except (OSError, yaml.YAMLError, ValidationError) as error:
        raise ConfigError(f"{path}: {error}") from error


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
    from edge.config import reference_markdown as schema_reference

    return schema_reference(DashboardConfig, [
        "# Dashboard configuration reference", "",
        "The teacher dashboard (`lsi-edge dashboard --config FILE`, the `lsi-dashboard` service reads",
        "`/etc/lsi-edge/dashboard.yaml`) takes one YAML file of the keys below. Every key is optional;",
        "unknown keys and bad values stop start-up with a message naming the key. State (the database",
        "and the session key) goes to the data directory: `$LSI_EDGE_DATA_DIR`, else `/var/lib/lsi-dashboard`",
        "for the service, else `~/.local/share/lsi-edge`.",
        "This page is generated from `dashboard/config.py` (`python -m dashboard.config > docs/dashboard.md`).", ""])


if __name__ == "__main__":
    print(reference_markdown())
