"""The front door: API and APIGroups serving real apps on loopback, and its HTTP edges.

Starlette on uvicorn and Flask on werkzeug, real SQLite pin files; the body
limit is also checked by calling the ASGI app directly, to count what it reads.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from datever import API, APIGroups, ReleaseLifecycle
from datever.web.asgi import Message, Scope
from tests.servers import serving, serving_wsgi

CHANGES = Path(__file__).parent.parent / "changes"
TODAY = dt.date(2026, 11, 22)
V1_CHARGE = {"amount": "12.34", "currency": "EUR", "capture": True, "source": "card_1"}


def clock() -> dt.date:
    """A fixed today, so that no test depends on the real date."""
    return TODAY


async def echo(request: Request) -> Response:
    """Answers with what the app received: its path and the decoded body."""
    body = await request.body()
    return JSONResponse({"path": request.url.path,
                         "received": json.loads(body) if body else None,
                         "type": request.headers.get("content-type")})


def nested(depth: int) -> Any:
    """A charge wrapped in ``depth`` levels of arrays."""
    payload: Any = {"object": "charge", "amount": 1}
    for _ in range(depth):
        payload = [payload]
    return payload


async def deep(request: Request) -> Response:
    """A head response nested far past any real API's depth."""
    return JSONResponse(nested(200))


def starlette_app() -> Starlette:
    return Starlette(routes=[Route("/deep", deep),
                             Route("/{rest:path}", echo, methods=["GET", "HEAD", "POST"])])


