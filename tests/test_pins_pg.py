"""The PostgreSQL pin store beyond the shared contract: its schema, pools and URL.

A real throwaway cluster (tests/postgres.py) stands behind every test.
"""

from __future__ import annotations

import asyncio
import threading

import pendulum
import pytest

from datever.pins import Pin, PinError, PinEvent
from tests.postgres import fresh_database, postgres_fixture  # noqa: F401

psycopg = pytest.importorskip("psycopg")
pins_pg = pytest.importorskip("datever.pins_pg")
PostgresPinStore = pins_pg.PostgresPinStore

T0 = pendulum.datetime(2024, 1, 1, 12, tz="UTC")
T1 = T0.add(days=30)


@pytest.fixture
def database(postgres_url: str) -> str:
    """The URL of a new empty database."""
    return fresh_database(postgres_url)


def schema_of(url: str) -> list[int]:
    """The rows of datever_schema."""
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM datever_schema")]


def test_new_database_gets_the_current_schema(database: str) -> None:
    """A store on an empty database creates the tables at schema 2 and says it found 0."""
    with PostgresPinStore(database) as store:
        assert store.found_schema == 0
    assert schema_of(database) == [pins_pg.SCHEMA_VERSION] == [2]
    with PostgresPinStore(database) as again:
        assert again.found_schema == 2


def test_database_of_schema_1_is_migrated(database: str) -> None:
    """Tables written by the first schema (pins alone) are migrated: pins kept, history
    begun from what they record."""
    with psycopg.connect(database) as conn:
        conn.execute("CREATE TABLE datever_pins (account text PRIMARY KEY, version text NOT "
                     "NULL, pinned_at timestamptz NOT NULL, previous text, "
                     "previous_at timestamptz)")
        conn.execute("INSERT INTO datever_pins VALUES ('old', '2019-01-01', %s, NULL, NULL), "
                     "('moved', '2021-06-07', %s, '2019-01-01', %s)", (T0, T0, T1))
    with PostgresPinStore(database) as store:
        assert store.found_schema == 1
        assert store.get("moved") == Pin("moved", "2021-06-07", T0, "2019-01-01", T1)
        assert store.history("old") == [PinEvent("2019-01-01", "pinned", T0)]
        assert store.history("moved") == [PinEvent("2019-01-01", "pinned", T0),
                                          PinEvent("2021-06-07", "upgraded", T1)]
        assert store.rollback("moved", now=T1.add(hours=1)).version == "2019-01-01"
    assert schema_of(database) == [2]


def test_database_of_a_newer_schema_is_refused(database: str) -> None:
    """Tables written by a newer datever are refused with a PinError, password left out."""
    PostgresPinStore(database).close()
    with psycopg.connect(database) as conn:
        conn.execute("UPDATE datever_schema SET version = 99")
    secret = database.replace("postgres@", "postgres:hunter2@")
    with pytest.raises(PinError, match=r"schema version 99.*newer datever") as info:
        PostgresPinStore(secret)
    assert "hunter2" not in str(info.value)


def test_stores_opened_at_once_migrate_once(database: str) -> None:
    """Eight stores opening one empty database at the same moment create it once."""
    barrier = threading.Barrier(8)
    found: list[int] = []
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            barrier.wait(timeout=30)
            with PostgresPinStore(database) as store:
                found.append(store.found_schema)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(found) == [0] + [2] * 7
    assert schema_of(database) == [2]


def test_repr_names_the_database_without_the_password(database: str) -> None:
    """The store's repr shows host, port and database, never the password."""
    store = PostgresPinStore(database.replace("postgres@", "postgres:hunter2@"))
    assert "hunter2" not in repr(store)
    assert "dbname=" in repr(store)
    assert pins_pg._safe("not a url =") == "the PostgreSQL database"


def test_async_pool_serves_one_event_loop(database: str) -> None:
    """The async pool opens in the first loop that uses it; another loop gets a clear error."""
    store = PostgresPinStore(database)

    async def first() -> None:
        await store.apin_first("acct", "v1", now=T0)

    async def second() -> None:
        with pytest.raises(PinError, match="another event loop"):
            await store.aget("acct")

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(first())
        asyncio.run(second())
        loop.run_until_complete(store.aclose())
    finally:
        loop.close()
    assert store.get("acct") == Pin("acct", "v1", T0)
    store.close()


def test_sync_and_async_pools_see_one_another(database: str) -> None:
    """A pin made through the async pool is read through the sync one, and back."""
    store = PostgresPinStore(database, max_size=2)

    async def work() -> Pin | None:
        await store.apin_first("a", "2019-01-01", now=T0)
        found = await store.aget("b")
        await store.aclose()
        return found

    store.pin_first("b", "2020-01-01", now=T0)
    assert asyncio.run(work()) == Pin("b", "2020-01-01", T0)
    assert store.get("a") == Pin("a", "2019-01-01", T0)
    store.close()


def connections_to(url: str) -> int:
    """How many other connections are open on the database of ``url``."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = "
                           "current_database() AND pid <> pg_backend_pid()").fetchone()
    assert row is not None
    return int(row[0])


def test_threads_racing_the_first_call_share_one_pool(database: str) -> None:
    """Twelve threads making a new store's first calls at once open one pool, whose
    connections stay within max_size."""
    store = PostgresPinStore(database, min_size=1, max_size=2)
    barrier = threading.Barrier(12)
    errors: list[BaseException] = []

    def first_call() -> None:
        try:
            barrier.wait(timeout=30)
            store.get("acct")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first_call) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert errors == []
        assert connections_to(database) <= 2
    finally:
        store.close()
