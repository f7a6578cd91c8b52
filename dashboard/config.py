"""Dashboard settings (validated; unknown keys are errors)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge.config import ConfigError


class DashboardConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    database_url: str = Field("sqlite:///lsi-dashboard.db", description="SQLAlchemy URL (PostgreSQL for a school)")
    mqtt_host: str = "localhost"
    mqtt_port: int = Field(1883, ge=1, le=65535)
    topic_prefix: str = "lsi"
    host: str = Field("0.0.0.0", description="address the web server listens on (the school LAN)")
    port: int = Field(8080, ge=1, le=65535)
    secret_key_file: Path = Field(Path("lsi-dashboard.secret"), description="created with a random key if absent")
    secure_cookies: bool = Field(False, description="true when served over HTTPS (behind a TLS proxy)")
    login_attempts: int = Field(5, ge=1, description="failed logins per 5 minutes per address before 429")
    command_timeout_seconds: float = Field(5.0, gt=0)


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
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
