"""Initial schema: sessions, segments, windows, alerts, outbox.

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
        "sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("device_id", sa.String(64), nullable=False, index=True),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False, index=True),
        sa.Column("ended_at", sa.Float, nullable=True),
    )
    op.create_table(
        "segments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.String(64), nullable=False, index=True),
        sa.Column("session_id", sa.String(32), nullable=True, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("start", sa.Float, nullable=False, index=True),
        sa.Column("end", sa.Float, nullable=True),
        sa.Column("summary", sa.JSON, nullable=True),
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
        sa.UniqueConstraint("device_id", "seq", name="uq_windows_device_seq"),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.String(64), nullable=False, index=True),
        sa.Column("session_id", sa.String(32), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("timestamp", sa.Float, nullable=False, index=True),
        sa.Column("payload", sa.JSON, nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False, index=True),
        sa.Column("delivered_at", sa.Float, nullable=True, index=True),
        sa.Column("given_up", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    for table in ("outbox", "alerts", "windows", "segments", "sessions"):
        op.drop_table(table)
