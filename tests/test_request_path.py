"""The per-request fast paths: kept decisions and resolutions never answer another request."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import msgspec
import pendulum
from hypothesis import given
from hypothesis import strategies as st

from datever import Change, Engine, MemoryPinStore, add, rename
from datever.selection import VersionSelector
from datever.versions import Timeline, path_version
from datever.web.asgi import VersioningMiddleware
from datever.web.versioning import Proceed, Reply, Routes, Versioning

DAY = dt.date(2022, 6, 1)


def timeline(**options: Any) -> Timeline:
    """Releases on 2020-01-01 and 2021-01-01, each renaming a property of ``item`` and
    of the request body ``item.create``."""
    return Timeline([
        Change(released=f"{year}-01-01", description=str(year), id=f"c{year}",
               resources={"item": [rename(f"a{year - 1}", f"a{year}")]})
        for year in (2020, 2021)
    ], **options)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, day: dt.date) -> None:
        self.day = day

    def __call__(self) -> dt.date:
        return self.day


def proceed(decision: Reply | Proceed) -> Proceed:
    assert isinstance(decision, Proceed), decision
    return decision


def test_the_same_request_is_decided_once_per_day() -> None:
    """A request naming no client, repeated on the same day, gets the decision already made."""
    versioning = Versioning(Engine(timeline()), clock=Clock(DAY))
    first = versioning.decide("GET", "/items", {"x-api-version": "2020-06-01"})
    assert versioning.decide("GET", "/items", {"x-api-version": "2020-06-01"}) is first


def test_two_versions_interleaved_each_get_their_own() -> None:
    """Requests for two versions, interleaved, each get the version they named."""
    versioning = Versioning(Engine(timeline()), clock=Clock(DAY))
    for _ in range(3):
        for asked, served in (("2020-06-01", "2020-01-01"), ("v1", "v1"),
                              ("2021-02-02", "2021-01-01")):
            decision = proceed(versioning.decide("GET", "/items", {"x-api-version": asked}))
            assert decision.version.name == served
            assert ("X-API-Version", served) in decision.headers


def test_the_path_and_method_are_part_of_the_decision() -> None:
    """The same version on two paths and two methods: each gets its own path and resource."""
    routes = Routes()
    routes.add("POST", "/items", "item")
    versioning = Versioning(Engine(timeline()), routes=routes, clock=Clock(DAY))
    for _ in range(2):
        posted = proceed(versioning.decide("POST", "/v2020-06-01/items"))
        listed = proceed(versioning.decide("GET", "/v2020-06-01/items"))
        other = proceed(versioning.decide("POST", "/v2020-06-01/others"))
        assert (posted.path, posted.prefix, posted.resource) == ("/items", "/v2020-06-01",
                                                                 "item")
        assert (listed.resource, other.path, other.resource) == (None, "/others", None)


def test_a_day_change_through_the_clock_is_seen() -> None:
    """Tomorrow's date is served with a warning; once the clock reaches it, without one."""
    clock = Clock(dt.date(2021, 5, 31))
    versioning = Versioning(Engine(timeline()), clock=clock)
    request = ("GET", "/items", {"x-api-version": "2021-06-01"})
    early = proceed(versioning.decide(*request))
    assert early.version.warning is not None
    assert "X-API-Warning" in dict(early.headers)
    clock.day = dt.date(2021, 6, 1)
    late = proceed(versioning.decide(*request))
    assert late.version.warning is None
    assert "X-API-Warning" not in dict(late.headers)


def test_a_date_two_days_ahead_is_refused_until_the_clock_catches_up() -> None:
    """A refused request is not remembered: the same date is served once it is no longer
    in the future."""
    clock = Clock(dt.date(2021, 5, 30))
    versioning = Versioning(Engine(timeline()), clock=clock)
    request = ("GET", "/items", {"x-api-version": "2021-06-01"})
    refused = versioning.decide(*request)
    assert isinstance(refused, Reply)
    assert refused.status == 400
    clock.day = dt.date(2021, 6, 1)
    assert proceed(versioning.decide(*request)).version.name == "2021-01-01"


def test_a_route_added_later_is_matched() -> None:
    """A route added after a request was decided applies to the next one."""
    routes = Routes()
    versioning = Versioning(Engine(timeline()), routes=routes, clock=Clock(DAY))
    assert proceed(versioning.decide("POST", "/v1/items")).resource is None
    routes.add("POST", "/items", "item")
    assert proceed(versioning.decide("POST", "/v1/items")).resource == "item"


def test_each_account_gets_its_own_pin() -> None:
    """Requests of two accounts, interleaved, are each served at their account's pin."""
    pins = MemoryPinStore()
    tl = timeline()
    pins.pin_first("old", "2020-01-01")
    pins.pin_first("new", "2021-01-01")
    versioning = Versioning(Engine(tl), VersionSelector(tl, pins=pins), clock=Clock(DAY))
    for _ in range(2):
        for account in ("old", "new"):
            decision = proceed(versioning.decide("GET", "/items", account=account))
            assert decision.version.name == pins.get(account).version  # type: ignore[union-attr]


