"""The PostgreSQL pin store: one database shared by every process and host of a fleet.

The first pin of an account is one ``INSERT ... ON CONFLICT DO NOTHING``, so it
is made exactly once however many processes race for it; upgrades and
rollbacks lock the account's row, and announce the change on the
``datever_pins`` channel (LISTEN/NOTIFY) to every process that subscribed.
The sync methods draw on a psycopg ``ConnectionPool``, the async ones
(``aget``...) on an ``AsyncConnectionPool``: each is opened on first use.
Needs ``pip install 'datever[postgres]'``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Self

import pendulum

from datever.pins import (
    Pin,
    PinAction,
    PinError,
    PinEvent,
    PinStoreUnavailable,
    _key,
    _required,
    _rolled_back,
    _upgraded,
    _utc,
    dated_order,
)

try:
    import psycopg
    from psycopg_pool import AsyncConnectionPool, ConnectionPool
except ImportError as exc:  # pragma: no cover - the extra is installed wherever tests run
    raise ImportError("PostgreSQL pins need psycopg 3 and psycopg-pool: "
                      "pip install 'datever[postgres]'") from exc

from datever.pins_notify import CHANNEL, Listener  # after the check: it needs psycopg

__all__ = ["SCHEMA_VERSION", "PostgresPinStore"]

SCHEMA_VERSION = 2
"""The pin schema this datever writes: 1 held the pins alone, 2 added their history."""

#: MIGRATIONS[n] takes a database from schema n to n + 1 (0: no pin tables).
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    ("CREATE TABLE datever_pins (account text PRIMARY KEY, version text NOT NULL, "
     "pinned_at timestamptz NOT NULL, previous text, previous_at timestamptz)",),
    ("CREATE TABLE datever_pin_history (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
     "account text NOT NULL, version text NOT NULL, action text NOT NULL, "
     "at timestamptz NOT NULL)",
     "CREATE INDEX datever_pin_history_account ON datever_pin_history (account, id)",
     # schema 1 kept only the pin in force: its history starts with what the
     # pin records (the first pin, and the last upgrade when there is one)
     "INSERT INTO datever_pin_history (account, version, action, at) SELECT account, "
     "COALESCE(previous, version), 'pinned', pinned_at FROM datever_pins",
     "INSERT INTO datever_pin_history (account, version, action, at) SELECT account, "
     "version, 'upgraded', previous_at FROM datever_pins WHERE previous IS NOT NULL",
     "CREATE TABLE datever_schema (version integer NOT NULL)"),
)
_COLUMNS = "account, version, pinned_at, previous, previous_at"
_GET = f"SELECT {_COLUMNS} FROM datever_pins WHERE account = %s"
_LOCK = _GET + " FOR UPDATE"
# One statement: the pin and its first history entry are written together or not at all.
_PIN_FIRST = (
    "WITH inserted AS (INSERT INTO datever_pins (account, version, pinned_at) "
    "VALUES (%s, %s, %s) ON CONFLICT (account) DO NOTHING RETURNING account, version, "
    "pinned_at), logged AS (INSERT INTO datever_pin_history (account, version, action, at) "
    "SELECT account, version, 'pinned', pinned_at FROM inserted) "
    "SELECT account, version, pinned_at, NULL::text, NULL::timestamptz FROM inserted")
_UPDATE = ("UPDATE datever_pins SET version = %s, previous = %s, previous_at = %s "
           "WHERE account = %s")
_LOG = "INSERT INTO datever_pin_history (account, version, action, at) VALUES (%s, %s, %s, %s)"
_HISTORY = "SELECT version, action, at FROM datever_pin_history WHERE account = %s ORDER BY id"
_NOTIFY = f"SELECT pg_notify('{CHANNEL}', %s)"
_DELETE = ("DELETE FROM datever_pins WHERE account = %s",
           "DELETE FROM datever_pin_history WHERE account = %s", _NOTIFY)
# Processes that open the store at once wait for each other's migration.
_MIGRATION_LOCK = "SELECT pg_advisory_xact_lock(hashtext('datever_pins'))"
_TABLES = ("SELECT to_regclass('datever_schema') IS NOT NULL, "
           "to_regclass('datever_pins') IS NOT NULL")

Row = tuple[Any, ...]


def _moment(value: dt.datetime) -> dt.datetime:
    return pendulum.instance(value).in_timezone("UTC")


def _pin(row: Row | None) -> Pin | None:
    if row is None:
        return None
    return Pin(row[0], row[1], _moment(row[2]), row[3],
               None if row[4] is None else _moment(row[4]))


def _events(rows: Sequence[Row]) -> list[PinEvent]:
    return [PinEvent(version, action, _moment(at)) for version, action, at in rows]


def _write_params(pin: Pin, action: PinAction, at: dt.datetime) -> tuple[Row, Row]:
    return ((pin.version, pin.previous, pin.previous_at, pin.account),
            (pin.account, pin.version, action, at))


def migrate(conn: psycopg.Connection[Row], url: str) -> int:
    """Create or migrate the pin tables through ``conn``; the schema version found."""
    with conn.transaction():
        conn.execute(_MIGRATION_LOCK)
        row = conn.execute(_TABLES).fetchone()
        assert row is not None
        found = 0
        if row[0]:
            version = conn.execute("SELECT MAX(version) FROM datever_schema").fetchone()
            found = int(version[0] or 0) if version is not None else 0
        elif row[1]:
            found = 1
        if found > SCHEMA_VERSION:
            raise PinError(f"{_safe(url)}: the pin tables are at schema version {found}, "
                           f"written by a newer datever (this one knows up to "
                           f"{SCHEMA_VERSION}); upgrade datever to open them")
        for step in MIGRATIONS[found:]:
            for statement in step:
                conn.execute(statement)
        if found < SCHEMA_VERSION:
            conn.execute("DELETE FROM datever_schema")
            conn.execute("INSERT INTO datever_schema (version) VALUES (%s)", (SCHEMA_VERSION,))
    return found


def _unreachable(exc: psycopg.OperationalError) -> bool:
    """True when ``exc`` says the database cannot be reached: no connection to be had
    (client-side, no SQLSTATE), a connection exception (class 08), or the server
    shutting down or starting (57P01-57P03); a cancelled or locked statement is not."""
    state = exc.sqlstate
    return state is None or state.startswith(("08", "57P"))


def _safe(url: str) -> str:
    """The URL without its password, fit for an error message."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "the PostgreSQL database"
    return " ".join(f"{key}={value}" for key, value in info.items() if key != "password")


