"""The SQLite pin store: one file in WAL mode, safe across threads and processes.

The store creates its tables and migrates a file written by an older datever
on opening it; ``datever_schema`` records the schema version.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Self

import pendulum

from datever.pins import (
    Pin,
    PinAction,
    PinError,
    PinEvent,
    _key,
    _required,
    _rolled_back,
    _upgraded,
    _utc,
    dated_order,
)

__all__ = ["SCHEMA_VERSION", "SQLitePinStore"]

SCHEMA_VERSION = 2
"""The pin schema this datever writes: 1 held the pins alone, 2 added their history."""

#: MIGRATIONS[n] takes a database from schema n to n + 1 (0: an empty file).
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    ("CREATE TABLE datever_pins (account TEXT PRIMARY KEY, version TEXT NOT NULL, "
     "pinned_at TEXT NOT NULL, previous TEXT, previous_at TEXT) WITHOUT ROWID",),
    ("CREATE TABLE datever_pin_history (id INTEGER PRIMARY KEY, account TEXT NOT NULL, "
     "version TEXT NOT NULL, action TEXT NOT NULL, at TEXT NOT NULL)",
     "CREATE INDEX datever_pin_history_account ON datever_pin_history (account, id)",
     # schema 1 kept only the pin in force: its history starts with what the
     # pin records (the first pin, and the last upgrade when there is one)
     "INSERT INTO datever_pin_history (account, version, action, at) SELECT account, "
     "COALESCE(previous, version), 'pinned', pinned_at FROM datever_pins",
     "INSERT INTO datever_pin_history (account, version, action, at) SELECT account, "
     "version, 'upgraded', previous_at FROM datever_pins WHERE previous IS NOT NULL",
     "CREATE TABLE datever_schema (version INTEGER NOT NULL)"),
)
_COLUMNS = "account, version, pinned_at, previous, previous_at"


def _text(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="microseconds")


def _moment(text: str) -> dt.datetime:
    return pendulum.instance(dt.datetime.fromisoformat(text)).in_timezone("UTC")


def _row_pin(row: tuple[str, str, str, str | None, str | None]) -> Pin:
    return Pin(row[0], row[1], _moment(row[2]), row[3],
               None if row[4] is None else _moment(row[4]))


def schema_version(db: sqlite3.Connection) -> int:
    """The pin schema version of an open SQLite database (0: no pin tables yet)."""
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = "
                                             "'table' AND name LIKE 'datever_%'")}
    if "datever_schema" in tables:
        row = db.execute("SELECT MAX(version) FROM datever_schema").fetchone()
        return int(row[0] or 0)
    return 1 if "datever_pins" in tables else 0


class SQLitePinStore:
    """Pins in one SQLite file (WAL mode): safe across threads and processes.

    Writes run in ``BEGIN IMMEDIATE`` transactions, so concurrent first
    requests from any number of processes all see the same pin. Opening a
    file written by an older datever migrates it to :data:`SCHEMA_VERSION`.
    """

    def __init__(self, path: str | os.PathLike[str], order: Callable[[str], Any] = dated_order,
                 *, timeout: float = 10.0) -> None:
        self.order = order
        self.path = os.fspath(path)
        # One connection behind a lock, not one per thread: close() then closes
        # every connection the store opened (per-thread connections would leak
        # from finished threads), ":memory:" stays one database, and pin writes
        # are rare and serialised by SQLite anyway. Other processes use their
        # own connections; WAL and BEGIN IMMEDIATE make those safe.
        self._lock = threading.Lock()
        # isolation_level=None: we issue BEGIN IMMEDIATE / COMMIT ourselves.
        self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None,
                                   check_same_thread=False)
        try:
            self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._db.execute("PRAGMA journal_mode = WAL")
            with self._immediate() as db:
                self._migrate(db)
        except BaseException:
            self._db.close()
            raise

    def _migrate(self, db: sqlite3.Connection) -> None:
        found = schema_version(db)
        if found > SCHEMA_VERSION:
            raise PinError(f"{self.path}: the pin tables are at schema version {found}, "
                           f"written by a newer datever (this one knows up to "
                           f"{SCHEMA_VERSION}); upgrade datever to open them")
        for step in MIGRATIONS[found:]:
            for statement in step:
                db.execute(statement)
        if found < SCHEMA_VERSION:
            db.execute("DELETE FROM datever_schema")
            db.execute("INSERT INTO datever_schema (version) VALUES (?)", (SCHEMA_VERSION,))

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds SQLite's write lock from its first statement."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def _select(self, db: sqlite3.Connection, account: str) -> Pin | None:
        row = db.execute(f"SELECT {_COLUMNS} FROM datever_pins WHERE account = ?",
                         (account,)).fetchone()
        return None if row is None else _row_pin(row)

    def _write(self, db: sqlite3.Connection, pin: Pin, action: PinAction,
               at: dt.datetime) -> None:
        db.execute("UPDATE datever_pins SET version = ?, previous = ?, previous_at = ? "
                   "WHERE account = ?",
                   (pin.version, pin.previous, _text(pin.previous_at), pin.account))
        self._log(db, pin.account, pin.version, action, at)

    def _log(self, db: sqlite3.Connection, account: str, version: str, action: PinAction,
             at: dt.datetime) -> None:
        db.execute("INSERT INTO datever_pin_history (account, version, action, at) "
                   "VALUES (?, ?, ?, ?)", (account, version, action, _text(at)))

    def get(self, account: str) -> Pin | None:
        """The account's pin, or None when it has none."""
        with self._lock:
            return self._select(self._db, account)

    def pin_first(self, account: str, version: str, *, now: dt.datetime | None = None) -> Pin:
        """Pin the account to ``version`` unless it is pinned; return the pin in force."""
        _key(self.order, version)
        at = _utc(now)
        with self._immediate() as db:
            inserted = db.execute(
                f"INSERT INTO datever_pins ({_COLUMNS}) VALUES (?, ?, ?, NULL, NULL) "
                "ON CONFLICT(account) DO NOTHING", (account, version, _text(at))).rowcount
            if inserted:
                self._log(db, account, version, "pinned", at)
            pin = self._select(db, account)
        assert pin is not None
        return pin

    def upgrade(self, account: str, version: str, *, now: dt.datetime | None = None) -> Pin:
        """Move the pin to a newer ``version``, remembering the old one for rollback."""
        at = _utc(now)
        with self._immediate() as db:
            pin = _upgraded(_required(self._select(db, account), account, "upgrade"),
                            version, self.order, at)
            self._write(db, pin, "upgraded", at)
        return pin

    def rollback(self, account: str, *, now: dt.datetime | None = None) -> Pin:
        """Restore the version before the last upgrade, if it was under 72 hours ago."""
        at = _utc(now)
        with self._immediate() as db:
            pin = _rolled_back(_required(self._select(db, account), account, "roll back"), at)
            self._write(db, pin, "rolled_back", at)
        return pin

    def delete(self, account: str) -> None:
        """Forget the account's pin and its history (nothing happens when it has none)."""
        with self._immediate() as db:
            db.execute("DELETE FROM datever_pins WHERE account = ?", (account,))
            db.execute("DELETE FROM datever_pin_history WHERE account = ?", (account,))

    def history(self, account: str) -> list[PinEvent]:
        """Every change of the account's pin, oldest first, newest last (empty: none)."""
        with self._lock:
            rows = self._db.execute("SELECT version, action, at FROM datever_pin_history "
                                    "WHERE account = ? ORDER BY id", (account,)).fetchall()
        return [PinEvent(version, action, _moment(at)) for version, action, at in rows]

    def __len__(self) -> int:
        """The number of pinned accounts."""
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM datever_pins").fetchone()
            return int(count)

    def close(self) -> None:
        """Close the database connection; the store cannot be used afterwards."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        """The store itself; leaving the block closes it."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the store."""
        self.close()

    def __repr__(self) -> str:
        return f"<SQLitePinStore {self.path!r}>"
