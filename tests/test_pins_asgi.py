"""The account's pin on the async path: VersionSelector.alookup and the ASGI middleware.

The middleware awaits the pin before the synchronous decide(): a real SQLite
file locked by another connection, or a real PostgreSQL table, holds up the
request and never the event loop.
"""

from __future__ import annotations

import asyncio
import pathlib
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from datever import API, APIGroups, Change, MemoryPinStore, add
from datever.pins import Pin
from datever.pins_async import PinCache
from datever.pins_sql import SQLitePinStore
from datever.selection import VersionSelector
from datever.versions import Timeline
from datever.web.asgi import Message, Scope
from tests.postgres import fresh_database, postgres_fixture  # noqa: F401

NEWEST = "2022-01-01"

def timeline() -> Timeline:
    """Releases on 2020-01-01, 2021-01-01 and 2022-01-01."""
    return Timeline([Change(released=f"{year}-01-01", description=str(year), id=f"c{year}",
                            resources={"charge": [add(f"p{year}", 0)]})
                     for year in (2020, 2021, 2022)])



class AsyncOnly:
    """A store with only the async methods, as a service might write for its own database."""

    def __init__(self) -> None:
        self.inner = MemoryPinStore()

    async def aget(self, account: str) -> Pin | None:
        return self.inner.get(account)

    async def apin_first(self, account: str, version: str, *, now: Any = None) -> Pin:
        return self.inner.pin_first(account, version, now=now)


def test_an_async_only_store_refuses_sync_calls_clearly() -> None:
    """The sync side of a cache or a selector over an async-only store is a TypeError
    that says to use the async methods."""
    store: Any = AsyncOnly()
    with pytest.raises(TypeError, match="async pin store"):
        PinCache(store).get("acct")
    selector = VersionSelector(timeline(), pins=store)
    with pytest.raises(TypeError, match="alookup"):
        selector.select("/x", account="acct")
    looked_up = asyncio.run(selector.alookup("acct"))
    assert looked_up is not None
    assert looked_up.new
    selection = selector.select("/x", account="acct", account_pin=looked_up)
    assert (selection.version.name, selection.source) == (NEWEST, "account")
    assert selection.pinned == looked_up.pin


def test_selector_without_pins_looks_nothing_up() -> None:
    """alookup is None without a pin store; lookup too."""
    selector = VersionSelector(timeline())
    assert asyncio.run(selector.alookup("acct")) is None
    assert selector.lookup("acct") is None


def test_selector_without_pins_cannot_upgrade() -> None:
    """upgrade and rollback on a selector with no pin store are a ValueError saying so."""
    selector = VersionSelector(timeline())
    with pytest.raises(ValueError, match="no pin store"):
        selector.upgrade("acct", NEWEST)
    with pytest.raises(ValueError, match="no pin store"):
        selector.rollback("acct")


# -- the middleware ----------------------------------------------------------------


async def bare_app(scope: Scope, receive: Callable[[], Any],
                   send: Callable[[Message], Any]) -> None:
    """An ASGI app that answers 200 ``ok``."""
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok", "more_body": False})


def account_of(scope: Scope) -> str | None:
    """The X-Account header."""
    return next((value.decode() for name, value in scope["headers"] if name == b"x-account"),
                None)


async def call(app: Any, path: str = "/charges", account: str = "acct") -> dict[bytes, bytes]:
    """One GET through ``app``; the response headers."""
    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
             "root_path": "", "query_string": b"", "headers": [(b"x-account", account.encode())]}
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["status"] == 200
    return dict(sent[0]["headers"])