class PostgresPinStore:
    """Pins in a PostgreSQL database (``url``, a libpq URL or DSN), shared by a fleet.

    Both a sync :class:`~datever.pins.PinStore` and an async
    :class:`~datever.pins_async.AsyncPinStore` (``aget``, ``apin_first``...).
    ``max_size`` caps each pool's connections (the sync one and the async one,
    each opened on first use, with ``min_size`` kept open); ``timeout`` is how
    long, in seconds, to wait for a connection before failing. Opening the store
    creates the tables, or migrates those of an older datever, once however
    many processes open it at the same time. The async pool belongs to the
    event loop that first used it: :meth:`aclose` it there (at the app's
    shutdown).

    When the database cannot be reached, every method raises
    :class:`~datever.pins.PinStoreUnavailable`; for the next ``retry``
    seconds they raise it at once, without waiting on the pool, and then one
    call at a time tries the database again until it answers.
    """

    def __init__(self, url: str, order: Callable[[str], Any] = dated_order, *,
                 min_size: int = 1, max_size: int = 10, timeout: float = 10.0,
                 retry: float = 1.0) -> None:
        self.url = url
        self.order = order
        self.min_size = min_size
        self.max_size = max_size
        self.timeout = timeout
        self.retry = retry
        self._down_until: float | None = None  # set while the database is unreachable
        self._probing = False
        with psycopg.connect(url, connect_timeout=max(1, round(timeout))) as conn:
            #: the schema version the database was at when the store opened it
            self.found_schema = migrate(conn, url)
        self._pool: ConnectionPool[psycopg.Connection[Row]] | None = None
        self._pool_lock = threading.Lock()
        self._apool: AsyncConnectionPool[psycopg.AsyncConnection[Row]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Lock | None = None
        self._listener: Listener | None = None

    def subscribe(self, callback: Callable[[str | None], None]) -> None:
        """Call ``callback(account)`` each time any process upgrades, rolls back or
        deletes a pin in this database; ``callback(None)``: some may have been missed
        (the listener reconnected), forget them all.

        The calls come from a listener thread of the store's own, with a
        connection of its own; :meth:`close` stops it.
        """
        if self._listener is None:
            self._listener = Listener(self.url, self.timeout)
        self._listener.callbacks.append(callback)

    def _conninfo(self) -> dict[str, Any]:
        return {"min_size": self.min_size, "max_size": self.max_size,
                "timeout": self.timeout, "open": False,
                "kwargs": {"connect_timeout": max(1, round(self.timeout))}}

    def _sync(self) -> ConnectionPool[psycopg.Connection[Row]]:
        pool = self._pool
        if pool is not None:
            return pool
        with self._pool_lock:  # threads racing for the first call share one pool
            if self._pool is None:
                # each pool checks a connection as it hands it out: one cut by a
                # restart of the database is replaced instead of failing a call
                opened: ConnectionPool[psycopg.Connection[Row]] = ConnectionPool(
                    self.url, name="datever-pins", check=ConnectionPool.check_connection,
                    **self._conninfo())
                try:
                    opened.open(wait=True, timeout=self.timeout)
                except BaseException:
                    opened.close()  # its workers would go on trying to connect
                    raise
                self._pool = opened
            return self._pool

    async def _async(self) -> AsyncConnectionPool[psycopg.AsyncConnection[Row]]:
        loop = asyncio.get_running_loop()
        if self._apool is not None:
            if loop is not self._loop:
                raise PinError("this PostgresPinStore's async pool belongs to another event "
                               "loop: use one store per event loop")
            return self._apool
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._apool is None:
                pool: AsyncConnectionPool[psycopg.AsyncConnection[Row]] = AsyncConnectionPool(
                    self.url, name="datever-pins-async",
                    check=AsyncConnectionPool.check_connection, **self._conninfo())
                try:
                    await pool.open(wait=True, timeout=self.timeout)
                except BaseException:
                    await pool.close()  # its workers would go on trying to connect
                    raise
                self._apool, self._loop = pool, loop
        return self._apool

    def _unavailable(self, cause: str) -> PinStoreUnavailable:
        return PinStoreUnavailable(
            f"{_safe(self.url)} is unreachable ({cause}): pins cannot be read or written; "
            f"trying again in {self.retry:g} s", store=_safe(self.url),
            retry_after=self.retry)

    def _admit(self) -> bool:
        """Let a call try the database: PinStoreUnavailable at once while it is known to
        be down, unless this call is the one that finds out again (then True)."""
        if self._down_until is None:
            return False
        if self._probing or time.monotonic() < self._down_until:
            raise self._unavailable("it failed less than a retry interval ago")
        self._probing = True  # one call finds out; the others fail fast meanwhile
        return True

    def _went_down(self, exc: psycopg.OperationalError) -> PinStoreUnavailable:
        self._down_until = time.monotonic() + self.retry
        lines = str(exc).strip().splitlines()
        return self._unavailable(lines[0] if lines else type(exc).__name__)

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Row]]:
        """A connection of the sync pool, or PinStoreUnavailable (see :meth:`_admit`)."""
        probe = self._admit()
        try:
            with self._sync().connection() as conn:
                self._down_until = None
                yield conn
        except psycopg.OperationalError as exc:
            if not _unreachable(exc):
                raise
            raise self._went_down(exc) from exc
        finally:
            if probe:
                self._probing = False

    @asynccontextmanager
    async def _aconnection(self) -> AsyncIterator[psycopg.AsyncConnection[Row]]:
        """A connection of the async pool, or PinStoreUnavailable (see :meth:`_admit`)."""
        probe = self._admit()
        try:
            async with (await self._async()).connection() as conn:
                self._down_until = None
                yield conn
        except psycopg.OperationalError as exc:
            if not _unreachable(exc):
                raise
            raise self._went_down(exc) from exc
        finally:
            if probe:
                self._probing = False

    # -- sync -----------------------------------------------------------------

    def get(self, account: str) -> Pin | None:
        """The account's pin, or None when it has none."""
        with self._connection() as conn:
            return _pin(conn.execute(_GET, (account,)).fetchone())

    def pin_first(self, account: str, version: str, *, now: dt.datetime | None = None) -> Pin:
        """Pin the account to ``version`` unless it is pinned; return the pin in force."""
        _key(self.order, version)
        at = _utc(now)
        while True:  # a pin deleted between the two statements: try again
            with self._connection() as conn:
                pin = (_pin(conn.execute(_PIN_FIRST, (account, version, at)).fetchone())
                       or _pin(conn.execute(_GET, (account,)).fetchone()))
            if pin is not None:
                return pin

    def _change(self, account: str, action: PinAction, at: dt.datetime,
                change: Callable[[Pin], Pin]) -> Pin:
        with self._connection() as conn:
            pin = change(_required(_pin(conn.execute(_LOCK, (account,)).fetchone()), account,
                                   "upgrade" if action == "upgraded" else "roll back"))
            update, log = _write_params(pin, action, at)
            conn.execute(_UPDATE, update)
            conn.execute(_LOG, log)
            conn.execute(_NOTIFY, (account,))  # delivered on commit, never before
        return pin

    def upgrade(self, account: str, version: str, *, now: dt.datetime | None = None) -> Pin:
        """Move the pin to a newer ``version``, remembering the old one for rollback."""
        at = _utc(now)
        return self._change(account, "upgraded", at,
                            lambda pin: _upgraded(pin, version, self.order, at))

    def rollback(self, account: str, *, now: dt.datetime | None = None) -> Pin:
        """Restore the version before the last upgrade, if it was under 72 hours ago."""
        at = _utc(now)
        return self._change(account, "rolled_back", at, lambda pin: _rolled_back(pin, at))

    def delete(self, account: str) -> None:
        """Forget the account's pin and its history (nothing happens when it has none)."""
        with self._connection() as conn:
            for statement in _DELETE:
                conn.execute(statement, (account,))

    def history(self, account: str) -> list[PinEvent]:
        """Every change of the account's pin, oldest first, newest last (empty: none)."""
        with self._connection() as conn:
            return _events(conn.execute(_HISTORY, (account,)).fetchall())

    def __len__(self) -> int:
        """The number of pinned accounts."""
        with self._connection() as conn:
            row = conn.execute("SELECT COUNT(*) FROM datever_pins").fetchone()
        return int(row[0]) if row is not None else 0

    # -- async ----------------------------------------------------------------

    async def aget(self, account: str) -> Pin | None:
        """The account's pin, or None when it has none."""
        async with self._aconnection() as conn:
            return _pin(await (await conn.execute(_GET, (account,))).fetchone())

    async def apin_first(self, account: str, version: str, *,
                         now: dt.datetime | None = None) -> Pin:
        """Pin the account to ``version`` unless it is pinned; return the pin in force."""
        _key(self.order, version)
        at = _utc(now)
        while True:
            async with self._aconnection() as conn:
                pin = (_pin(await (await conn.execute(_PIN_FIRST, (account, version, at))
                                   ).fetchone())
                       or _pin(await (await conn.execute(_GET, (account,))).fetchone()))
            if pin is not None:
                return pin

    async def _achange(self, account: str, action: PinAction, at: dt.datetime,
                       change: Callable[[Pin], Pin]) -> Pin:
        async with self._aconnection() as conn:
            row = await (await conn.execute(_LOCK, (account,))).fetchone()
            pin = change(_required(_pin(row), account,
                                   "upgrade" if action == "upgraded" else "roll back"))
            update, log = _write_params(pin, action, at)
            await conn.execute(_UPDATE, update)
            await conn.execute(_LOG, log)
            await conn.execute(_NOTIFY, (account,))
        return pin

    async def aupgrade(self, account: str, version: str, *,
                       now: dt.datetime | None = None) -> Pin:
        """Move the pin to a newer ``version``, remembering the old one for rollback."""
        at = _utc(now)
        return await self._achange(account, "upgraded", at,
                                   lambda pin: _upgraded(pin, version, self.order, at))

    async def arollback(self, account: str, *, now: dt.datetime | None = None) -> Pin:
        """Restore the version before the last upgrade, if it was under 72 hours ago."""
        at = _utc(now)
        return await self._achange(account, "rolled_back", at,
                                   lambda pin: _rolled_back(pin, at))

    async def adelete(self, account: str) -> None:
        """Forget the account's pin and its history (nothing happens when it has none)."""
        async with self._aconnection() as conn:
            for statement in _DELETE:
                await conn.execute(statement, (account,))

    async def ahistory(self, account: str) -> list[PinEvent]:
        """Every change of the account's pin, oldest first, newest last (empty: none)."""
        async with self._aconnection() as conn:
            return _events(await (await conn.execute(_HISTORY, (account,))).fetchall())

    # -- closing --------------------------------------------------------------

    def close(self) -> None:
        """Close the sync pool and stop the listener (the async pool closes with
        :meth:`aclose`)."""
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    async def aclose(self) -> None:
        """Close both pools."""
        self.close()
        if self._apool is not None:
            pool, self._apool, self._loop = self._apool, None, None
            await pool.close()

    def __enter__(self) -> Self:
        """The store itself; leaving the block closes the sync pool."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the sync pool."""
        self.close()

    def __repr__(self) -> str:
        return f"<PostgresPinStore {_safe(self.url)}>"
