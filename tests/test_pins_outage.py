"""The pin database goes away mid-run (pg_ctl stop) and comes back (pg_ctl start).

While it is away, the example service behind the ASGI middleware serves a
pin its process still holds fresh, serves every request that names its
version, and answers 503 with Retry-After when only the account's pin could
say which version to serve; never the default in its place. Once the
database is back, the same requests are served at their pins again.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from benchmarks.fleet import CHARGE, seed_storage
from datever.web.asgi import Receive, Scope, Send
from examples.payments.app import CHANGELOG_URL, CHANGES, LIFECYCLE, ROUTES, PaymentsApp
from examples.payments.resources import Mint
from examples.payments.storage import Store
from tests.postgres import Cluster, fresh_database, missing
from tests.servers import serving

pytest.importorskip("psycopg")
from datever import API, Change, rename
from datever.pins import PinStoreUnavailable
from datever.pins_pg import PostgresPinStore
from datever.versions import Timeline

HELD, UNHELD = "acct_held", "acct_unheld"
RETRY = 0.5  # the store tries the database again every half second


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A cluster of this module's own, since it is stopped and started again."""
    lacking = missing()
    if lacking:
        message = "PostgreSQL tests need " + ", ".join(lacking)
        if os.environ.get("CI") or shutil.which("initdb"):
            pytest.fail(message)
        pytest.skip(message)
    own = Cluster()
    try:
        own.start()
        yield own
    finally:
        own.stop()


def get(client: httpx.Client, account: str | None, version: str | None = None
        ) -> httpx.Response:
    """GET the seeded charge as ``account`` (None: anonymously), naming ``version``."""
    headers = {"Authorization": f"Bearer {account}"} if account else {}
    if version is not None:
        headers["X-API-Version"] = version
    return client.get(f"/charges/{CHARGE}", headers=headers)


def served_at(response: httpx.Response, truth: dict[str, bytes], version: str) -> bool:
    """True when ``response`` is the charge at ``version``, status, header and body."""
    return (response.status_code == 200 and response.headers["x-api-version"] == version
            and response.content == truth[version])


@pytest.fixture(scope="module")
def outage(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[Cluster, httpx.Client, PostgresPinStore, dict[str, bytes]]]:
    """The example service on the cluster, ``HELD`` read once (its pin now cached for a
    minute), ``UNHELD`` pinned but never read; the truth of each version."""
    url = fresh_database(cluster.url)
    scratch: Path = tmp_path_factory.mktemp("outage")
    seed_storage(scratch / "payments.sqlite3")
    store = PostgresPinStore(url, timeout=2.0, retry=RETRY)
    store.pin_first(HELD, "2021-05-10")
    store.pin_first(UNHELD, "2020-05-18")
    api = API(CHANGES, routes=ROUTES, pins=store, pin_ttl=60.0, lifecycle=LIFECYCLE,
              changelog_url=CHANGELOG_URL)
    app = PaymentsApp(api, Store(scratch / "payments.sqlite3"), store, Mint())
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        truth = {version: get(client, None, version).content
                 for version in ("2020-05-18", "2021-05-10", "2025-09-29", "X")}
        assert served_at(get(client, HELD), truth, "2021-05-10")
        yield cluster, client, store, truth


def test_outage_then_recovery(
        outage: tuple[Cluster, httpx.Client, PostgresPinStore, dict[str, bytes]]) -> None:
    """During the outage each request is served at its fresh cached pin or its named
    version, or answered 503 with Retry-After, promptly; after it, pins serve again."""
    cluster, client, store, truth = outage
    cluster.pause()
    try:
        for _ in range(3):  # past several retry intervals, each checked
            started = time.monotonic()
            held, named = get(client, HELD), get(client, UNHELD, "2025-09-29")
            newcomer_x, unheld = get(client, "acct_new", "X"), get(client, UNHELD)
            newcomer = get(client, "acct_new")
            assert served_at(held, truth, "2021-05-10")
            assert served_at(named, truth, "2025-09-29")
            assert served_at(newcomer_x, truth, "X")
            for refused in (unheld, newcomer):
                assert refused.status_code == 503
                assert refused.headers["retry-after"] == "1"
                assert refused.json()["error"]["code"] == "pins_unavailable"
                assert "x-api-version" not in refused.headers
            # a refusal waits at most for one connection attempt (timeout=2 s)
            assert time.monotonic() - started < 5 * 2.0
            time.sleep(RETRY)
    finally:
        cluster.resume()
    deadline = time.monotonic() + 30
    while (answer := get(client, UNHELD)).status_code == 503:
        assert time.monotonic() < deadline, "the service did not recover within 30 s"
        time.sleep(0.1)
    assert served_at(answer, truth, "2020-05-18")
    assert store.history("acct_new") == []  # nothing was pinned while the database was away
    assert served_at(get(client, "acct_new"), truth, "2025-09-29")
    assert [event.action for event in store.history("acct_new")] == ["pinned"]


