"""The pin store contract, held by every store: memory, SQLite and PostgreSQL.

First pin exactly once (across threads and processes), upgrade only forward,
rollback within 72 hours, each account's history, and the async side agreeing
with the sync one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import pathlib
import re
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pendulum
import pytest

from datever.pins import MemoryPinStore, Pin, PinError, PinEvent, PinStore, dated_order
from datever.pins_async import AsyncPinStore, ThreadedPinStore, as_async
from datever.pins_sql import SQLitePinStore
from tests.postgres import fresh_database, postgres_fixture  # noqa: F401

ROOT = pathlib.Path(__file__).resolve().parents[1]
WORKER = pathlib.Path(__file__).with_name("pins_worker.py")
T0 = pendulum.datetime(2024, 1, 1, 12, tz="UTC")
T1 = T0.add(days=30)
KINDS = ["memory", "sqlite", "postgres"]

StoreFactory = Callable[..., PinStore]


@pytest.fixture(scope="module")
def contract_database(request: pytest.FixtureRequest) -> str:
    """A PostgreSQL database of its own for this module's stores."""
    return fresh_database(request.getfixturevalue("postgres_url"))


def _truncate(url: str) -> None:
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("TRUNCATE datever_pins, datever_pin_history")


@pytest.fixture(params=KINDS)
def make_store(request: pytest.FixtureRequest,
               tmp_path: pathlib.Path) -> Iterator[StoreFactory]:
    """Builds empty stores of one kind; closes them afterwards."""
    opened: list[Any] = []

    def make(order: Callable[[str], Any] = dated_order) -> PinStore:
        store: PinStore
        if request.param == "memory":
            return MemoryPinStore(order)
        if request.param == "sqlite":
            store = SQLitePinStore(tmp_path / f"pins{len(opened)}.db", order)
        else:
            from datever.pins_pg import PostgresPinStore

            url = request.getfixturevalue("contract_database")
            store = PostgresPinStore(url, order)
            if not opened:
                _truncate(url)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: StoreFactory) -> PinStore:
    """One empty store of each kind with the default dated order."""
    return make_store()


@pytest.fixture
def upgraded(store: PinStore) -> PinStore:
    """A store where ``acct`` was pinned to 2019-01-01 at T0 and upgraded to 2021-06-07 at T1."""
    store.pin_first("acct", "2019-01-01", now=T0)
    store.upgrade("acct", "2021-06-07", now=T1)
    return store


def run_async(store: PinStore, work: Callable[[AsyncPinStore], Awaitable[Any]]) -> Any:
    """Run ``work`` on the async side of ``store`` in a fresh event loop, closing its
    async pool (if any) in that loop."""
    async def main() -> Any:
        side = as_async(store)
        try:
            return await work(side)
        finally:
            if isinstance(side, ThreadedPinStore):
                side.close()
            else:
                await side.aclose()  # type: ignore[attr-defined]  # the PostgreSQL store

    return asyncio.run(main())


def test_stores_satisfy_the_protocol(store: PinStore) -> None:
    """Every store is a runtime instance of the PinStore protocol."""
    assert isinstance(store, PinStore)


def test_first_pin_is_returned_and_stored(store: PinStore) -> None:
    """pin_first pins an unpinned account and get returns the same pin."""
    pin = store.pin_first("acct", "2021-06-07", now=T0)
    assert pin == Pin("acct", "2021-06-07", T0, None, None)
    assert store.get("acct") == pin


def test_get_of_unpinned_account_is_none(store: PinStore) -> None:
    """An account never pinned has no pin."""
    assert store.get("nobody") is None


def test_pinned_at_is_aware_utc(store: PinStore) -> None:
    """pinned_at is converted to UTC, and defaults to the current time."""
    before = pendulum.now("UTC")
    pin = store.pin_first("a", "v1", now=pendulum.datetime(2024, 1, 1, 9, tz="Europe/Paris"))
    assert pin.pinned_at == pendulum.datetime(2024, 1, 1, 8, tz="UTC")
    assert pin.pinned_at.utcoffset() == dt.timedelta(0)
    assert before <= store.pin_first("b", "v1").pinned_at <= pendulum.now("UTC")


def test_naive_now_is_rejected(store: PinStore) -> None:
    """A naive datetime is refused with a message that asks for an aware one."""
    with pytest.raises(PinError, match="time zone"):
        store.pin_first("acct", "v1", now=T0.naive())


def test_pin_first_twice_keeps_the_first_version(store: PinStore) -> None:
    """A second pin_first returns the existing pin and changes nothing."""
    first = store.pin_first("acct", "2019-01-01", now=T0)
    assert store.pin_first("acct", "2021-06-07", now=T1) == first
    assert store.get("acct") == first


def test_upgrade_moves_forward_and_records_previous(upgraded: PinStore) -> None:
    """upgrade sets the newer version and remembers the old one and when it changed."""
    assert upgraded.get("acct") == Pin("acct", "2021-06-07", T0, "2019-01-01", T1)


