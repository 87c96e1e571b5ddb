"""Column types that behave the same on PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

__all__ = ["JsonDoc", "UtcDateTime"]


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC instants in and out, on both backends.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so values are normalised to
    UTC before they are written and marked UTC when read back.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSON documents: ``jsonb`` on PostgreSQL (indexable, compact), JSON text on SQLite.
JsonDoc: sa.types.TypeEngine[Any] = sa.JSON().with_variant(JSONB(), "postgresql")