def test_store_calls_fail_fast_while_the_database_is_away(cluster: Cluster) -> None:
    """With the database stopped, a call raises PinStoreUnavailable naming the database
    (no password); within the retry interval the next one raises it without waiting on
    the pool; once it is back, calls succeed again."""
    store = PostgresPinStore(fresh_database(cluster.url).replace("postgres@",
                                                                 "postgres:sesame@"),
                             timeout=2.0, retry=1.5)
    try:
        store.pin_first("acct", "2021-05-10")
        cluster.pause()
        try:
            with pytest.raises(PinStoreUnavailable) as first:
                store.get("acct")
            started = time.monotonic()
            with pytest.raises(PinStoreUnavailable) as second:
                store.history("acct")
            assert time.monotonic() - started < 1.0  # the pool would wait 2 s
        finally:
            cluster.resume()
        assert f"port={cluster.port}" in str(first.value)
        assert "sesame" not in str(first.value)
        assert first.value.retry_after == 1.5
        assert "less than a retry interval ago" in str(second.value)
        deadline = time.monotonic() + 15
        while True:  # the retry interval passes, then the pool reconnects
            with contextlib.suppress(PinStoreUnavailable):
                assert store.get("acct") is not None
                break
            assert time.monotonic() < deadline, "the store did not recover within 15 s"
            time.sleep(0.1)
    finally:
        store.close()


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """A bare ASGI app answering every request with an empty JSON object."""
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b"{}"})


def test_gated_preview_is_503_while_pins_are_away(cluster: Cluster) -> None:
    """A preview's access, checked while the pin store is away, refuses nobody with a
    403: the partner who has access would get it, so everyone gets 503 and a retry."""
    timeline = Timeline([Change(released="v2-preview1", id="p1", description="widgets",
                                resources={"charge": [rename("amount_cents", "amount")]})],
                        preview_access=lambda client, version: client == "acct_partner")
    store = PostgresPinStore(fresh_database(cluster.url), order=timeline.version_order,
                             timeout=2.0, retry=30.0)
    api = API(timeline, pins=store, pin_ttl=0)
    app = api.asgi(echo, account=lambda scope: dict(scope["headers"]).get(
        b"x-account", b"").decode() or None)
    preview = {"X-API-Version": "v2-preview1"}
    try:
        with serving(app, lifespan="off") as base, httpx.Client(base_url=base) as client:
            before = [client.get("/", headers={**preview, "X-Account": account}).status_code
                      for account in ("acct_partner", "acct_other")]
            cluster.pause()
            try:
                during = [client.get("/", headers={**preview, "X-Account": account})
                          for account in ("acct_partner", "acct_other")]
            finally:
                cluster.resume()
        assert before == [200, 403]
        assert [answer.status_code for answer in during] == [503, 503]
        assert all(answer.headers["retry-after"] == "30" for answer in during)
    finally:
        store.close()


def test_a_lock_timeout_is_not_an_outage(cluster: Cluster) -> None:
    """A statement that gives up on a locked row raises PostgreSQL's own error, and the
    store goes on serving: the database answered, so nothing fails fast afterwards."""
    import psycopg

    url = fresh_database(cluster.url)
    store = PostgresPinStore(f"{url}?options=-c%20lock_timeout%3D100", retry=30.0)
    try:
        store.pin_first("acct", "2020-05-18")
        with psycopg.connect(url) as holder:
            holder.execute("SELECT * FROM datever_pins WHERE account = 'acct' FOR UPDATE")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                store.upgrade("acct", "2021-05-10")
        pin = store.get("acct")
        assert pin is not None
        assert pin.version == "2020-05-18"
    finally:
        store.close()
