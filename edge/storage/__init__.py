"""Local storage of aggregates (SQLAlchemy; SQLite by default, PostgreSQL by URL) and the outbox."""

from edge.storage.store import OutboxMessage, Store

__all__ = ["OutboxMessage", "Store"]
