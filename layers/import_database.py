"""Where an import writes: one transaction on Django's connection, or on a psycopg connection
of its own when given a URL (the `distritos import` command, which then never starts Django).

Both hand the template a raw psycopg cursor; the SQL is the same either way, including the
ImportBatch row, so the two paths cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg
from psycopg.types.json import Jsonb


class ImportDatabase:
    """One import's transaction: `transaction()` yields its cursor, `savepoint()` nests,
    `discard()` rolls the whole transaction back at its end (a dry run)."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url
        self.connection: psycopg.Connection | None = None
        self._discard = False

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Cursor]:
        self._discard = False
        if self.url is None:
            yield from self._django_transaction()
            return
        with psycopg.connect(self.url, autocommit=True) as connection:
            self.connection = connection
            try:
                with connection.transaction(), connection.cursor() as cursor:
                    yield cursor
                    if self._discard:
                        raise psycopg.Rollback()
            finally:
                self.connection = None

    def _django_transaction(self) -> Iterator[psycopg.Cursor]:
        from django.db import connection, transaction

        with transaction.atomic():
            connection.ensure_connection()
            with connection.connection.cursor() as cursor:
                yield cursor
            if self._discard:
                transaction.set_rollback(True)

    def savepoint(self) -> AbstractContextManager[Any]:
        """A nested block whose failure undoes only itself."""
        if self.connection is None:
            from django.db import transaction

            return transaction.atomic()
        return self.connection.transaction()

    def discard(self) -> None:
        """Roll back everything when the transaction ends (nothing of it is kept)."""
        self._discard = True


def create_batch(
    cursor: psycopg.Cursor, layer: str, file_name: str, source_layer: str, user: str
) -> int:
    """A new ImportBatch row (provenance of every row the import writes); its id."""
    cursor.execute(
        'INSERT INTO layers_importbatch (layer, file_name, source_layer, checksum, "user", '
        "started_at, counts) VALUES (%s, %s, %s, '', %s, clock_timestamp(), '{}') RETURNING id",
        [layer, file_name, source_layer, user],
    )
    return int(cursor.fetchone()[0])


def finish_batch(
    cursor: psycopg.Cursor, batch_id: int, counts: dict[str, Any], checksum: str
) -> None:
    """Close an ImportBatch: end time, counts and the file's checksum."""
    cursor.execute(
        "UPDATE layers_importbatch SET finished_at = clock_timestamp(), counts = %s, "
        "checksum = %s WHERE id = %s",
        [Jsonb(counts), checksum, batch_id],
    )


def column_limits(cursor: psycopg.Cursor, table: str) -> dict[str, int]:
    """Declared lengths of the table's varchar columns, from the catalogue."""
    cursor.execute(
        """
        SELECT attname, atttypmod - 4 FROM pg_attribute
        WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped
          AND atttypid = 'varchar'::regtype AND atttypmod > 4
        """,
        [table],
    )
    return {name: int(limit) for name, limit in cursor.fetchall()}
