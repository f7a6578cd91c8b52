"""Alembic environment of the dashboard's database: the connection comes from dashboard.models.migrate()."""

from alembic import context

from dashboard.models import VERSION_TABLE, Base

context.configure(connection=context.config.attributes["connection"], target_metadata=Base.metadata,
                  render_as_batch=True, version_table=VERSION_TABLE)
context.run_migrations()
