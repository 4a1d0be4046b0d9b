"""The per-process pin cache and the async side of sync stores (datever.pins_async).

Real stores throughout: SQLite files and PostgreSQL databases (two store
objects on one database stand for two processes). The cache runs on a test
clock; nothing sleeps on the real clock but for tiny waits.
"""

from __future__ import annotations

import asyncio
import pathlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any

import pendulum
import pytest

from datever import MemoryPinStore
from datever.pins import Pin, PinStore
from datever.pins_async import AsyncPinStore, PinCache, ThreadedPinStore, as_async
from datever.pins_sql import SQLitePinStore
from tests.postgres import fresh_database, postgres_fixture  # noqa: F401

T0 = pendulum.datetime(2024, 1, 1, 12, tz="UTC")
NEWEST = "2022-01-01"


class Clock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgres"])
def two_processes(request: pytest.FixtureRequest,
                  tmp_path: pathlib.Path) -> Iterator[tuple[PinStore, PinStore]]:
    """Two store objects on one database, standing for two processes of a fleet."""
    stores: tuple[Any, Any]
    if request.param == "sqlite":
        path = tmp_path / "pins.db"
        stores = (SQLitePinStore(path), SQLitePinStore(path))
    else:
        from datever.pins_pg import PostgresPinStore

        url = fresh_database(request.getfixturevalue("postgres_url"))
        stores = (PostgresPinStore(url), PostgresPinStore(url))
    yield stores
    for store in stores:
        store.close()


# -- the cache ---------------------------------------------------------------------


@pytest.mark.parametrize("action", ["upgrade", "rollback"])
def test_a_change_made_elsewhere_shows_here_within_the_ttl(
        two_processes: tuple[PinStore, PinStore], action: str) -> None:
    """An upgrade or rollback made through one process is seen by the other's cache once
    its ttl has passed, and not before (announcements unheard); the process that made it
    sees it at once."""
    clock = Clock()
    here, there = (PinCache(store, ttl=5.0, clock=clock, listen=False)
                   for store in two_processes)
    there.pin_first("acct", "2020-01-01", now=T0)
    if action == "rollback":
        there.upgrade("acct", "2021-01-01", now=T0)
    before = here.get("acct")
    assert before is not None
    changed = (there.upgrade("acct", NEWEST, now=T0) if action == "upgrade"
               else there.rollback("acct", now=T0.add(hours=1)))
    assert there.get("acct") == changed
    clock.now += 4.999
    assert here.get("acct") == before
    clock.now += 0.001
    assert here.get("acct") == changed


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Poll ``condition`` with tiny waits until it holds or ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def postgres_processes(url: str) -> tuple[Any, Any]:
    """Two PostgreSQL stores on one database, standing for two processes."""
    from datever.pins_pg import PostgresPinStore

    return PostgresPinStore(url), PostgresPinStore(url)


@pytest.mark.parametrize("action", ["upgrade", "rollback", "delete"])
def test_postgres_announces_changes_to_every_cache_at_once(postgres_url: str,
                                                           action: str) -> None:
    """With PostgreSQL, an upgrade, rollback or delete made through one process is dropped
    from the other's cache as soon as LISTEN/NOTIFY brings it: the ttl clock never moves."""
    first, second = postgres_processes(fresh_database(postgres_url))
    try:
        here = PinCache(first, ttl=3600.0, clock=Clock())
        assert first._listener is not None
        assert first._listener.listening.wait(10)
        second.pin_first("acct", "2020-01-01", now=T0)
        second.upgrade("acct", "2021-01-01", now=T0)
        assert here.get("acct") is not None
        if action == "upgrade":
            expected: Pin | None = second.upgrade("acct", NEWEST, now=T0)
        elif action == "rollback":
            expected = second.rollback("acct", now=T0.add(hours=1))
        else:
            second.delete("acct")
            expected = None
        assert wait_for(lambda: here.get("acct") == expected)
    finally:
        first.close()
        second.close()


def test_a_listener_that_reconnects_forgets_every_pin(postgres_url: str) -> None:
    """When the listening connection is cut, the cache is emptied (announcements may
    have been missed) and the listener listens again."""
    import psycopg

    url = fresh_database(postgres_url)
    first, second = postgres_processes(url)
    try:
        here = PinCache(first, ttl=3600.0, clock=Clock())
        listener = first._listener
        assert listener is not None
        assert listener.listening.wait(10)
        here.pin_first("acct", "2020-01-01", now=T0)
        assert len(here) == 1
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                         "query = 'LISTEN datever_pins'")
        assert wait_for(lambda: len(here) == 0)
        here.get("acct")
        assert wait_for(listener.listening.is_set)
        upgraded = second.upgrade("acct", NEWEST, now=T0)
        assert wait_for(lambda: here.get("acct") == upgraded)
    finally:
        first.close()
        second.close()
    assert not listener._thread.is_alive()


def test_an_account_without_a_pin_is_not_cached() -> None:
    """A lookup that finds no pin is not remembered: a pin made next is seen at once."""
    store = MemoryPinStore()
    cache = PinCache(store, ttl=60.0, clock=Clock())
    assert cache.get("acct") is None
    pin = store.pin_first("acct", "2021-01-01")
    assert cache.get("acct") == pin