def test_a_locked_pin_store_never_blocks_the_event_loop(tmp_path: pathlib.Path) -> None:
    """A first request waits on a SQLite file another connection holds locked, while
    another coroutine keeps ticking; once the lock is released the account is pinned."""
    path = tmp_path / "pins.db"
    api = API(timeline(), pins=SQLitePinStore(path))
    app = api.asgi(bare_app, account=account_of)

    async def main() -> tuple[int, dict[bytes, bytes]]:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # holds the write lock pin_first needs
        request = asyncio.create_task(call(app, account="acct_new"))
        ticks = 0
        try:
            while ticks < 20:
                await asyncio.sleep(0.005)
                ticks += 1
                assert not request.done()
        finally:
            blocker.execute("COMMIT")
            blocker.close()
        return ticks, await asyncio.wait_for(request, 30)

    ticks, headers = asyncio.run(main())
    assert ticks == 20
    assert headers[b"x-api-version"] == NEWEST.encode()
    assert api.pins is not None
    pin = api.pins.get("acct_new")
    assert pin is not None
    assert pin.version == NEWEST


def test_a_locked_postgres_table_never_blocks_the_event_loop(postgres_url: str) -> None:
    """A request waits on a pin table another connection holds locked, through the async
    pool, while another coroutine keeps ticking; once the lock goes it is served."""
    import psycopg

    url = fresh_database(postgres_url)
    api = API(timeline(), pins=url, pin_ttl=0)
    assert api.pins is not None
    store: Any = api.pins.store
    app = api.asgi(bare_app, account=account_of)

    async def main() -> tuple[int, dict[bytes, bytes]]:
        blocker = psycopg.connect(url)
        blocker.execute("LOCK TABLE datever_pins IN ACCESS EXCLUSIVE MODE")
        request = asyncio.create_task(call(app, account="acct_new"))
        ticks = 0
        try:
            while ticks < 20:
                await asyncio.sleep(0.005)
                ticks += 1
                assert not request.done()
        finally:
            blocker.commit()
            blocker.close()
        try:
            return ticks, await asyncio.wait_for(request, 30)
        finally:
            await store.aclose()

    ticks, headers = asyncio.run(main())
    assert ticks == 20
    assert headers[b"x-api-version"] == NEWEST.encode()
    store.close()


def test_the_middleware_pins_through_postgres_async_pool(postgres_url: str) -> None:
    """API(pins=a postgresql:// URL) pins a new account on its first request, through
    the async pool, and serves it at its pin afterwards."""
    api = API(timeline(), pins=fresh_database(postgres_url), pin_ttl=0)
    assert api.pins is not None
    store: Any = api.pins.store
    assert type(store).__name__ == "PostgresPinStore"
    store.pin_first("acct_old", "2020-01-01")
    app = api.asgi(bare_app, account=account_of)

    async def main() -> list[dict[bytes, bytes]]:
        try:
            return [await call(app, account="acct_new"), await call(app, account="acct_old")]
        finally:
            await store.aclose()

    new, old = asyncio.run(main())
    assert new[b"x-api-version"] == NEWEST.encode()
    assert old[b"x-api-version"] == b"2020-01-01"
    assert [event.action for event in store.history("acct_new")] == ["pinned"]
    store.close()


def test_grouped_middleware_looks_the_pin_up_in_the_requests_group() -> None:
    """Under APIGroups the pin comes from the store of the path's group; a path in no
    group looks nothing up."""
    pins = MemoryPinStore()
    groups = APIGroups({"compute": API(timeline(), pins=pins), "data": API(timeline())})
    app = groups.asgi(bare_app, account=account_of)

    async def main() -> list[dict[bytes, bytes]]:
        return [await call(app, "/compute/estimate"), await call(app, "/data/x"),
                await call(app, "/elsewhere")]

    compute, data, elsewhere = asyncio.run(main())
    assert compute[b"x-api-version"] == NEWEST.encode()
    assert data[b"x-api-version"] == b"v1"
    assert b"x-api-version" not in elsewhere
    pin = pins.get("acct")
    assert pin is not None
    assert pin.version == NEWEST


def test_the_front_door_serves_an_async_only_store() -> None:
    """API(pins=) takes a store with only async methods: the middleware pins through it."""
    store: Any = AsyncOnly()
    api = API(timeline(), pins=store)
    app = api.asgi(bare_app, account=account_of)
    headers = asyncio.run(call(app, account="acct_async"))
    assert headers[b"x-api-version"] == NEWEST.encode()
    pin = store.inner.get("acct_async")
    assert pin is not None
    assert pin.version == NEWEST

