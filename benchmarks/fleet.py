"""The example service as a fleet: ``python -m benchmarks.fleet [--quick]``.

Several uvicorn worker processes of ``examples.payments`` share one pin store
(a throwaway PostgreSQL cluster, started as the tests start theirs, or one
SQLite file). A seeded plan of requests over many accounts runs against them
on loopback: a quarter of the accounts have no pin and open with a burst of
concurrent first requests; the others were pinned beforehand. Each request
names a version in the header or relies on the account's pin. While it runs,
this process (not a worker) upgrades some accounts through the store and
rolls some back. Every answer is compared, status, ``X-API-Version`` and body
byte for byte, with what an explicit request for the version it should have
had gets: after a change, either pin is accepted while a worker's cache may
still hold the old one (from the request's start minus the cache lifetime and
a margin, to its end), and only the new one after. Each account's history in
the store must show exactly one first pin.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks import report
from datever import SQLitePinStore

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "fleet.md"
CHARGE = "ch_fleet"
#: what the plan asks for: the newest release, X, a middle release, the initial version
VERSIONS = ("2025-09-29", "X", "2021-05-10", "v1")
#: the versions accounts are pinned to (X cannot be a pin), and where each upgrades to
PIN_VERSIONS = ("v1", "2021-05-10", "2025-09-29")
MARGIN = 0.5
"""Seconds added to the cache lifetime for a change to reach every worker (the commit's
own round trip, a lookup in flight as it commits)."""


@dataclass(frozen=True)
class Change:
    """After request ``after`` is sent, ``account`` is upgraded to ``version`` (or rolled
    back to it, ``action="rollback"``)."""

    after: int
    account: str
    action: str
    version: str


@dataclass(frozen=True)
class Plan:
    """The accounts, their pins before the run, the requests (account, version header or
    None) in order, and the pin changes made during the run."""

    pinned: dict[str, str]
    unpinned: list[str]
    requests: list[tuple[str, str | None]]
    changes: list[Change]
    #: every version asked for or pinned to, oldest pin first, newest last
    versions: tuple[str, ...]

    @property
    def newest(self) -> str:
        """The newest release: what a first request pins."""
        return self.versions[-1]


def plan(requests: int, accounts: int, changes: int, *, seed: int = 2026,
         versions: tuple[str, ...] = VERSIONS, pins: tuple[str, ...] = PIN_VERSIONS,
         burst: int = 4) -> Plan:
    """A seeded plan: a quarter of the ``accounts`` unpinned, each opening with ``burst``
    requests in a row; ``changes`` upgrades (each pin to the next of ``pins``, oldest
    first), half of them rolled back later."""
    rng = random.Random(seed)
    upgrades = dict(itertools.pairwise(pins))
    names = [f"acct_{index:04d}" for index in range(accounts)]
    unpinned = names[:accounts // 4]
    pinned = {name: rng.choice(pins) for name in names[accounts // 4:]}
    # slots of one request, or of a burst kept together until the plan is flattened
    slots: list[list[tuple[str, str | None]]] = [
        [(rng.choice(list(pinned)), rng.choice(versions) if rng.random() < 0.5 else None)]
        for _ in range(requests - burst * len(unpinned))]
    for name in unpinned:  # a burst of first requests, then some more later on
        at = rng.randrange(len(slots) // 2 + 1)
        for slot in slots[at:]:
            if len(slot) == 1 and slot[0][0] in pinned and rng.random() < 0.5 / accounts:
                slot[0] = (name, slot[0][1])
        slots.insert(at, [(name, rng.choice((*versions, None, None))) for _ in range(burst)])
    traffic = [request for slot in slots for request in slot]
    movable = [name for name, version in pinned.items() if version in upgrades]
    made: list[Change] = []
    for index, name in enumerate(rng.sample(movable, min(changes, len(movable)))):
        up = rng.randrange(len(traffic) // 5, len(traffic) // 2)
        made.append(Change(up, name, "upgrade", upgrades[pinned[name]]))
        if index % 2 == 0:
            made.append(Change(rng.randrange(up + len(traffic) // 10, len(traffic) * 4 // 5),
                               name, "rollback", pinned[name]))
    return Plan(pinned, unpinned, traffic, sorted(made, key=lambda c: c.after),
                (*dict.fromkeys((*versions, *pins[:-1])), pins[-1]))


@dataclass
class Tally:
    """What the run saw: latencies (s), mix-ups, errors, stale pins served inside the
    window, and how long after a change the old pin was last served."""

    latencies: list[float] = field(default_factory=list)
    mixups: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stale: int = 0
    lag: float = 0.0
    seconds: float = 0.0
    double_pins: list[str] = field(default_factory=list)
    checked_after: int = 0

    def summary(self) -> dict[str, Any]:
        """The figures of the run."""
        ordered = sorted(self.latencies)
        return {"requests": len(ordered), "seconds": self.seconds,
                "rps": len(ordered) / self.seconds if self.seconds else 0.0,
                "p50_ms": 1000 * statistics.median(ordered) if ordered else 0.0,
                "p99_ms": 1000 * ordered[int(0.99 * (len(ordered) - 1))] if ordered else 0.0,
                "mixups": len(self.mixups), "errors": len(self.errors),
                "double_pins": len(self.double_pins), "stale_in_window": self.stale,
                "max_lag_s": self.lag, "checked_after": self.checked_after}


class Pins:
    """This process's view of every account's pin over time: (earliest, latest moment of
    the commit, version) per change."""

    def __init__(self, plan: Plan, newest: str) -> None:
        self.initial = {**plan.pinned, **dict.fromkeys(plan.unpinned, newest)}
        self.moves: dict[str, list[tuple[float, float, str]]] = {}

    def record(self, account: str, started: float, ended: float, version: str) -> None:
        self.moves.setdefault(account, []).append((started, ended, version))

    def allowed(self, account: str, low: float, high: float) -> set[str]:
        """The versions that may have been the account's pin at some moment of [low, high]."""
        segments = [(float("-inf"), self.initial[account])]
        ends = []
        for started, ended, version in self.moves.get(account, ()):
            ends.append(ended)
            segments.append((started, version))
        ends.append(float("inf"))
        return {version for (start, version), end in zip(segments, ends, strict=True)
                if start <= high and end >= low}

    def certain(self, account: str, at: float) -> str:
        """The pin that was surely in force at ``at``."""
        version = self.initial[account]
        for _, ended, moved in self.moves.get(account, ()):
            if ended <= at:
                version = moved
        return version


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def seed_storage(db: Path) -> None:
    """The payments database the workers share, holding the customer and charge read."""
    from examples.payments import resources
    from examples.payments.resources import Mint
    from examples.payments.storage import Store

    mint = Mint(None, 7)
    store = Store(db)
    customer = resources.customer({"email": "ada@example.com", "name": "Ada Lovelace",
                                   "balance": -1250, "default_currency": "eur"}, mint,
                                  id="cus_fleet")
    charge = resources.charge({"amount": 1234, "currency": "eur", "customer": "cus_fleet",
                               "payment_method": "pm_card_visa", "confirm": True,
                               "capture_method": "automatic"},
                              lambda kind, id_: customer, mint, id=CHARGE)
    with store.transaction():
        store.put(customer)
        store.put(charge)
    store.close()


