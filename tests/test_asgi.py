"""The ASGI middleware, end to end: a real uvicorn server on loopback, a Starlette app, httpx."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from datever import Change, Engine, ReleaseLifecycle, SQLitePinStore, rename
from datever.changes import load_changes
from datever.context import current_version, includes
from datever.lifecycle import Lifecycle
from datever.selection import VersionSelector
from datever.versions import Timeline
from datever.web.asgi import ASGIApp, Scope, VersioningMiddleware
from datever.web.versioning import Routes, Versioning
from tests.reference import load_samples
from tests.servers import serving

CHANGES = Path(__file__).parent.parent / "changes"
ENGINE = Engine.from_directory(CHANGES)
CHANGELOG = "https://api.example.com/changelog"
ASYNC_REFUNDS = "2022_05_16_asynchronous_refunds"  # a side-effect change


SAMPLES = load_samples()
CHARGE = SAMPLES.charge(random.Random(7))
CHARGE_BYTES = msgspec.json.encode(CHARGE)
V1_BODY = SAMPLES.request_body("charge.create", random.Random(7))
LIFESPAN: list[str] = []


def lifecycle(engine: Engine = ENGINE) -> Lifecycle:
    """2019-04-15 was removed in 2021; 2019-08-05 is deprecated, with a sunset far ahead."""
    return Lifecycle({
        "2019-04-15": ReleaseLifecycle(dt.date(2019, 8, 5), dt.date(2020, 1, 1),
                                       dt.date(2021, 1, 1)),
        "2019-08-05": ReleaseLifecycle(dt.date(2019, 11, 11), dt.date(2024, 1, 1),
                                       dt.date(2099, 12, 31)),
    }, changelog_url=CHANGELOG, order=engine.timeline.versions)


def routes() -> Routes:
    """The request resources of the app's endpoints."""
    table = Routes()
    table.add("POST", "/charges", "charge.create")
    table.add("POST", "/customers", "customer.create")
    return table


def account(scope: Scope) -> str | None:
    """The account named by the X-Account request header."""
    for name, value in scope["headers"]:
        if name == b"x-account":
            return str(value.decode("latin-1"))
    return None


async def charge(request: Request) -> Response:
    await asyncio.sleep(0.001)  # let concurrent requests interleave
    return Response(CHARGE_BYTES, media_type="application/json",
                    headers={"X-Seen-Version": current_version().name})


async def create_charge(request: Request) -> Response:
    body = await request.body()
    return JSONResponse({"received": body.decode(), "content_length":
                         request.headers.get("content-length"), "length": len(body)})


async def stream(request: Request) -> Response:
    async def halves() -> AsyncIterator[bytes]:
        yield CHARGE_BYTES[:100]
        yield CHARGE_BYTES[100:]
    return StreamingResponse(halves(), media_type="application/json")


async def text(request: Request) -> Response:
    return PlainTextResponse(CHARGE_BYTES.decode())


async def broken(request: Request) -> Response:
    return JSONResponse({"object": "charge", "amount": "not cents", "created": 1})


async def seen(request: Request) -> Response:
    return JSONResponse({"path": request.scope["path"],
                         "raw_path": request.scope["raw_path"].decode(),
                         "version": current_version().name, "async_refunds":
                         includes(ASYNC_REFUNDS)})


def seen_in_thread(request: Request) -> Response:
    return JSONResponse({"version": current_version().name})


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    LIFESPAN.append("startup")
    yield
    LIFESPAN.append("shutdown")


def make_app(versioning: Versioning) -> ASGIApp:
    """The Starlette app behind the middleware."""
    app = Starlette(lifespan=lifespan, routes=[
        Route("/charges/{id}", charge), Route("/charges", create_charge, methods=["POST"]),
        Route("/stream", stream), Route("/text", text), Route("/broken", broken),
        Route("/seen", seen), Route("/seen-sync", seen_in_thread),
    ])
    return VersioningMiddleware(app, versioning, account=account)


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    """A client of the reference API served with a lifecycle and routes."""
    versioning = Versioning(ENGINE, VersionSelector(ENGINE.timeline), lifecycle=lifecycle(),
                            routes=routes())
    with serving(make_app(versioning)) as url, httpx.Client(base_url=url) as http:
        yield http


def expected(version: str) -> Any:
    """The sample charge as a client of ``version`` sees it."""
    return ENGINE.down(CHARGE, version)


def test_three_versions_from_path_header_and_query_give_three_shapes(
        client: httpx.Client) -> None:
    """A path prefix, a header and a query parameter each select the shape of their version."""
    by_path = client.get("/v2019-11-11/charges/ch_1").json()
    by_header = client.get("/charges/ch_1", headers={"X-API-Version": "2021-06-07"}).json()
    by_query = client.get("/charges/ch_1", params={"api-version": "2024-01-01"}).json()
    assert (by_path, by_header, by_query) == (
        expected("2019-11-11"), expected("2021-06-07"), expected("2024-01-01"))
    assert by_path != by_header != by_query != by_path


