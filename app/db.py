"""The psycopg 3 connection pool for hot read paths (features, tiles, proposal SQL)."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from app.settings import DatabaseSettings
from geo.errors import DomainError


class DatabaseUnavailable(DomainError):
    status = 503
    code = "OperationProcessingFailed"
    title = "Base de datos no disponible"


UNAVAILABLE = "La base de datos no responde; intente de nuevo en unos segundos."
# A connection idle longer than this is checked with a round trip before it is lent (one
# left from before a database restart is then replaced, unseen). A busier one is lent as it
# is: the check doubled the round trips of a cached tile; if the server went away meanwhile,
# the query fails, the request gets a 503 and the pool drops the broken connection.
CHECK_AFTER_IDLE_S = 1.0


class Database:
    """A pool that checks connections before use, so it recovers after a database restart."""

    def __init__(self, settings: DatabaseSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._opened = False
        self._returned: weakref.WeakKeyDictionary[psycopg.Connection, float] = (
            weakref.WeakKeyDictionary()
        )
        self.pool = self._new_pool()

    def _new_pool(self) -> ConnectionPool:
        settings = self.settings
        return ConnectionPool(
            settings.url,
            min_size=settings.pool_min,
            max_size=settings.pool_max,
            kwargs={
                "autocommit": True,
                "connect_timeout": int(settings.connect_timeout_s),
                "options": f"-c statement_timeout={settings.statement_timeout_ms}",
            },
            check=self._check_if_idle,
            timeout=settings.connect_timeout_s,
            open=False,
            name="distritos",
        )

    def _check_if_idle(self, conn: psycopg.Connection) -> None:
        returned = self._returned.get(conn)
        if returned is None or time.monotonic() - returned > CHECK_AFTER_IDLE_S:
            ConnectionPool.check_connection(conn)

    def open(self) -> None:
        """Open the pool; a closed pool is replaced (an app may be started more than once,
        e.g. by several test clients, and psycopg pools cannot be reopened)."""
        with self._lock:
            if self.pool.closed and self._opened:
                self.pool = self._new_pool()
            if self.pool.closed:
                self.pool.open(wait=False)
                self._opened = True

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection, or 503 when the database cannot be reached.

        Only an unreachable server or a connection broken under us becomes 503; any other
        database error raised by the caller's queries propagates as it is.
        """
        if self.pool.closed:
            self.open()
        try:
            conn = self.pool.getconn()
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise DatabaseUnavailable(UNAVAILABLE) from exc
        try:
            yield conn
        except psycopg.OperationalError as exc:
            if conn.broken or conn.closed:
                raise DatabaseUnavailable(UNAVAILABLE) from exc
            raise
        finally:
            # The pool rolls back an open transaction and discards a broken connection.
            self._returned[conn] = time.monotonic()
            self.pool.putconn(conn)