@contextlib.contextmanager
def service(pins: str, db: Path, workers: int, ttl: float) -> Iterator[str]:
    """``python -m examples.payments --workers N`` on a free port; yields its base URL."""
    port = _free_port()
    env = {**os.environ, "PAYMENTS_DB": str(db), "PAYMENTS_PINS": pins,
           "PAYMENTS_PIN_TTL": str(ttl)}
    command = [sys.executable, "-m", "examples.payments", "--port", str(port),
               "--workers", str(workers)]
    log = db.parent / "service.log"
    with log.open("wb") as errors:
        process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True,
                                   stdout=subprocess.DEVNULL, stderr=errors)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the service exited: {log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/charges/{CHARGE}", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the service did not answer within 60 s")
            time.sleep(0.1)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)  # the workers are in its session
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


Answer = tuple[int, str | None, bytes]


async def oracle(client: httpx.AsyncClient, versions: set[str]) -> dict[str, Answer]:
    """What an anonymous request naming each version in the header gets: the truth."""
    truth = {}
    for version in versions:
        response = await client.get(f"/charges/{CHARGE}", headers={"X-API-Version": version})
        truth[version] = (response.status_code, response.headers.get("x-api-version"),
                          response.content)
    return truth


async def drive(url: str, the_plan: Plan, store: Any, *, ttl: float, concurrency: int = 8,
                limit: float = 300.0) -> Tally:
    """Send the plan's requests (``concurrency`` at a time) and make its changes through
    ``store`` meanwhile; check every answer; then the store's histories."""
    tally = Tally()
    window = ttl + MARGIN
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        truth = await oracle(client, set(the_plan.versions))
        for _ in range(2):  # every worker has compiled its pipelines before the clock runs
            await asyncio.gather(*(oracle(client, set(the_plan.versions))
                                   for _ in range(concurrency)))
        pins = Pins(the_plan, the_plan.newest)
        gate = asyncio.Semaphore(concurrency)
        changes = iter(the_plan.changes)
        pending = next(changes, None)
        moving: list[asyncio.Task[None]] = []

        async def move(change: Change) -> None:
            started = time.monotonic()
            act = store.upgrade if change.action == "upgrade" else store.rollback
            args = (change.account, change.version) if change.action == "upgrade" else (
                change.account,)
            await asyncio.to_thread(act, *args)
            pins.record(change.account, started, time.monotonic(), change.version)

        async def one(account: str, version: str | None) -> None:
            headers = {"Authorization": f"Bearer {account}"}
            if version is not None:
                headers["X-API-Version"] = version
            started = time.monotonic()
            try:
                response = await client.get(f"/charges/{CHARGE}", headers=headers)
            except httpx.HTTPError as exc:
                tally.errors.append(f"{account} {version}: {exc!r}")
                return
            finally:
                gate.release()
            ended = time.monotonic()
            tally.latencies.append(ended - started)
            got = (response.status_code, response.headers.get("x-api-version"),
                   response.content)
            if response.status_code != 200:
                tally.errors.append(f"{account} {version}: {response.status_code} "
                                    f"{response.content[:200]!r}")
                return
            if version is not None:
                if got != truth[version]:
                    tally.mixups.append(f"{account} asked {version}, got {got[1]}")
                return
            allowed = pins.allowed(account, started - window, ended)
            matched = [pin for pin in allowed if got == truth[pin]]
            if not matched:
                tally.mixups.append(f"{account} pinned to one of {sorted(allowed)}, "
                                    f"got {got[1]}")
            elif pins.certain(account, started) not in matched:
                tally.stale += 1
                moved = [end for _, end, _ in pins.moves.get(account, ()) if end <= started]
                tally.lag = max(tally.lag, started - max(moved, default=started))

        began = time.monotonic()
        sent: list[asyncio.Task[None]] = []
        for index, (account, version) in enumerate(the_plan.requests):
            await gate.acquire()
            while pending is not None and pending.after <= index:
                moving.append(asyncio.create_task(move(pending)))
                pending = next(changes, None)
            sent.append(asyncio.create_task(one(account, version)))
            if time.monotonic() - began > limit:
                tally.errors.append(f"stopped after {limit} s at request {index}")
                break
        await asyncio.gather(*sent, *moving)
        tally.seconds = time.monotonic() - began
        await asyncio.sleep(window)  # past every window: each changed account's last pin
        for account in {change.account for change in the_plan.changes}:
            response = await client.get(f"/charges/{CHARGE}",
                                        headers={"Authorization": f"Bearer {account}"})
            tally.checked_after += 1
            if (response.status_code, response.headers.get("x-api-version"),
                    response.content) != truth[pins.certain(account, time.monotonic())]:
                tally.mixups.append(f"{account}: not at its last pin {window} s after it")
    for account in [*the_plan.pinned, *the_plan.unpinned]:
        firsts = [e for e in await asyncio.to_thread(store.history, account)
                  if e.action == "pinned"]
        if len(firsts) != 1:
            tally.double_pins.append(f"{account}: {len(firsts)} first pins")
    return tally


