"""The store's epoch (a random id made with the database, so that a sequence restarted by a new
database is told apart from the old one) and one sequence across windows, segment summaries and
alerts (segments and alerts get a seq; rows stored before keep none).

Revision ID: 0002
Revises: 0001
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    meta = op.create_table("store_meta", sa.Column("key", sa.String(32), primary_key=True),
                           sa.Column("value", sa.String(200), nullable=False))
    op.bulk_insert(meta, [{"key": "epoch", "value": secrets.token_hex(8)}])
    for table in ("segments", "alerts"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("seq", sa.Integer, nullable=True))


def downgrade() -> None:
    for table in ("segments", "alerts"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("seq")
    op.drop_table("store_meta")