def test_head_version_passes_bytes_through(client: httpx.Client) -> None:
    """At X the response is the app's bytes, untouched."""
    response = client.get("/charges/ch_1", headers={"X-API-Version": "X"})
    assert response.content == CHARGE_BYTES
    assert response.headers["x-api-version"] == "X"


def test_request_body_is_migrated_up(client: httpx.Client) -> None:
    """A v1 charge.create body reaches the app in the head shape."""
    response = client.post("/v1/charges", json=V1_BODY)
    assert response.status_code == 200
    received = json.loads(response.json()["received"])
    assert received == ENGINE.up(V1_BODY, "v1", resource="charge.create")
    assert received["amount"] == round(float(V1_BODY["amount"]) * 100)


def test_migrated_request_carries_its_new_content_length(client: httpx.Client) -> None:
    """The app sees a Content-Length equal to the migrated body's length."""
    seen = client.post("/v1/charges", json=V1_BODY).json()
    assert int(seen["content_length"]) == seen["length"]
    assert seen["length"] != len(json.dumps(V1_BODY))


def test_response_content_length_matches_the_migrated_body(client: httpx.Client) -> None:
    """A migrated response's Content-Length is its new length."""
    response = client.get("/v1/charges/ch_1")
    assert response.json() == expected("v1")
    assert int(response.headers["content-length"]) == len(response.content)
    assert len(response.content) != len(CHARGE_BYTES)


