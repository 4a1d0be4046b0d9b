"""Version pin stores (datever.pins): first pin, upgrade, rollback, concurrency."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import pathlib
import re
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from typing import Any

import pendulum
import pytest

from datever.errors import DateverError
from datever.pins import (
    MemoryPinStore,
    Pin,
    PinError,
    PinStore,
    SQLitePinStore,
    dated_order,
)

ROOT = pathlib.Path(__file__).resolve().parents[1]
WORKER = pathlib.Path(__file__).with_name("pins_worker.py")
T0 = pendulum.datetime(2024, 1, 1, 12, tz="UTC")
T1 = T0.add(days=30)

StoreFactory = Callable[..., PinStore]


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request: pytest.FixtureRequest,
               tmp_path: pathlib.Path) -> Iterator[StoreFactory]:
    """Builds stores of one kind (memory, or SQLite in tmp_path); closes them afterwards."""
    opened: list[SQLitePinStore] = []

    def make(order: Callable[[str], Any] = dated_order) -> PinStore:
        if request.param == "memory":
            return MemoryPinStore(order)
        store = SQLitePinStore(tmp_path / f"pins{len(opened)}.db", order)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: StoreFactory) -> PinStore:
    """One store of each kind with the default dated order."""
    return make_store()


@pytest.fixture
def upgraded(store: PinStore) -> PinStore:
    """A store where ``acct`` was pinned to 2019-01-01 at T0 and upgraded to 2021-06-07 at T1."""
    store.pin_first("acct", "2019-01-01", now=T0)
    store.upgrade("acct", "2021-06-07", now=T1)
    return store


def test_stores_satisfy_the_protocol(store: PinStore) -> None:
    """Both stores are runtime instances of the PinStore protocol."""
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


def test_dated_order_puts_initial_before_dates_in_date_order() -> None:
    """v1 < 2019-01-01 < 2021-06-07; 1 equals v1 and the v prefix changes nothing."""
    names = ["2021-06-07", "v1", "v2019-01-01", "2020-12-31"]
    assert sorted(names, key=dated_order) == ["v1", "v2019-01-01", "2020-12-31", "2021-06-07"]
    assert dated_order("1") == dated_order("v1") < dated_order("2019-01-01")
    assert dated_order("v2021-06-07") == dated_order("2021-06-07")


@pytest.mark.parametrize("version", ["X", "latest!", "2021-6-7", "2021-02-30", "v", "v2"])
def test_dated_order_rejects_junk(version: str) -> None:
    """Anything but v1, 1 and (v)YYYY-MM-DD raises a PinError that lists the forms."""
    with pytest.raises(PinError, match="YYYY-MM-DD") as info:
        dated_order(version)
    assert isinstance(info.value, DateverError)


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


def test_pin_is_frozen() -> None:
    """A Pin cannot be changed in place."""
    pin = Pin("acct", "v1", T0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        pin.version = "2021-06-07"  # type: ignore[misc]


def test_concurrent_first_requests_in_threads_pin_once(store: PinStore) -> None:
    """16 threads racing pin_first with different versions all get one pin; one row exists."""
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
    assert isinstance(store, MemoryPinStore | SQLitePinStore)
    assert len(store) == 1


def count_rows(path: pathlib.Path) -> int:
    """Rows in the pin table, read through a separate connection."""
    with closing(sqlite3.connect(path)) as db:
        return int(db.execute("SELECT COUNT(*) FROM datever_pins").fetchone()[0])


def test_concurrent_first_requests_in_processes_pin_once(tmp_path: pathlib.Path) -> None:
    """6 processes racing pin_first on one SQLite file, each another version, agree."""
    path, go = tmp_path / "pins.db", tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    workers = [subprocess.Popen([sys.executable, str(WORKER), str(path), f"2020-0{i + 1}-01",
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
    assert count_rows(path) == 1


def test_sqlite_pins_survive_close_and_reopen(tmp_path: pathlib.Path) -> None:
    """A pin written, upgraded and closed reads back equal from a new store on the file."""
    path = tmp_path / "pins.db"
    with SQLitePinStore(path) as store:
        store.pin_first("acct", "2019-01-01", now=T0)
        pin = store.upgrade("acct", "2021-06-07", now=T1.add(microseconds=123))
    with SQLitePinStore(path) as store:
        assert store.get("acct") == pin
        assert store.rollback("acct", now=T1.add(hours=1)).version == "2019-01-01"
    assert count_rows(path) == 1


def test_sqlite_file_is_in_wal_mode(tmp_path: pathlib.Path) -> None:
    """The store switches its file to WAL journaling, which persists in the file."""
    path = tmp_path / "pins.db"
    with SQLitePinStore(path) as store:
        store.pin_first("acct", "v1")
        with closing(sqlite3.connect(path)) as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_closed_sqlite_store_cannot_be_used(tmp_path: pathlib.Path) -> None:
    """Leaving the with block closes the connection."""
    with SQLitePinStore(tmp_path / "pins.db") as store:
        pass
    with pytest.raises(sqlite3.ProgrammingError):
        store.get("acct")
