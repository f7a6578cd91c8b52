"""The devices' store epoch and one sequence across message kinds: windows are keyed on (device,
epoch, seq) (epoch '' for windows of boxes before epochs); segments and alerts keep their epoch
and seq, so that gaps are found in everything stored; each room remembers the holes its box could
no longer fill.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("windows") as batch:
        batch.add_column(sa.Column("epoch", sa.String(32), nullable=False, server_default=""))
        batch.drop_constraint("uq_dash_windows_device_seq", type_="unique")
        batch.create_unique_constraint("uq_dash_windows_device_epoch_seq", ["device_id", "epoch", "seq"])
    for table in ("segments", "alerts"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("epoch", sa.String(32), nullable=True))
            batch.add_column(sa.Column("seq", sa.Integer, nullable=True))
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("holes", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("holes")
    for table in ("segments", "alerts"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("seq")
            batch.drop_column("epoch")
    with op.batch_alter_table("windows") as batch:
        batch.drop_constraint("uq_dash_windows_device_epoch_seq", type_="unique")
        batch.create_unique_constraint("uq_dash_windows_device_seq", ["device_id", "seq"])
        batch.drop_column("epoch")
