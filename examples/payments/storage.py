"""SQLite storage: every resource as its head-shape JSON, in one table keyed by id.

The service only ever reads and writes head shapes; the versioning middleware
turns them into each client's shape on the way out. One connection behind a
lock is plenty for an example (SQLite serialises writes anyway).
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeAlias

import msgspec

from datever import SQLitePinStore
from datever.pins import Pin

if TYPE_CHECKING:
    from examples.payments.pins_pg import ClockedPostgresPins

Json = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    id     TEXT PRIMARY KEY,
    object TEXT NOT NULL,
    body   TEXT NOT NULL
)
"""
_BY_OBJECT = "CREATE INDEX IF NOT EXISTS resources_by_object ON resources (object)"


class Store:
    """Head-shaped resources in the SQLite file ``path`` (``:memory:`` works too)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._lock = threading.RLock()  # reads inside a transaction() re-enter it
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute(_SCHEMA)
            self._db.execute(_BY_OBJECT)
        except BaseException:
            self._db.close()
            raise

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block's reads and writes as one atomic transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def get(self, resource_id: str, kind: str | None = None) -> Json | None:
        """The resource with this id (of this ``object`` kind, when given), or None."""
        with self._lock:
            row = self._db.execute("SELECT object, body FROM resources WHERE id = ?",
                                   (resource_id,)).fetchone()
        if row is None or (kind is not None and row[0] != kind):
            return None
        body: Json = msgspec.json.decode(row[1])
        return body

    def put(self, resource: Json) -> None:
        """Insert or replace ``resource`` (it has an ``id`` and an ``object``)."""
        body = msgspec.json.encode(resource).decode()
        with self._lock:
            self._db.execute(
                "INSERT INTO resources (id, object, body) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                (resource["id"], resource["object"], body))

    def all(self, kind: str, limit: int = 100) -> list[Json]:
        """The newest ``limit`` resources of one kind, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM resources WHERE object = ? ORDER BY rowid DESC LIMIT ?",
                (kind, limit)).fetchall()
        return [msgspec.json.decode(row[0]) for row in rows]

    def close(self) -> None:
        """Close the connection."""
        self._db.close()


class Clocked:
    """A pin store whose calls that name no time take it from ``self.clock``.

    The selector pins an account on its first request without naming a time;
    a store with this mixin takes it from the service's clock, so a fixed
    clock gives fixed ``pinned_at`` times. It comes first among the bases,
    before the store it times.
    """

    clock: Callable[[], dt.datetime]

    def pin_first(self, account: str, version: str, *, now: dt.datetime | None = None) -> Pin:
        """Pin ``account`` to ``version`` unless it is pinned already; return its pin."""
        return super().pin_first(account, version, now=now or self.clock())  # type: ignore[misc]

    def upgrade(self, account: str, version: str, *, now: dt.datetime | None = None) -> Pin:
        """Move the pin of ``account`` forward to ``version``."""
        return super().upgrade(account, version, now=now or self.clock())  # type: ignore[misc]

    def rollback(self, account: str, *, now: dt.datetime | None = None) -> Pin:
        """Undo the last upgrade of ``account``, within the rollback window."""
        return super().rollback(account, now=now or self.clock())  # type: ignore[misc]


class ClockedPins(Clocked, SQLitePinStore):
    """Version pins in the SQLite file ``path``, timed by ``clock`` unless a call says
    ``now`` (see :class:`Clocked`)."""

    def __init__(self, path: str | os.PathLike[str], clock: Callable[[], dt.datetime]) -> None:
        super().__init__(path)
        self.clock = clock


Pins: TypeAlias = "ClockedPins | ClockedPostgresPins"
"""A pin store of the service: SQLite, or PostgreSQL for a fleet."""


def open_pins(target: str | os.PathLike[str],
              clock: Callable[[], dt.datetime]) -> ClockedPins | ClockedPostgresPins:
    """The pin store ``target`` names: PostgreSQL for a ``postgresql://`` URL (shared by
    a fleet of processes), else a SQLite file."""
    if isinstance(target, str) and target.startswith(("postgresql://", "postgres://")):
        from examples.payments.pins_pg import ClockedPostgresPins

        return ClockedPostgresPins(target, clock)
    return ClockedPins(target, clock)