def test_an_upgraded_account_is_served_its_new_pin() -> None:
    """An account's upgrade takes effect on its next request."""
    pins = MemoryPinStore()
    tl = timeline()
    pins.pin_first("acct", "2020-01-01")
    versioning = Versioning(Engine(tl), VersionSelector(tl, pins=pins), clock=Clock(DAY))
    assert proceed(versioning.decide("GET", "/items", account="acct")).version.name == (
        "2020-01-01")
    pins.upgrade("acct", "2021-01-01")
    assert proceed(versioning.decide("GET", "/items", account="acct")).version.name == (
        "2021-01-01")


def test_a_client_pin_beats_what_was_decided_without_one() -> None:
    """The same request with and without a client pin is decided apart."""
    versioning = Versioning(Engine(timeline()), clock=Clock(DAY))
    assert proceed(versioning.decide("GET", "/items")).version.name == "v1"
    pinned = proceed(versioning.decide("GET", "/items", client_pin="2021-01-01"))
    assert (pinned.version.name, pinned.source) == ("2021-01-01", "client")
    assert proceed(versioning.decide("GET", "/items")).source == "default"


def test_a_gated_preview_asks_for_access_on_every_request() -> None:
    """Access to a gated preview is checked each time: a grant withdrawn is a 403 next."""
    granted = [True]
    tl = Timeline([Change(released="v2-preview1", id="p1", description="p",
                          resources={"item": [add("b", 0)]})],
                  preview_access=lambda client, version: granted[0])
    versioning = Versioning(Engine(tl))
    assert proceed(versioning.decide("GET", "/v2-preview1/items")).version.name == (
        "v2-preview1")
    granted[0] = False
    reply = versioning.decide("GET", "/v2-preview1/items")
    assert isinstance(reply, Reply)
    assert reply.status == 403


def test_resolution_is_the_same_for_a_date_a_datetime_and_a_pendulum_date() -> None:
    """today= as a date, a datetime of that day or a pendulum date resolves alike."""
    tl = timeline()
    days = (dt.date(2021, 5, 31), dt.datetime(2021, 5, 31, 23, 59),
            pendulum.date(2021, 5, 31))
    resolved = [tl.resolve("2021-06-01", today=day) for day in days]
    assert {(version.name, version.warning is not None) for version in resolved} == {
        ("2021-01-01", True)}


def test_resolution_on_another_day_is_not_the_kept_one() -> None:
    """The same text resolved on two days gives each day's answer."""
    tl = timeline()
    assert tl.resolve("2021-06-01", today=dt.date(2021, 5, 31)).warning is not None
    assert tl.resolve("2021-06-01", today=dt.date(2021, 6, 1)).warning is None


@given(st.text(max_size=20))
def test_a_version_segment_starts_with_v(segment: str) -> None:
    """path_version names a version only for a segment starting with ``v``."""
    if not segment.startswith("v"):
        assert path_version(segment) is None


def test_the_middleware_serves_interleaved_versions_their_own_bodies() -> None:
    """Through the ASGI middleware, requests for two versions alternate and each response
    is migrated to its own version."""
    versioning = Versioning(Engine(timeline()), clock=Clock(DAY))
    body = msgspec.json.encode({"object": "item", "a2021": "x"})

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    middleware = VersioningMiddleware(app, versioning)

    async def get(version: str) -> dict[str, Any]:
        sent: list[Any] = []

        async def receive() -> Any:
            return {"type": "http.request", "body": b""}

        async def send(message: Any) -> None:
            sent.append(message)

        await middleware({"type": "http", "method": "GET", "path": "/items",
                          "headers": [(b"x-api-version", version.encode())],
                          "query_string": b""}, receive, send)
        decoded: dict[str, Any] = msgspec.json.decode(sent[-1]["body"])
        return decoded

    async def run() -> list[dict[str, Any]]:
        return [await get(version) for version in ("v1", "2021-01-01", "2020-01-01") * 2]

    answers = asyncio.run(run())
    assert [next(key for key in answer if key.startswith("a")) for answer in answers] == [
        "a2019", "a2021", "a2020"] * 2


def test_a_query_mapping_with_lists_is_still_decided() -> None:
    """A query mapping whose other parameters hold lists (as parse_qs gives) is decided
    from its version parameter, as any other."""
    versioning = Versioning(Engine(timeline()), clock=Clock(DAY))
    query: dict[str, Any] = {"api-version": "2020-06-01", "tag": ["a", "b"]}
    for _ in range(2):
        assert proceed(versioning.decide("GET", "/items", None, query)).version.name == (
            "2020-01-01")
