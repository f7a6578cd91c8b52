"""The schema before migrations (what create_all made up to commit 256d63b): users, rooms,
sessions, windows, segments, alerts. A database made then is stamped with this revision.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
    )
    op.create_table(
        "rooms",
        sa.Column("device_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("teacher_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("availability", sa.String(16), nullable=False),
        sa.Column("state", sa.JSON, nullable=True),
        sa.Column("stats", sa.JSON, nullable=True),
        sa.Column("last_seen", sa.Float, nullable=True),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("device_id", sa.String(64), nullable=False, index=True),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("ended_at", sa.Float, nullable=True),
    )
    op.create_table(
        "windows",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.String(64), nullable=False, index=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("session_id", sa.String(32), nullable=True, index=True),
        sa.Column("window_start", sa.Float, nullable=False, index=True),
        sa.Column("window_end", sa.Float, nullable=False),
        sa.Column("faces", sa.Float, nullable=False),
        sa.Column("lsi", sa.Float, nullable=True),
        sa.Column("suppressed", sa.Boolean, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.UniqueConstraint("device_id", "seq", name="uq_dash_windows_device_seq"),
    )
    for table, unique in (("segments", ("device_id", "start", "kind")), ("alerts", ("device_id", "timestamp", "kind"))):
        time_column = "start" if table == "segments" else "timestamp"
        op.create_table(
            table,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("device_id", sa.String(64), nullable=False, index=True),
            sa.Column("session_id", sa.String(32), nullable=True, index=True),
            sa.Column("kind", sa.String(32), nullable=False),
            sa.Column(time_column, sa.Float, nullable=False),
            sa.Column("payload", sa.JSON, nullable=False),
            sa.UniqueConstraint(*unique, name=f"uq_dash_{table}"),
        )


def downgrade() -> None:
    for table in ("alerts", "segments", "windows", "sessions", "rooms", "users"):
        op.drop_table(table)