def account(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-account":
            return str(value.decode("latin-1"))
    return None


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> API:
    pins = tmp_path_factory.mktemp("pins") / "pins.sqlite3"
    return API(CHANGES, routes={"POST /charges": "charge.create"}, pins=pins,
               lifecycle={"v1": ReleaseLifecycle(dt.date(2019, 4, 15), dt.date(2024, 1, 1),
                                                 dt.date(2099, 12, 31))},
               changelog_url="https://api.example.com/changelog", clock=clock)


@pytest.fixture(scope="module")
def client(api: API) -> Iterator[httpx.Client]:
    with serving(api.asgi(starlette_app(), account=account)) as url, \
            httpx.Client(base_url=url) as http:
        yield http


def test_api_migrates_an_old_request_up_for_the_app(client: httpx.Client) -> None:
    """API(...).asgi(app): a v1 charge body reaches the app in the head shape."""
    response = client.post("/v1/charges", json=V1_CHARGE)
    assert response.status_code == 200
    received = response.json()["received"]
    assert received["amount"] == 1234
    assert received["currency"] == "eur"
    assert "capture" not in received
    assert received["capture_method"] == "automatic"
    assert response.json()["path"] == "/charges"


def test_api_sends_the_lifecycle_headers(client: httpx.Client) -> None:
    """A lifecycle given as a mapping gives Deprecation, Sunset and Link headers."""
    response = client.get("/v1/anything")
    assert response.headers["x-api-version"] == "v1"
    assert response.headers["deprecation"] == "@1704067200"
    assert response.headers["sunset"] == "Thu, 31 Dec 2099 00:00:00 GMT"
    assert 'rel="deprecation"' in response.headers["link"]


def test_api_pins_an_account_on_its_first_request(api: API, client: httpx.Client) -> None:
    """pins= a path: the SQLite store pins a new account to the newest release."""
    response = client.get("/anything", headers={"X-Account": "acct_front"})
    newest = api.timeline.versions[-1]
    assert response.headers["x-api-version"] == newest
    assert api.pins is not None
    pin = api.pins.get("acct_front")
    assert pin is not None
    assert pin.version == newest


def test_api_upgrade_and_rollback_go_through_the_pin_store(api: API) -> None:
    """upgrade() moves a pin forward, rollback() restores it."""
    assert api.pins is not None
    api.pins.pin_first("acct_up", "2020-02-03")
    assert api.upgrade("acct_up", "2021-06-07", today=TODAY).version == "2021-05-10"
    assert api.rollback("acct_up").version == "2020-02-03"


def test_version_from_the_header_or_default_says_vary(client: httpx.Client) -> None:
    """The version header can change the response: Vary names it."""
    for headers in ({"X-API-Version": "2020-06-01"}, {}):
        response = client.get("/anything", headers=headers)
        assert response.headers["vary"] == "X-API-Version"


def test_version_in_the_path_needs_no_vary(client: httpx.Client) -> None:
    """A /v2020-06-01/ path wins over any header, so the response does not vary by it."""
    response = client.get("/v2020-06-01/anything")
    assert "vary" not in response.headers


def test_gzip_encoded_body_that_must_go_up_is_a_415(client: httpx.Client) -> None:
    """A compressed body cannot be migrated: refused rather than passed on unmigrated."""
    body = gzip.compress(json.dumps(V1_CHARGE).encode())
    response = client.post("/v1/charges", content=body, headers={
        "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert response.status_code == 415
    assert "content-encoded (gzip)" in response.json()["error"]["message"]


def test_body_past_the_limit_is_a_413(api: API, client: httpx.Client) -> None:
    """A body longer than max_body (1 MiB by default) is answered 413."""
    big = {**V1_CHARGE, "description": "x" * (api.versioning.max_body + 1)}
    response = client.post("/v1/charges", json=big)
    assert response.status_code == 413
    error = response.json()["error"]
    assert (error["type"], error["limit"]) == ("request_body_too_large", 1024 * 1024)


def test_routes_mapping_must_name_method_and_template() -> None:
    """A route written without its method is refused with the form to use."""
    with pytest.raises(ValueError, match="'METHOD /template'"):
        API(CHANGES, routes={"/charges": "charge.create"})


def test_lifecycle_mapping_needs_a_changelog_url() -> None:
    """Deprecation and Sunset link to the changelog, so a lifecycle mapping needs its URL."""
    with pytest.raises(ValueError, match="changelog_url"):
        API(CHANGES, lifecycle={"v1": ReleaseLifecycle(dt.date(2019, 4, 15))})


def test_max_body_must_be_a_size() -> None:
    """max_body is a byte count: anything else is refused at once."""
    with pytest.raises(ValueError, match="max_body"):
        API(CHANGES, max_body=-1)


# -- the limit, without reading the rest ------------------------------------------


async def _call(app: Any, scope: Scope, messages: list[Message]) -> tuple[list[Message], int]:
    """Call an ASGI app; return what it sent and how many request messages it read."""
    sent: list[Message] = []
    read = 0

    async def receive() -> Message:
        nonlocal read
        read += 1
        return messages[read - 1]

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent, read


def _post_scope(headers: list[tuple[bytes, bytes]]) -> Scope:
    return {"type": "http", "method": "POST", "path": "/v1/charges", "raw_path": b"/v1/charges",
            "query_string": b"", "root_path": "", "headers": headers}


@pytest.mark.anyio
async def test_declared_length_past_the_limit_is_refused_unread() -> None:
    """Content-Length above the limit: 413 before a single body message is read."""
    app = API(CHANGES, routes={"POST /charges": "charge.create"}, max_body=100,
              clock=clock).asgi(starlette_app())
    sent, read = await _call(app, _post_scope([(b"content-type", b"application/json"),
                                               (b"content-length", b"56000000")]), [])
    assert (sent[0]["status"], read) == (413, 0)


@pytest.mark.anyio
async def test_streamed_body_past_the_limit_stops_being_read() -> None:
    """A chunked body is read only until it passes the limit, then answered 413."""
    app = API(CHANGES, routes={"POST /charges": "charge.create"}, max_body=100,
              clock=clock).asgi(starlette_app())
    chunks = [{"type": "http.request", "body": b"x" * 60, "more_body": True}] * 50
    sent, read = await _call(app, _post_scope([(b"content-type", b"application/json"),
                                               (b"transfer-encoding", b"chunked")]), chunks)
    assert (sent[0]["status"], read) == (413, 2)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- WSGI ---------------------------------------------------------------------------


def flask_app() -> Any:
    app = flask.Flask("front-door")

    @app.route("/<path:rest>", methods=["GET", "HEAD", "POST"])
    def everything(rest: str) -> Any:
        return {"path": flask.request.path, "received": flask.request.get_json(silent=True)}

    return app


def test_api_wsgi_serves_a_flask_app() -> None:
    """The same API wraps a WSGI app: the body goes up, the 415 and 413 hold too."""
    api = API(CHANGES, routes={"POST /charges": "charge.create"}, max_body=4096, clock=clock)
    app = flask_app()
    app.wsgi_app = api.wsgi(app.wsgi_app)
    with serving_wsgi(app) as url, httpx.Client(base_url=url) as http:
        received = http.post("/v1/charges", json=V1_CHARGE).json()["received"]
        assert (received["amount"], received["currency"]) == (1234, "eur")
        assert http.post("/v1/charges", data={"a": "1"}).status_code == 415
        big = {**V1_CHARGE, "description": "x" * 5000}
        assert http.post("/v1/charges", json=big).status_code == 413
        response = http.get("/things", headers={"X-API-Version": "2020-06-01"})
        assert response.headers["vary"] == "X-API-Version"


# -- feature groups -------------------------------------------------------------------

COMPUTE_P1 = '''"""Estimates call their result co2e."""
from datever import Change, rename
change = Change(released="v2-preview1", resources={
    "estimate": [rename("co2", "co2e")], "estimate.create": [rename("activity", "activity_id")]})
'''
DATA_2021 = '''"""Searches call their results data."""
from datever import Change, rename
change = Change(released="2021-01-01", resources={"search": [rename("results", "data")]})
'''


def groups(tmp_path: Path) -> APIGroups:
    (tmp_path / "compute").mkdir()
    (tmp_path / "compute" / "v2_preview1_co2e.py").write_text(COMPUTE_P1)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "2021_01_01_search_data.py").write_text(DATA_2021)
    return APIGroups({
        "compute": API(tmp_path / "compute", name="compute",
                       versions=["v1", "v2-preview1"], clock=clock,
                       routes={"POST /estimate": "estimate.create"}),
        "data": API(tmp_path / "data", name="data", clock=clock),
    })


async def grouped(request: Request) -> Response:
    body = await request.body()
    if request.url.path == "/compute/estimate":
        return JSONResponse({"object": "estimate", "co2e": 1.5,
                             "received": json.loads(body) if body else None})
    if request.url.path == "/data/search":
        return JSONResponse({"object": "search", "data": [1]})
    return JSONResponse({"path": request.url.path})


def test_one_middleware_serves_each_group_at_its_own_version(tmp_path: Path) -> None:
    """/compute/v1/... and /data/v2020-01-01/...: each group migrates by its own timeline."""
    app = Starlette(routes=[Route("/{rest:path}", grouped, methods=["GET", "POST"])])
    with serving(groups(tmp_path).asgi(app)) as url, httpx.Client(base_url=url) as http:
        old = http.post("/compute/v1/estimate", json={"activity": "a"})
        assert old.json() == {"object": "estimate", "co2": 1.5,
                              "received": {"activity_id": "a"}}
        assert old.headers["x-api-version"] == "v1"
        new = http.post("/compute/v2-preview1/estimate", json={"activity_id": "a"})
        assert new.json()["co2e"] == 1.5
        assert http.get("/data/v2020-01-01/search").json() == {"object": "search",
                                                               "results": [1]}
        assert http.get("/data/v2021-06-07/search").json()["data"] == [1]
        health = http.get("/health")
        assert health.json() == {"path": "/health"}
        assert "x-api-version" not in health.headers


def test_groups_must_share_the_version_header(tmp_path: Path) -> None:
    """One middleware looks for one header: groups reading different ones are refused."""
    (tmp_path / "a").mkdir()
    with pytest.raises(ValueError, match="one middleware needs one of each"):
        APIGroups({"a": API(tmp_path / "a"), "b": API(tmp_path / "a", header="X-Version")})


def test_group_namespace_is_one_segment(tmp_path: Path) -> None:
    """A namespace with a slash could never match a first path segment."""
    (tmp_path / "a").mkdir()
    with pytest.raises(ValueError, match="one path segment"):
        APIGroups({"a/b": API(tmp_path / "a")})


# -- the API object's other doors ---------------------------------------------------


def test_render_event_and_for_account_use_the_api_pins(tmp_path: Path) -> None:
    """api.render_for_account renders at the account's pin, pinning it first if needed."""
    from datever import MemoryPinStore

    store = MemoryPinStore(order=API(CHANGES).timeline.version_order)
    api = API(CHANGES, pins=store)
    store.pin_first("acct_old", "v1")
    event = {"object": "refund", "id": "re_1", "reason": "suspected_fraud",
             "status": "succeeded", "amount": 100, "charge": "ch_1", "currency": "eur",
             "created": 1}
    rendered = api.render_for_account("acct_old", event)
    assert rendered.version == "v1"
    assert json.loads(rendered.body)["reason"] == "fraudulent"
    fresh = api.render_for_account("acct_new", event)
    assert fresh.version == api.timeline.versions[-1]
    assert api.render_event(event, "X").body == json.dumps(event, separators=(",", ":")).encode()


def test_render_for_account_needs_a_pin_store() -> None:
    """Without pins= there is no account pin to render at: a clear error."""
    with pytest.raises(ValueError, match="pins="):
        API(CHANGES).render_for_account("acct", {"object": "refund"})


def test_api_takes_a_timeline_routes_object_and_lifecycle_object() -> None:
    """The parts built by hand go in as they are."""
    from datever.lifecycle import Lifecycle
    from datever.web.routing import Routes

    timeline = API(CHANGES).timeline
    routes = Routes()
    routes.add("POST", "/charges", "charge.create")
    lifecycle = Lifecycle({}, changelog_url="https://api.example.com/changes",
                          order=timeline.versions)
    api = API(timeline, routes=routes, lifecycle=lifecycle)
    assert (api.timeline, api.routes, api.lifecycle) == (timeline, routes, lifecycle)
    assert api.resolve("2021-06-07", today=TODAY).name == "2021-05-10"
    assert repr(api) == f"<API 'default': {len(timeline.versions)} releases, 1 routes, pins off>"
    with pytest.raises(ValueError, match="give it there"):
        API(timeline, lifecycle=lifecycle, changelog_url="https://api.example.com/other")


def test_routes_must_be_a_mapping_or_routes() -> None:
    """Anything else for routes= is refused with the accepted forms."""
    with pytest.raises(TypeError, match="mapping"):
        API(CHANGES, routes=[("POST", "/charges")])  # type: ignore[arg-type]


def test_groups_hold_apis_only() -> None:
    """APIGroups maps namespaces to API objects; an engine is refused."""
    api = API(CHANGES)
    with pytest.raises(TypeError, match="API objects"):
        APIGroups({"payments": api.engine})  # type: ignore[dict-item]
    groups = APIGroups({"payments": api})
    assert (list(groups), len(groups), groups["payments"]) == (["payments"], 1, api)
    assert repr(groups) == "<APIGroups payments>"


def test_groups_serve_a_wsgi_app(tmp_path: Path) -> None:
    """The same groups wrap a Flask app: each namespace at its own version."""
    app = flask.Flask("groups")

    @app.route("/data/search")
    def search() -> Any:
        return {"object": "search", "data": [1]}

    app.wsgi_app = groups(tmp_path).wsgi(app.wsgi_app)
    with serving_wsgi(app) as url, httpx.Client(base_url=url) as http:
        assert http.get("/data/v2020-01-01/search").json() == {"object": "search",
                                                               "results": [1]}
        assert http.get("/data/search", headers={"X-API-Version": "2021-06-07"}
                        ).json()["data"] == [1]


def test_a_refusal_the_header_caused_says_vary(client: httpx.Client) -> None:
    """A 400 for a malformed version in the header varies by that header."""
    from_header = client.get("/anything", headers={"X-API-Version": "2021-6-7"})
    assert from_header.status_code == 400
    assert from_header.headers["vary"] == "X-API-Version"


# -- bodies datever refuses, in the client's terms ----------------------------------


def test_request_body_its_version_refuses_gets_a_400_with_the_whole_story(
        client: httpx.Client) -> None:
    """The 400 says what failed and where, in words pinned here: an absurd amount is
    refused by the v1 shape before any transform runs."""
    response = client.post("/v1/charges", json={**V1_CHARGE, "amount": "1e999000"})
    assert response.status_code == 400
    assert response.json() == {"error": {
        "type": "invalid_request_body", "reason": "invalid",
        "message": "the request body does not fit charge.create at v1: expected `str` "
                   "matching regex '^[0-9]{1,6}\\\\.[0-9]{2}$' (at $.amount)",
        "version": "v1", "resource": "charge.create", "path": "$.amount", "change": None}}


def test_request_body_that_is_not_json_gets_a_400(client: httpx.Client) -> None:
    """Broken JSON is named as such, with the decoder's own words."""
    response = client.post("/v1/charges", content=b'{"amount": ',
                           headers={"Content-Type": "application/json"})
    error = response.json()["error"]
    assert (response.status_code, error["reason"]) == (400, "invalid_json")
    assert error["message"] == "the request body is not valid JSON: Input data was truncated"


def test_request_body_nested_too_deep_gets_a_400(client: httpx.Client) -> None:
    """A body nested past the depth limit is a 400 naming the limit, not a 500."""
    body = b'{"metadata":' + b"[" * 5000 + b"]" * 5000 + b"}"
    response = client.post("/v1/charges", content=body,
                           headers={"Content-Type": "application/json"})
    error = response.json()["error"]
    assert (response.status_code, error["reason"]) == (400, "too_deep")
    assert error["message"] == ("the request body nests objects and arrays deeper than 64 "
                                "levels")


def test_response_nested_too_deep_is_a_logged_500(client: httpx.Client,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """A head response past the depth limit is the service's bug: logged, and a bare 500."""
    with caplog.at_level("ERROR", logger="datever"):
        response = client.get("/v1/deep")
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "response_migration_failed"
    assert "nested more than 64 levels" in caplog.text


@pytest.mark.parametrize(("resource", "expected"), [
    ("charge.creat", "'charge.creat' is not declared; .* \\(did you mean 'charge.create'\\?\\)"),
    ("charge", "'charge' is declared as a response resource"),
])
def test_route_must_name_a_declared_request_body(resource: str, expected: str) -> None:
    """With changes/resources.py, a route naming no declared request body is refused."""
    with pytest.raises(ValueError, match=expected):
        API(CHANGES, routes={"POST /charges": resource})


def test_an_absurd_version_is_not_echoed_whole(client: httpx.Client) -> None:
    """A 60 KB version header is refused with a short 400 that quotes 64 characters of it."""
    response = client.get("/anything", headers={"X-API-Version": "9" * 60_000})
    error = response.json()["error"]
    assert response.status_code == 400
    assert len(response.content) < 2_000
    assert error["requested"] == "9" * 64 + "…"
    assert error["message"] == f"'{'9' * 64}…' is not a version"