def run(kind: str, the_plan: Plan, *, workers: int, ttl: float, concurrency: int,
        url: str | None = None) -> Tally:
    """One run of ``the_plan`` against ``workers`` processes sharing the pins: on the
    PostgreSQL database ``url`` (``kind="postgresql"``) or on one SQLite file."""
    with tempfile.TemporaryDirectory(prefix="datever-fleet-") as scratch:
        db = Path(scratch) / "payments.sqlite3"
        seed_storage(db)
        store: Any
        if kind == "postgresql":
            from datever.pins_pg import PostgresPinStore

            assert url is not None
            store, target = PostgresPinStore(url, max_size=4), url
        else:
            target = str(Path(scratch) / "pins.sqlite3")
            store = SQLitePinStore(target)
        try:
            for account, version in the_plan.pinned.items():
                store.pin_first(account, version)
            with service(target, db, workers, ttl) as base:
                return asyncio.run(drive(base, the_plan, store, ttl=ttl,
                                         concurrency=concurrency))
        finally:
            store.close()


def _row(label: str, figures: dict[str, Any]) -> str:
    return (f"| {label} | {figures['requests']:,} | {figures['rps']:,.0f} | "
            f"{figures['p50_ms']:.1f} ms | {figures['p99_ms']:.1f} ms | {figures['mixups']} | "
            f"{figures['double_pins']} | {figures['errors']} | {figures['stale_in_window']} "
            f"| {figures['max_lag_s']:.2f} s |")


