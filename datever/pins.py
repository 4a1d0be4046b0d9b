"""Version pin stores: which API version each account is pinned to.

An account is pinned to the newest release on its first request, exactly once,
may upgrade, and may roll its last upgrade back within 72 hours (as Stripe does).
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Protocol, Self, runtime_checkable

import pendulum

from datever.errors import DateverError, VersionError
from datever.versions import parse_version

__all__ = ["ROLLBACK_WINDOW", "MemoryPinStore", "Pin", "PinError", "PinStore", "SQLitePinStore",
           "dated_order"]

ROLLBACK_WINDOW = pendulum.duration(hours=72)
"""How long after an upgrade the account may still roll it back."""


class PinError(DateverError):
    """A pin operation is not allowed: no pin, a version that is not newer, a closed window.

    ``account`` names the account concerned, when there is one.
    """

    def __init__(self, message: str, *, account: str | None = None) -> None:
        self.account = account
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Pin:
    """The version an account is pinned to.

    ``pinned_at`` is when the account was first pinned (UTC); ``previous`` is
    the version before the last upgrade and ``previous_at`` when that upgrade
    happened, both None when there is no upgrade to roll back.
    """

    account: str
    version: str
    pinned_at: dt.datetime
    previous: str | None = None
    previous_at: dt.datetime | None = None


def dated_order(version: str) -> tuple[int, dt.date]:
    """Sort key of a dated version name: ``v1``/``1`` first, then dates in date order.

    ``2021-06-07`` and ``v2021-06-07`` are equal; anything else raises PinError.
    """
    try:
        requested = parse_version(version)
    except VersionError:
        requested = None
    if requested is None or requested.kind == "head":
        raise PinError(f"{version!r} cannot be pinned: pin a release date YYYY-MM-DD "
                       "(or vYYYY-MM-DD), or v1 / 1 for the initial version; give the "
                       "store an order= function for other version schemes")
    if requested.kind == "initial":
        return (0, dt.date.min)
    assert requested.date is not None
    return (1, requested.date)


@runtime_checkable
class PinStore(Protocol):
    """Where pins live. Every method is atomic; ``now`` defaults to the current UTC time."""

    def get(self, account: str) -> Pin | None:
        """The account's pin, or None when it has none."""

    def pin_first(self, account: str, version: str, *, now: dt.datetime | None = None) -> Pin:
        """Pin the account to ``version`` unless it is pinned; return the pin in force."""

    def upgrade(self, account: str, version: str, *, now: dt.datetime | None = None) -> Pin:
        """Move the pin to a newer ``version``, remembering the old one for rollback."""

    def rollback(self, account: str, *, now: dt.datetime | None = None) -> Pin:
        """Restore the version before the last upgrade, if it was under 72 hours ago."""

    def delete(self, account: str) -> None:
        """Forget the account's pin (nothing happens when it has none)."""


