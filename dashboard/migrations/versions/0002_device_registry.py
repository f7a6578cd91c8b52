"""The rooms table becomes the registry of devices: each is waiting for approval, approved,
rejected or revoked; the command token an admin entered; what a device not approved sent (counts
only). Rooms that existed are approved (they were in use). Stored state and stats snapshots are
dropped: they were stored unchecked, and each device's next retained state replaces them.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("approval", sa.String(16), nullable=False, server_default="approved"))
        batch.add_column(sa.Column("command_token", sa.String(256), nullable=True))
        batch.add_column(sa.Column("first_seen", sa.Float, nullable=True))
        batch.add_column(sa.Column("received", sa.JSON, nullable=True))
    op.execute("UPDATE rooms SET state = NULL, stats = NULL, first_seen = last_seen")


def downgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        for column in ("received", "first_seen", "command_token", "approval"):
            batch.drop_column(column)