@pytest.mark.parametrize("version", ["2019-01-01", "2021-06-07", "v2021-06-07", "v1"])
def test_upgrade_to_older_or_equal_version_fails(upgraded: PinStore, version: str) -> None:
    """Upgrading to a version that is not newer raises PinError and keeps the pin."""
    before = upgraded.get("acct")
    with pytest.raises(PinError, match="not newer"):
        upgraded.upgrade("acct", version, now=T1.add(hours=1))
    assert upgraded.get("acct") == before


def test_upgrade_without_pin_fails(store: PinStore) -> None:
    """Upgrading an unpinned account raises PinError pointing at pin_first."""
    with pytest.raises(PinError, match="pin_first") as info:
        store.upgrade("nobody", "2021-06-07", now=T0)
    assert info.value.account == "nobody"
    assert store.get("nobody") is None


def test_rollback_within_72_hours_restores_previous(upgraded: PinStore) -> None:
    """A rollback just under 72 hours after the upgrade restores the previous version."""
    pin = upgraded.rollback("acct", now=T1.add(hours=71, minutes=59, seconds=59))
    assert pin == Pin("acct", "2019-01-01", T0, None, None)
    assert upgraded.get("acct") == pin


def test_rollback_after_72_hours_fails(upgraded: PinStore) -> None:
    """At 72 hours the window is closed: PinError says when, and the pin is kept."""
    before = upgraded.get("acct")
    closed = T1.add(hours=72)
    with pytest.raises(PinError, match=re.escape(f"closed at {closed.isoformat()}")):
        upgraded.rollback("acct", now=closed)
    with pytest.raises(PinError, match="window closed"):
        upgraded.rollback("acct", now=T1.add(days=30))
    assert upgraded.get("acct") == before


def test_rollback_without_previous_version_fails(store: PinStore) -> None:
    """A pin that was never upgraded cannot be rolled back."""
    store.pin_first("acct", "2021-06-07", now=T0)
    with pytest.raises(PinError, match="no upgrade to roll back"):
        store.rollback("acct", now=T0)


def test_rollback_undoes_only_the_last_upgrade_once(upgraded: PinStore) -> None:
    """After a rollback there is nothing left to roll back."""
    upgraded.rollback("acct", now=T1)
    with pytest.raises(PinError, match="no upgrade to roll back"):
        upgraded.rollback("acct", now=T1)


def test_rollback_without_pin_fails(store: PinStore) -> None:
    """Rolling back an unpinned account raises PinError."""
    with pytest.raises(PinError, match="no pin"):
        store.rollback("nobody", now=T0)


def test_delete_forgets_the_pin(upgraded: PinStore) -> None:
    """After delete the account has no pin and its next first request pins it anew."""
    upgraded.delete("acct")
    upgraded.delete("acct")
    assert upgraded.get("acct") is None
    assert upgraded.pin_first("acct", "v1", now=T1) == Pin("acct", "v1", T1)


@pytest.mark.parametrize("version", ["X", "latest", "2021-6-7", "2021-02-30", "v", ""])
def test_junk_version_cannot_be_pinned(store: PinStore, version: str) -> None:
    """pin_first and upgrade refuse versions the order does not know."""
    with pytest.raises(PinError, match="cannot be pinned"):
        store.pin_first("acct", version, now=T0)
    store.pin_first("acct", "v1", now=T0)
    with pytest.raises(PinError, match="cannot be pinned"):
        store.upgrade("acct", version, now=T0)


def test_custom_order_function(make_store: StoreFactory) -> None:
    """A store ordered by a custom key upgrades along it and rejects unknown names."""
    store = make_store(["alpha", "beta", "gamma"].index)
    store.pin_first("acct", "alpha", now=T0)
    assert store.upgrade("acct", "gamma", now=T1).version == "gamma"
    with pytest.raises(PinError, match="not newer"):
        store.upgrade("acct", "beta", now=T1)
    with pytest.raises(PinError, match="'delta' is not a version"):
        store.upgrade("acct", "delta", now=T1)
    with pytest.raises(PinError, match="'2021-06-07' is not a version"):
        store.pin_first("other", "2021-06-07", now=T1)


# -- history ---------------------------------------------------------------------


def test_history_lists_pin_upgrade_and_rollback_newest_last(upgraded: PinStore) -> None:
    """The history holds each change: version, action and moment, oldest first."""
    upgraded.rollback("acct", now=T1.add(hours=1))
    assert upgraded.history("acct") == [PinEvent("2019-01-01", "pinned", T0),
                                        PinEvent("2021-06-07", "upgraded", T1),
                                        PinEvent("2019-01-01", "rolled_back", T1.add(hours=1))]


def test_history_of_unpinned_account_is_empty(store: PinStore) -> None:
    """An account never pinned has no history."""
    assert store.history("nobody") == []


