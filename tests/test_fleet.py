"""The example service as a fleet: two uvicorn workers sharing PostgreSQL pins under load.

One seeded run of :mod:`benchmarks.fleet` (600 requests over 60 accounts, a
quarter of them opening with concurrent first requests, one upgrade and one
rollback made through the store while it runs) stands behind the tests; each
checks one thing of what it saw. The only waits are bounded: the pin cache
lifetime (1 s) plus a margin, after a change.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from benchmarks import fleet
from datever.pins import MemoryPinStore, Pin
from datever.pins_async import PinCache
from tests.postgres import fresh_database, postgres_fixture  # noqa: F401

pytest.importorskip("psycopg")

#: no v1 here: its sunset date would make the answers depend on today's date
VERSIONS = ("2025-09-29", "X", "2021-05-10", "2020-05-18")
PINS = ("2020-05-18", "2021-05-10", "2025-09-29")


@pytest.fixture(scope="module")
def plan() -> fleet.Plan:
    """600 requests over 60 accounts, one upgrade and one rollback."""
    return fleet.plan(600, 60, 1, seed=7, versions=VERSIONS, pins=PINS)


@pytest.fixture(scope="module")
def tally(plan: fleet.Plan, postgres_url: str) -> fleet.Tally:
    """What two workers sharing a fresh PostgreSQL database answered to the plan."""
    return fleet.run("postgresql", plan, url=fresh_database(postgres_url), workers=2,
                     ttl=1.0, concurrency=8)


def test_plan_has_one_upgrade_then_its_rollback(plan: fleet.Plan) -> None:
    """The plan upgrades one pinned account and later rolls that upgrade back."""
    assert [(c.action, c.account) for c in plan.changes] == [
        ("upgrade", plan.changes[0].account), ("rollback", plan.changes[0].account)]
    assert plan.changes[0].after < plan.changes[1].after
    assert plan.changes[1].version == plan.pinned[plan.changes[0].account]


def test_unpinned_accounts_open_with_a_burst(plan: fleet.Plan) -> None:
    """Each of the 15 unpinned accounts' first four requests come one after another."""
    assert len(plan.unpinned) == 15
    assert len(plan.requests) == 600
    accounts = [account for account, _ in plan.requests]
    for account in plan.unpinned:
        first = accounts.index(account)
        assert accounts[first:first + 4] == [account] * 4


def test_every_request_is_answered(tally: fleet.Tally) -> None:
    """All 600 requests get a 200, none fails or times out."""
    assert tally.errors == []
    assert len(tally.latencies) == 600


def test_no_answer_is_at_a_version_the_account_should_not_get(tally: fleet.Tally) -> None:
    """Status, X-API-Version and body are those of the version asked for, else of the
    account's pin (either pin within the cache lifetime after a change)."""
    assert tally.mixups == []


def test_changed_account_is_at_its_last_pin_after_the_window(tally: fleet.Tally) -> None:
    """Once the cache lifetime has passed, the upgraded and rolled back account is
    served at the pin it was rolled back to."""
    assert tally.checked_after == 1
    assert tally.mixups == []


def test_every_account_is_pinned_exactly_once(plan: fleet.Plan, tally: fleet.Tally) -> None:
    """However many first requests raced across the workers, each account's history in
    the store holds one first pin."""
    assert tally.double_pins == []
    assert Counter(account for account, _ in plan.requests)[plan.unpinned[0]] >= 4


class GatedStore(MemoryPinStore):
    """A memory store whose async read takes its snapshot, then waits to be let go: a
    database read in flight while the pin changes elsewhere."""

    def __init__(self) -> None:
        super().__init__()
        self.reading = asyncio.Event()
        self.go = asyncio.Event()

    async def aget(self, account: str) -> Pin | None:
        """The pin as it was when the read began, returned once ``go`` is set."""
        pin = self.get(account)
        self.reading.set()
        await self.go.wait()
        return pin


def test_a_read_overtaken_by_an_announced_change_is_not_kept() -> None:
    """A pin read while another process's upgrade is announced is not cached: the
    next lookup reads the new pin instead of the old one for a whole lifetime."""
    async def scenario() -> tuple[str | None, Pin | None, str | None]:
        store = GatedStore()
        store.pin_first("acct", "2020-05-18")
        cache = PinCache(store, ttl=60.0, clock=lambda: 0.0)
        read = asyncio.create_task(cache.aget("acct"))
        await store.reading.wait()
        store.upgrade("acct", "2021-05-10")  # elsewhere, then announced:
        cache.forget("acct")
        store.go.set()
        old = await read
        again = await cache.aget("acct")
        return (old.version if old else None, cache.cached("acct"),
                again.version if again else None)

    old, held_then, again = asyncio.run(scenario())
    assert old == "2020-05-18"
    assert again == "2021-05-10"
    assert held_then is None or held_then.version == "2021-05-10"
