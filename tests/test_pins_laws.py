"""Laws of pin stores, over random histories of pins, upgrades, rollbacks and deletes.

Every store agrees with the memory store, the reference: the same pins, the
same history and the same refusals; and an account's newest history entry
always names the version it is pinned to.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datever.pins import MemoryPinStore, PinError, PinStore
from datever.pins_sql import SQLitePinStore
from tests.postgres import fresh_database, postgres_fixture  # noqa: F401

T0 = pendulum.datetime(2024, 1, 1, tz="UTC")
VERSIONS = ["v1", "2019-01-01", "2020-06-01", "2021-06-07", "2022-01-01"]
LAWS = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

Step = tuple[str, str, str, int]

steps = st.lists(st.tuples(st.sampled_from(["pin_first", "upgrade", "rollback", "delete"]),
                           st.sampled_from(["a", "b"]), st.sampled_from(VERSIONS),
                           st.integers(0, 80)), max_size=12)
"""Each step: an action, an account, a version (where the action takes one), and the
hours since the step before."""


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_store(request: pytest.FixtureRequest,
                tmp_path: pathlib.Path) -> Iterator[Any]:
    """A function that gives an empty store of one kind, each call."""
    if request.param == "sqlite":
        opened: list[SQLitePinStore] = []

        def make_sqlite() -> PinStore:
            opened.append(SQLitePinStore(tmp_path / f"pins{len(opened)}.db"))
            return opened[-1]

        yield make_sqlite
        for store in opened:
            store.close()
        return
    import psycopg

    from datever.pins_pg import PostgresPinStore

    store = PostgresPinStore(fresh_database(request.getfixturevalue("postgres_url")))

    def make_postgres() -> PinStore:
        with psycopg.connect(store.url) as conn:
            conn.execute("TRUNCATE datever_pins, datever_pin_history")
        return store

    yield make_postgres
    store.close()


def apply(store: PinStore, step: Step, at: pendulum.DateTime) -> object:
    """Run one step on ``store``: its result, or the message of the PinError it raised."""
    action, account, version, _ = step
    try:
        if action == "pin_first":
            return store.pin_first(account, version, now=at)
        if action == "upgrade":
            return store.upgrade(account, version, now=at)
        if action == "rollback":
            return store.rollback(account, now=at)
        store.delete(account)
        return None
    except PinError as exc:
        return ("refused", str(exc))


@LAWS
@given(steps)
def test_every_store_agrees_with_the_memory_store(fresh_store: Any, history: list[Step]) -> None:
    """After any steps, a store's answers, pins and histories equal the memory store's."""
    store, reference = fresh_store(), MemoryPinStore()
    at = T0
    for step in history:
        at = at.add(hours=step[3])
        assert apply(store, step, at) == apply(reference, step, at), step
    for account in ("a", "b"):
        assert store.get(account) == reference.get(account)
        assert store.history(account) == reference.history(account)


@LAWS
@given(steps)
def test_the_newest_history_entry_names_the_pin_in_force(fresh_store: Any,
                                                         history: list[Step]) -> None:
    """The last entry of an account's history is the version it is pinned to; no pin,
    no history."""
    store = fresh_store()
    at = T0
    for step in history:
        at = at.add(hours=step[3])
        apply(store, step, at)
    for account in ("a", "b"):
        pin, events = store.get(account), store.history(account)
        assert (pin is None) == (events == [])
        if pin is not None:
            assert events[-1].version == pin.version
            assert events[0].action == "pinned"
            assert events[0].at == pin.pinned_at