def _utc(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return pendulum.now("UTC")
    if now.tzinfo is None or now.utcoffset() is None:
        raise PinError(f"now={now!r} has no time zone: pass an aware datetime such as "
                       "pendulum.now('UTC')")
    return pendulum.instance(now).in_timezone("UTC")


def _key(order: Callable[[str], Any], version: str) -> Any:
    """``order(version)``, with a custom order's lookup errors turned into PinError."""
    try:
        return order(version)
    except (LookupError, TypeError, ValueError) as exc:
        raise PinError(f"{version!r} is not a version this store's order knows "
                       f"({exc}); pin one of the versions it orders") from exc


def _required(pin: Pin | None, account: str, action: str) -> Pin:
    if pin is None:
        raise PinError(f"account {account!r} has no pin to {action}: pin it with "
                       "pin_first() on its first request", account=account)
    return pin


def _upgraded(pin: Pin, version: str, order: Callable[[str], Any], now: dt.datetime) -> Pin:
    if not _key(order, version) > _key(order, pin.version):
        raise PinError(f"cannot upgrade {pin.account!r} from {pin.version} to {version}: "
                       f"it is not newer; upgrade to a version after {pin.version}, or use "
                       "rollback() within 72 hours of an upgrade", account=pin.account)
    return replace(pin, version=version, previous=pin.version, previous_at=now)


def _rolled_back(pin: Pin, now: dt.datetime) -> Pin:
    if pin.previous is None or pin.previous_at is None:
        raise PinError(f"account {pin.account!r} (pinned to {pin.version}) has no upgrade "
                       "to roll back: only the last upgrade can be undone, within 72 hours "
                       "of it", account=pin.account)
    closed = pin.previous_at + ROLLBACK_WINDOW
    if now >= closed:
        raise PinError(f"cannot roll {pin.account!r} back from {pin.version} to "
                       f"{pin.previous}: the 72-hour window closed at {closed.isoformat()}; "
                       f"the account stays on {pin.version} and can only upgrade",
                       account=pin.account)
    return replace(pin, version=pin.previous, previous=None, previous_at=None)


class MemoryPinStore:
    """Pins in a dict guarded by a lock: for tests and single-process services."""

    def __init__(self, order: Callable[[str], Any] = dated_order) -> None:
        self.order = order
        self._pins: dict[str, Pin] = {}
        self._lock = threading.Lock()

    def get(self, account: str) -> Pin | None:
        """The account's pin, or None when it has none."""
        with self._lock:
            return self._pins.get(account)

    def pin_first(self, account: str, version: str, *, now: dt.datetime | None = None) -> Pin:
        """Pin the account to ``version`` unless it is pinned; return the pin in force."""
        _key(self.order, version)
        pin = Pin(account, version, _utc(now))
        with self._lock:
            return self._pins.setdefault(account, pin)

    def upgrade(self, account: str, version: str, *, now: dt.datetime | None = None) -> Pin:
        """Move the pin to a newer ``version``, remembering the old one for rollback."""
        at = _utc(now)
        with self._lock:
            pin = _upgraded(_required(self._pins.get(account), account, "upgrade"),
                            version, self.order, at)
            self._pins[account] = pin
            return pin

    def rollback(self, account: str, *, now: dt.datetime | None = None) -> Pin:
        """Restore the version before the last upgrade, if it was under 72 hours ago."""
        at = _utc(now)
        with self._lock:
            pin = _rolled_back(_required(self._pins.get(account), account, "roll back"), at)
            self._pins[account] = pin
            return pin

    def delete(self, account: str) -> None:
        """Forget the account's pin (nothing happens when it has none)."""
        with self._lock:
            self._pins.pop(account, None)

    def __len__(self) -> int:
        """The number of pinned accounts."""
        with self._lock:
            return len(self._pins)


_SCHEMA = ("CREATE TABLE IF NOT EXISTS datever_pins (account TEXT PRIMARY KEY, version TEXT "
           "NOT NULL, pinned_at TEXT NOT NULL, previous TEXT, previous_at TEXT) WITHOUT ROWID")
_COLUMNS = "account, version, pinned_at, previous, previous_at"


def _text(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="microseconds")


def _moment(text: str | None) -> dt.datetime | None:
    return None if text is None else pendulum.instance(
        dt.datetime.fromisoformat(text)).in_timezone("UTC")


def _row_pin(row: tuple[str, str, str, str | None, str | None]) -> Pin:
    pinned_at = _moment(row[2])
    assert pinned_at is not None
    return Pin(row[0], row[1], pinned_at, row[3], _moment(row[4]))


class SQLitePinStore:
    """Pins in one SQLite file (WAL mode): safe across threads and processes.

    Writes run in ``BEGIN IMMEDIATE`` transactions, so concurrent first
    requests from any number of processes all see the same pin.
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
            self._db.execute(_SCHEMA)
        except BaseException:
            self._db.close()
            raise

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

    def _write(self, db: sqlite3.Connection, pin: Pin) -> None:
        db.execute("UPDATE datever_pins SET version = ?, previous = ?, previous_at = ? "
                   "WHERE account = ?",
                   (pin.version, pin.previous, _text(pin.previous_at), pin.account))

    def get(self, account: str) -> Pin | None:
        """The account's pin, or None when it has none."""
        with self._lock:
            return self._select(self._db, account)

    def pin_first(self, account: str, version: str, *, now: dt.datetime | None = None) -> Pin:
        """Pin the account to ``version`` unless it is pinned; return the pin in force."""
        _key(self.order, version)
        at = _utc(now)
        with self._immediate() as db:
            db.execute(f"INSERT INTO datever_pins ({_COLUMNS}) VALUES (?, ?, ?, NULL, NULL) "
                       "ON CONFLICT(account) DO NOTHING", (account, version, _text(at)))
            pin = self._select(db, account)
        assert pin is not None
        return pin

    def upgrade(self, account: str, version: str, *, now: dt.datetime | None = None) -> Pin:
        """Move the pin to a newer ``version``, remembering the old one for rollback."""
        at = _utc(now)
        with self._immediate() as db:
            pin = _upgraded(_required(self._select(db, account), account, "upgrade"),
                            version, self.order, at)
            self._write(db, pin)
        return pin

    def rollback(self, account: str, *, now: dt.datetime | None = None) -> Pin:
        """Restore the version before the last upgrade, if it was under 72 hours ago."""
        at = _utc(now)
        with self._immediate() as db:
            pin = _rolled_back(_required(self._select(db, account), account, "roll back"), at)
            self._write(db, pin)
        return pin

    def delete(self, account: str) -> None:
        """Forget the account's pin (nothing happens when it has none)."""
        with self._immediate() as db:
            db.execute("DELETE FROM datever_pins WHERE account = ?", (account,))

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