def test_a_cached_pin_is_served_without_the_store(tmp_path: pathlib.Path) -> None:
    """Within its ttl a pin comes from memory: even a closed store is not touched."""
    store = SQLitePinStore(tmp_path / "pins.db")
    cache = PinCache(store, ttl=5.0, clock=Clock())
    pin = cache.pin_first("acct", "2021-01-01")
    store.close()
    assert cache.get("acct") == pin
    assert asyncio.run(cache.aget("acct")) == pin
    with pytest.raises(sqlite3.ProgrammingError):
        cache.get("other")


def test_a_pin_deleted_elsewhere_is_forgotten_once_stale() -> None:
    """A cached pin the store no longer has is served until its ttl, then dropped."""
    store, clock = MemoryPinStore(), Clock()
    cache = PinCache(store, ttl=5.0, clock=clock)
    pin = cache.pin_first("acct", "2020-01-01")
    store.delete("acct")
    assert cache.get("acct") == pin
    clock.now += 5.0
    assert cache.get("acct") is None
    assert cache.cached("acct") is None
    assert len(cache) == 0


def test_ttl_zero_turns_caching_off() -> None:
    """With ttl=0 every lookup reads the store."""
    store = MemoryPinStore()
    cache = PinCache(store, ttl=0)
    cache.pin_first("acct", "2020-01-01")
    upgraded = store.upgrade("acct", "2021-01-01")
    assert cache.get("acct") == upgraded
    assert len(cache) == 0


def test_the_cache_holds_at_most_size_accounts() -> None:
    """Past ``size`` accounts the least recently stored are dropped first."""
    cache = PinCache(MemoryPinStore(), ttl=60.0, clock=Clock(), size=2)
    for account in ("a", "b", "c"):
        cache.pin_first(account, "v1")
    assert len(cache) == 2
    assert cache.cached("a") is None
    assert cache.cached("c") is not None


@pytest.mark.parametrize(("ttl", "size"), [(-1.0, 10), (5.0, 0)])
def test_a_negative_ttl_or_an_empty_cache_is_refused(ttl: float, size: int) -> None:
    """ttl below 0 or size below 1 is a ValueError naming both."""
    with pytest.raises(ValueError, match="ttl is a number of seconds"):
        PinCache(MemoryPinStore(), ttl=ttl, size=size)


def test_forget_drops_cached_pins() -> None:
    """forget(account) drops one pin, forget() every pin."""
    store = MemoryPinStore()
    cache = PinCache(store, ttl=60.0, clock=Clock())
    for account in ("a", "b"):
        cache.pin_first(account, "2020-01-01")
    store.upgrade("a", "2021-01-01")
    cache.forget("a")
    assert cache.get("a") == store.get("a")
    cache.forget()
    assert len(cache) == 0


def test_delete_and_history_go_through_to_the_store() -> None:
    """delete forgets the cached pin too; history always reads the store."""
    store = MemoryPinStore()
    cache = PinCache(store, ttl=60.0, clock=Clock())
    cache.pin_first("acct", "2020-01-01", now=T0)
    assert cache.history("acct") == store.history("acct")
    cache.delete("acct")
    assert cache.get("acct") is None
    assert store.history("acct") == []


def test_the_async_side_of_the_cache_keeps_pins_too() -> None:
    """aget, apin_first, aupgrade, arollback, adelete and ahistory, through the cache."""
    store = MemoryPinStore()
    cache = PinCache(store, ttl=60.0, clock=Clock())

    async def work() -> None:
        first = await cache.apin_first("acct", "2020-01-01", now=T0)
        store.upgrade("acct", "2021-01-01")  # behind the cache's back
        assert await cache.aget("acct") == first
        assert (await cache.aupgrade("acct", NEWEST)).version == NEWEST
        assert (await cache.arollback("acct")).version == "2021-01-01"
        assert len(await cache.ahistory("acct")) == 4
        await cache.adelete("acct")
        assert await cache.aget("acct") is None

    asyncio.run(work())


def test_reprs_name_the_store_behind(tmp_path: pathlib.Path) -> None:
    """A cache and a SQLite store say what they wrap and where."""
    with SQLitePinStore(tmp_path / "pins.db") as store:
        assert repr(PinCache(store, ttl=2.5)) == f"<PinCache ttl=2.5s {store!r}>"
        assert repr(store) == f"<SQLitePinStore {str(tmp_path / 'pins.db')!r}>"


def test_as_async_wraps_sync_stores_and_keeps_async_ones() -> None:
    """A sync store gets a ThreadedPinStore; a store with async methods is itself."""
    memory = MemoryPinStore()
    wrapped = as_async(memory)
    assert isinstance(wrapped, ThreadedPinStore)
    assert isinstance(wrapped, AsyncPinStore)
    assert wrapped.store is memory
    cache = PinCache(memory)
    assert as_async(cache) is cache


def test_threaded_store_passes_sync_calls_straight_through() -> None:
    """The sync methods of a ThreadedPinStore are the store's own."""
    threaded = ThreadedPinStore(MemoryPinStore())
    threaded.pin_first("acct", "2020-01-01", now=T0)
    threaded.upgrade("acct", "2021-01-01", now=T0)
    assert threaded.rollback("acct", now=T0) == threaded.get("acct")
    assert [event.action for event in threaded.history("acct")] == [
        "pinned", "upgraded", "rolled_back"]
    threaded.delete("acct")
    assert threaded.get("acct") is None
    threaded.close()
    assert "MemoryPinStore" in repr(threaded)
