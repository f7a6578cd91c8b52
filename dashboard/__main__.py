"""`lsi-dashboard` (also `python -m dashboard`): serve the teacher dashboard, or create an account.

Settings come from --config YAML and the flags below, validated together by DashboardConfig.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import signal
import sys
from pathlib import Path

from lsi_contract.logs import LEVELS, setup_logging
from lsi_contract.settings import ConfigError

log = logging.getLogger("lsi_dashboard")

# Flags that set configuration keys (validated by the same schema as the YAML).
CONFIG_FLAGS = ("host", "port", "database_url", "mqtt_host", "mqtt_port", "local_device_id", "local_token_file")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lsi-dashboard", description="LSI Edge teacher dashboard")
    parser.add_argument("action", nargs="?", default="serve", choices=("serve", "create-user"),
                        help="serve (default) or create-user")
    parser.add_argument("--config", type=Path, help="dashboard YAML (every key: docs/dashboard.md)")
    settings = parser.add_argument_group("settings (override the YAML; docs/dashboard.md)")
    settings.add_argument("--host", help="address to listen on")
    settings.add_argument("--port", type=int, help="web server port")
    settings.add_argument("--database-url", help="SQLAlchemy URL of the dashboard's database")
    settings.add_argument("--mqtt-host", help="broker host")
    settings.add_argument("--mqtt-port", type=int, help="broker port")
    settings.add_argument("--local-device-id", help="the appliance on this machine (approved by itself)")
    settings.add_argument("--local-token-file", type=Path, help="that appliance's command token file")
    users = parser.add_argument_group("create-user")
    users.add_argument("--username", help="the new user's name")
    users.add_argument("--role", default="admin", choices=("admin", "teacher"), help="role (default admin)")
    users.add_argument("--password-env", default="LSI_DASHBOARD_PASSWORD",
                       help="environment variable with the password (else prompted)")
    parser.add_argument("--log-level", choices=LEVELS, default="info", help="least severe messages logged")
    parser.add_argument("--log-json", action="store_true", help="one JSON object per log line on stderr")
    return parser


def _create_user(cfg, args) -> int:
    from dashboard.auth import create_user
    from dashboard.models import open_database

    if not args.username:
        raise ValueError("create-user needs --username")
    password = os.environ.get(args.password_env) or getpass.getpass(f"password for {args.username}: ")
    _, sessions = open_database(cfg.database_url)
    create_user(sessions, args.username, password, args.role)
    print(f"created {args.role} {args.username}")
    return 0


def _serve(cfg) -> int:
    from waitress import create_server

    from dashboard import create_app

    app = create_app(cfg)
    server = create_server(app, host=cfg.host, port=cfg.port, threads=16, channel_timeout=120)

    def _stop(signum, _frame):
        log.info("%s: stopping", signal.Signals(signum).name)
        raise SystemExit(0)  # waitress ends its loop and its worker threads on SystemExit

    signal.signal(signal.SIGTERM, _stop)
    log.info("dashboard on http://%s:%d (feed: %s:%d%s)", cfg.host, cfg.port, cfg.mqtt_host, cfg.mqtt_port,
             f", local appliance {cfg.local_device_id}" if cfg.local_device_id else "")
    try:
        server.run()
    finally:  # the message being stored is finished and acknowledged; the rest waits at the broker
        app.config["INGEST"].stop()
        app.config["ENGINE"].dispose()
        log.info("dashboard stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    from dashboard.config import load_dashboard_config

    args = build_parser().parse_args(argv)
    setup_logging(args.log_level, args.log_json)
    try:
        overrides = {key: getattr(args, key) for key in CONFIG_FLAGS if getattr(args, key) is not None}
        cfg = load_dashboard_config(args.config, overrides)
        return _create_user(cfg, args) if args.action == "create-user" else _serve(cfg)
    except (ConfigError, ValueError, FileNotFoundError) as error:
        log.error("%s", error)
        return 2


if __name__ == "__main__":
    sys.exit(main())