def markdown(results: dict[str, dict[str, Any]], settings: dict[str, Any]) -> str:
    """The results page: the table, the settings, the machine and what to keep in mind."""
    env = report.environment(ROOT)
    lines = [
        "# The example service as a fleet", "",
        f"`python -m benchmarks.fleet`: {settings['workers']} uvicorn worker processes of "
        "`examples.payments`, `GET /charges/{id}` on loopback from one httpx AsyncClient "
        f"({settings['concurrency']} requests in flight), {settings['requests']:,} requests "
        f"over {settings['accounts']} accounts (a quarter unpinned, each opening with "
        f"{settings['burst']} concurrent first requests), half naming a version in "
        f"`X-API-Version` ({', '.join(VERSIONS)}), half relying on the account's pin; "
        f"{settings['changes']} upgrades during the run, half of them rolled back later, "
        "made through the store by the benchmark's own process. Pin cache lifetime "
        f"{settings['ttl']:g} s.", "",
        "| pins | requests | requests/s | p50 | p99 | mix-ups | double first pins | errors "
        "| old pin inside the window | longest such lag |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(_row(label, figures) for label, figures in results.items()), "",
        "A *mix-up* is an answer whose status, `X-API-Version` or body (byte for byte) "
        "differs from what an explicit request for the version the account should get "
        "receives. After an upgrade or a rollback either pin is accepted from the change "
        f"until the cache lifetime plus {MARGIN} s later (measured from each request's "
        "start); *old pin inside the window* counts the answers that used it, and the lag "
        "is the longest time from a change's commit to such an answer. After the run, "
        "past every window, each changed account is read once more and must be at its "
        "last pin. *Double first pins* counts accounts whose history in the store has "
        "more than one `pinned` entry.", "",
        f"Machine: {env['cpu']}, {env['cores']} cores ({env['usable_cores']} usable), "
        f"{env['platform']}; {env['python']}; msgspec {env['msgspec']}, pendulum "
        f"{env['pendulum']}, datever {env['datever']} (commit {env['datever_commit']}), "
        f"uvicorn {report._version('uvicorn')}, httpx {report._version('httpx')}, psycopg "
        f"{report._version('psycopg')}, psycopg-pool {report._version('psycopg-pool')}, "
        f"{settings.get('postgres', 'PostgreSQL')}; load average before the runs "
        f"{settings['load']}.", "",
        "Caveats: the client, the workers and PostgreSQL share the same two cores, and "
        "the machine was running other work (the load average above), so the figures are "
        "the service's throughput on this box with its own load generator, not a capacity; "
        "the client is a large share of the cost (one worker answers a sequential client "
        "in about 1 ms, and httpx's AsyncClient got fewer answers per second with 64 "
        "requests in flight than with 8, hence 8); with PostgreSQL every cache miss is a "
        "round trip to the database, plus one to check the pooled connection; the payments "
        "data (one SQLite file, read-only during the run) is the "
        "same in both runs; the SQLite run has four workers sharing one pin file, where "
        "PostgreSQL's LISTEN/NOTIFY does not exist and a change reaches other workers only "
        "when their cached pin expires.", ""]
    return "\n".join(lines)


def _postgres_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else 'unknown'} (fsync off, a throwaway cluster)"


def main(argv: list[str] | None = None) -> int:
    """Run the fleet on PostgreSQL, then on SQLite; print and write the results."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fleet", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1,000 requests")
    parser.add_argument("--out", type=Path, default=RESULTS, help="the results page")
    args = parser.parse_args(argv)
    settings: dict[str, Any] = {
        "workers": 4, "requests": 1000 if args.quick else 10_000,
        "accounts": 100 if args.quick else 500, "changes": 10 if args.quick else 40,
        "concurrency": 8, "ttl": 5.0, "burst": 4, "load": report.load_average()}
    the_plan = plan(settings["requests"], settings["accounts"], settings["changes"],
                    burst=settings["burst"])
    from tests.postgres import Cluster, fresh_database

    cluster = Cluster()
    results: dict[str, dict[str, Any]] = {}
    try:
        cluster.start()
        url = fresh_database(cluster.url)
        settings["postgres"] = _postgres_version(url)
        common = {"workers": settings["workers"], "ttl": settings["ttl"],
                  "concurrency": settings["concurrency"]}
        for label, kind, target in (("PostgreSQL, 4 workers", "postgresql", url),
                                    ("SQLite file, 4 workers", "sqlite", None)):
            tally = run(kind, the_plan, url=target, **common)
            results[label] = tally.summary()
            for problem in [*tally.mixups, *tally.errors, *tally.double_pins][:20]:
                print(f"{label}: {problem}", file=sys.stderr)
    finally:
        cluster.stop()
    page = markdown(results, settings)
    print(page)
    args.out.write_text(page)
    failed = any(r["mixups"] or r["errors"] or r["double_pins"] for r in results.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