def test_history_records_the_first_pin_once(store: PinStore) -> None:
    """A second pin_first, which changes nothing, adds nothing to the history."""
    store.pin_first("acct", "2019-01-01", now=T0)
    store.pin_first("acct", "2021-06-07", now=T1)
    assert store.history("acct") == [PinEvent("2019-01-01", "pinned", T0)]


def test_refused_changes_leave_no_history(upgraded: PinStore) -> None:
    """An upgrade that is not newer and a rollback out of its window record nothing."""
    with pytest.raises(PinError):
        upgraded.upgrade("acct", "2020-01-01", now=T1)
    with pytest.raises(PinError):
        upgraded.rollback("acct", now=T1.add(days=4))
    assert [event.action for event in upgraded.history("acct")] == ["pinned", "upgraded"]


def test_delete_forgets_the_history(upgraded: PinStore) -> None:
    """After delete the account's history is empty; a new pin starts a new one."""
    upgraded.delete("acct")
    assert upgraded.history("acct") == []
    upgraded.pin_first("acct", "v1", now=T1)
    assert upgraded.history("acct") == [PinEvent("v1", "pinned", T1)]


def test_history_is_per_account(store: PinStore) -> None:
    """One account's changes are not in another's history."""
    store.pin_first("a", "2019-01-01", now=T0)
    store.pin_first("b", "2020-01-01", now=T0)
    store.upgrade("a", "2021-06-07", now=T1)
    assert store.history("b") == [PinEvent("2020-01-01", "pinned", T0)]


# -- the async side --------------------------------------------------------------


def test_async_side_pins_upgrades_and_rolls_back_like_the_sync_one(store: PinStore) -> None:
    """Through the async methods, the same pins and the same history as through the sync."""
    async def work(side: AsyncPinStore) -> None:
        assert await side.aget("acct") is None
        first = await side.apin_first("acct", "2019-01-01", now=T0)
        assert await side.apin_first("acct", "2021-06-07", now=T1) == first
        upgraded = await side.aupgrade("acct", "2021-06-07", now=T1)
        assert upgraded == Pin("acct", "2021-06-07", T0, "2019-01-01", T1)
        assert await side.aget("acct") == upgraded
        assert await side.arollback("acct", now=T1.add(hours=1)) == first
        assert [event.action for event in await side.ahistory("acct")] == [
            "pinned", "upgraded", "rolled_back"]
        await side.adelete("acct")
        assert await side.aget("acct") is None

    run_async(store, work)
    assert store.get("acct") is None


def test_async_side_refuses_what_the_sync_one_refuses(store: PinStore) -> None:
    """The async methods raise the same PinError for a missing pin or an older version."""
    async def work(side: AsyncPinStore) -> None:
        with pytest.raises(PinError, match="no pin"):
            await side.aupgrade("nobody", "2021-06-07", now=T0)
        await side.apin_first("acct", "2021-06-07", now=T0)
        with pytest.raises(PinError, match="not newer"):
            await side.aupgrade("acct", "2020-01-01", now=T0)
        with pytest.raises(PinError, match="no upgrade to roll back"):
            await side.arollback("acct", now=T0)

    run_async(store, work)


# -- concurrency -----------------------------------------------------------------


def test_concurrent_first_requests_in_threads_pin_once(store: PinStore) -> None:
    """16 threads racing pin_first with different versions all get one pin and one entry."""
    barrier = threading.Barrier(16)
    results: list[Pin] = []
    errors: list[BaseException] = []

    def first_request(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results.append(store.pin_first("acct", f"2020-01-{i + 1:02d}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first_request, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(results) == 16
    assert len(set(results)) == 1
    assert store.get("acct") == results[0]
    assert len(store) == 1  # type: ignore[arg-type]  # every store here counts its pins
    assert store.history("acct") == [PinEvent(results[0].version, "pinned",
                                              results[0].pinned_at)]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_concurrent_first_requests_in_processes_pin_once(
        kind: str, tmp_path: pathlib.Path, request: pytest.FixtureRequest) -> None:
    """6 processes racing pin_first on one database, each another version, agree."""
    if kind == "sqlite":
        target = str(tmp_path / "pins.db")
    else:
        target = fresh_database(request.getfixturevalue("postgres_url"))
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    workers = [subprocess.Popen([sys.executable, str(WORKER), target, f"2020-0{i + 1}-01",
                                 str(go)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env) for i in range(6)]
    try:
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready"
        go.touch()
        outputs = [worker.communicate(timeout=60) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()
    assert [worker.returncode for worker in workers] == [0] * 6, outputs
    reports = [json.loads(out) for out, _ in outputs]
    assert len({(r["version"], r["pinned_at"]) for r in reports}) == 1
    assert reports[0]["version"] in {f"2020-0{i + 1}-01" for i in range(6)}
    assert {r["pins"] for r in reports} == {1}
    assert {r["history"] for r in reports} == {1}