def test_malformed_version_is_a_400_listing_accepted_forms(client: httpx.Client) -> None:
    """2021-6-7 is answered 400 with a JSON body that lists the accepted forms."""
    response = client.get("/charges/ch_1", headers={"X-API-Version": "2021-6-7"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["requested"]) == ("invalid_version", "2021-6-7")
    assert "YYYY-MM-DD" in error["accepted"]


def test_removed_version_is_410(client: httpx.Client) -> None:
    """A version past its sunset is answered 410 naming it and the oldest supported one."""
    response = client.get("/v2019-05-01/charges/ch_1")
    assert response.status_code == 410
    error = response.json()["error"]
    assert (error["type"], error["version"], error["oldest_supported"]) == (
        "version_removed", "2019-04-15", "v1")


def test_deprecated_version_carries_lifecycle_headers(client: httpx.Client) -> None:
    """Deprecation, Sunset, both Link relations and a warning come with a deprecated version."""
    response = client.get("/charges/ch_1", headers={"X-API-Version": "2019-08-05"})
    assert response.status_code == 200
    assert response.headers["deprecation"] == "@1704067200"
    assert response.headers["sunset"] == "Thu, 31 Dec 2099 00:00:00 GMT"
    links = response.headers.get_list("link")
    assert [link.split("; ")[1] for link in links] == ['rel="deprecation"', 'rel="sunset"']
    assert "deprecated" in response.headers["x-api-warning"]


def test_defaulted_request_gets_v1_with_a_warning(client: httpx.Client) -> None:
    """A request naming no version is served v1 and warned."""
    response = client.get("/charges/ch_1")
    assert response.headers["x-api-version"] == "v1"
    assert "no API version was requested" in response.headers["x-api-warning"]


def test_malformed_json_request_body_is_a_400_json_error(client: httpx.Client) -> None:
    """A body that is not JSON gets a 400 JSON error, not a traceback."""
    response = client.post("/v1/charges", content=b'{"amount": ',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_body"
    assert "not valid JSON" in error["message"]
    assert "Traceback" not in response.text


def test_request_body_a_transform_rejects_is_a_400(client: httpx.Client) -> None:
    """An old body the transforms cannot convert gets a 400 naming the path and the change."""
    response = client.post("/v1/charges", json={**V1_BODY, "amount": "lots"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["path"], error["change"]) == ("$", "2019_04_15_amounts_in_cents")


def test_non_json_request_body_is_untouched_when_nothing_goes_up(client: httpx.Client) -> None:
    """At the head a form body needs no migration: it reaches the app as sent."""
    response = client.post("/charges", data={"amount": "1.00"}, headers={"X-API-Version": "X"})
    assert response.json()["received"] == "amount=1.00"


def test_non_json_request_body_that_must_go_up_is_a_415(client: httpx.Client) -> None:
    """At v1 a charge.create body must be migrated: a form body is refused, not passed on."""
    response = client.post("/v1/charges", data={"amount": "1.00"})
    assert response.status_code == 415
    error = response.json()["error"]
    assert (error["type"], error["resource"], error["version"]) == (
        "unsupported_request_body", "charge.create", "v1")
    assert "application/x-www-form-urlencoded" in error["message"]
    assert response.headers["accept"] == "application/json"
    assert response.headers["x-api-version"] == "v1"


def test_non_json_response_is_untouched(client: httpx.Client) -> None:
    """A text/plain response passes as is, even when it looks like a head resource."""
    response = client.get("/v1/text")
    assert response.content == CHARGE_BYTES
    assert response.headers["x-api-version"] == "v1"


def test_streamed_response_is_untouched(client: httpx.Client) -> None:
    """A JSON response sent in several body messages passes as is, with the headers."""
    response = client.get("/v1/stream")
    assert response.content == CHARGE_BYTES
    assert response.headers["x-api-version"] == "v1"


def test_response_the_transforms_reject_is_a_500_json_error(client: httpx.Client) -> None:
    """A head response the down transforms cannot handle is a 500 that names no internals."""
    response = client.get("/v1/broken")
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "response_migration_failed"


def test_app_sees_the_path_without_the_version_prefix(client: httpx.Client) -> None:
    """path and raw_path lose the /v2021-06-07 prefix."""
    seen = client.get("/v2021-06-07/seen").json()
    assert (seen["path"], seen["raw_path"]) == ("/seen", "/seen")


def test_version_prefix_after_a_root_path_is_stripped() -> None:
    """Behind a mount point (root_path /api) the version segment after it is found and cut."""
    with serving(make_app(Versioning(ENGINE)), root_path="/api") as url, \
            httpx.Client(base_url=url) as http:
        seen = http.get("/v2021-06-07/seen").json()
    assert (seen["path"], seen["raw_path"], seen["version"]) == (
        "/api/seen", "/api/seen", "2021-05-10")


@pytest.mark.parametrize(("version", "included"), [("2022-01-01", False),
                                                    ("2023-01-01", True)])
def test_includes_reflects_the_callers_version(client: httpx.Client, version: str,
                                               included: bool) -> None:
    """includes() of a side-effect change follows the version of the request."""
    seen = client.get("/seen", headers={"X-API-Version": version}).json()
    assert seen["async_refunds"] is included


def test_current_version_is_set_in_threadpool_endpoints(client: httpx.Client) -> None:
    """A sync endpoint run in Starlette's thread pool sees the request's version."""
    seen = client.get("/seen-sync", headers={"X-API-Version": "2021-06-07"}).json()
    assert seen["version"] == "2021-05-10"


def test_lifespan_passes_through(client: httpx.Client) -> None:
    """The app's lifespan startup ran through the middleware."""
    assert "startup" in LIFESPAN


def test_concurrent_requests_never_mix_shapes(client: httpx.Client) -> None:
    """50 concurrent requests from 50 accounts at mixed versions each get their own shape."""
    versions = ["v1", "2019-11-11", "2021-06-07", "2024-01-01", "X"]
    base_url = str(client.base_url)

    async def run() -> list[tuple[str, httpx.Response]]:
        async with httpx.AsyncClient(base_url=base_url) as http:
            async def one(index: int) -> tuple[str, httpx.Response]:
                version = versions[index % len(versions)]
                return version, await http.get("/charges/ch_1", headers={
                    "X-API-Version": version, "X-Account": f"acct_{index}"})
            return await asyncio.gather(*(one(index) for index in range(50)))

    for version, response in asyncio.run(run()):
        resolved = ENGINE.resolve(version).name
        assert response.json() == expected(version)
        assert response.headers["x-api-version"] == response.headers["x-seen-version"] == (
            resolved)


def test_pins_survive_a_server_restart(tmp_path: Path) -> None:
    """An account pinned before a restart (and a new release) keeps its version after it."""
    older = Engine(Timeline([c for c in load_changes(CHANGES)
                             if c.released != dt.date(2025, 9, 29)]))
    path = tmp_path / "pins.sqlite3"
    for engine, account_id, pinned in ((older, "acct_old", "2025-02-17"),
                                       (ENGINE, "acct_old", "2025-02-17"),
                                       (ENGINE, "acct_new", "2025-09-29")):
        with SQLitePinStore(path) as pins:
            selector = VersionSelector(engine.timeline, pins=pins)
            with serving(make_app(Versioning(engine, selector))) as url, \
                    httpx.Client(base_url=url) as http:
                response = http.get("/charges/ch_1", headers={"X-Account": account_id})
            assert response.headers["x-api-version"] == pinned
            assert response.json() == engine.down(CHARGE, pinned)


def test_gated_preview_is_403_for_other_clients() -> None:
    """A preview gated to one account is 403 for another, served for it."""
    timeline = Timeline([Change(released="v2-preview1", id="p1", description="widgets",
                                resources={"charge": [rename("amount_cents", "amount")]})],
                        preview_access=lambda client, version: client == "acct_partner")
    engine = Engine(timeline)
    with serving(make_app(Versioning(engine, lifecycle=Lifecycle(
            {}, changelog_url=CHANGELOG, order=timeline.versions)))) as url, \
            httpx.Client(base_url=url) as http:
        other = http.get("/seen-sync", headers={"X-API-Version": "v2-preview1",
                                           "X-Account": "acct_other"})
        partner = http.get("/seen-sync", headers={"X-API-Version": "v2-preview1",
                                             "X-Account": "acct_partner"})
    assert other.status_code == 403
    assert other.json()["error"]["type"] == "version_forbidden"
    assert partner.status_code == 200
    assert partner.json()["version"] == "v2-preview1"
    assert "preview" in partner.headers["x-api-warning"]
