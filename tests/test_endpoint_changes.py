"""HTTP-level changes (datever.endpoints) served by the middlewares, end to end.

A small timeline with one change per behaviour, a Starlette app on a real
uvicorn server (and a Flask app on werkzeug's server) on loopback, httpx.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any
from wsgiref.types import WSGIApplication

import flask
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from werkzeug.serving import WSGIRequestHandler, make_server

from datever import Change, Engine
from datever.endpoints import (
    EndpointRequest,
    add_endpoint,
    change_error_format,
    change_status,
    remove_endpoint,
    rename_endpoint,
    rename_param,
)
from datever.errors import ChangeError
from datever.versions import Timeline
from datever.web.asgi import ASGIApp, VersioningMiddleware
from datever.web.versioning import Reply, Versioning
from datever.web.wsgi import VersioningWSGIMiddleware
from tests.servers import serving


def legacy(request: EndpointRequest) -> tuple[int, Any]:
    """The handler that keeps GET /legacy/{id} alive for versions before 2024-03-01."""
    return 200, {"id": request.params["id"], "query": dict(request.query),
                 "method": request.method, "path": request.path,
                 "version": request.version.name, "body": request.body}


def problem_to_error(body: Any) -> Any:
    """The 2026 error format (problem details) back to the old {"error": {...}}."""
    return {"error": {"message": body["title"], "code": body["status"]}}


CHANGES = [
    Change(released="2021-03-01", id="q_is_query", description="q is called query",
           resources={"item": [rename_param("GET", "/items", "q", "query")]}),
    Change(released="2022-03-01", id="cards_move", description="cards have their own path",
           resources={"card": [rename_endpoint("GET", "/accounts/{id}/cards",
                                               "/cards/{id}")]}),
    Change(released="2023-03-01", id="reports", description="reports are new",
           retroactive=False, resources={"report": [add_endpoint("GET", "/reports")]}),
    Change(released="2024-03-01", id="legacy_gone", description="legacy is removed",
           resources={"legacy": [remove_endpoint("GET", "/legacy/{id}", handler=legacy)]}),
    Change(released="2025-03-01", id="created_201", description="creating answers 201",
           resources={"item": [change_status("POST", "/items", 200, 201)]}),
    Change(released="2025-06-01", id="query_is_search", description="query is search",
           resources={"item": [rename_param("GET", "/items", "query", "search")]}),
    Change(released="2026-03-01", id="problem_details", description="RFC 9457 errors",
           resources={"error": [change_error_format("errors are problem details",
                                                    down=problem_to_error)]}),
]
ENGINE = Engine(Timeline(CHANGES))


def versioning() -> Versioning:
    """Fresh versioning for the small timeline (default selector: header, path, query)."""
    return Versioning(ENGINE)


# -- the ASGI app -------------------------------------------------------------


async def items(request: Request) -> Response:
    return JSONResponse({"search": request.query_params.get("search"),
                         "query_string": request.scope["query_string"].decode()})


async def create_item(request: Request) -> Response:
    return JSONResponse({"created": True}, status_code=201)


async def cards(request: Request) -> Response:
    return JSONResponse({"account": request.path_params["id"],
                         "raw_path": request.scope["raw_path"].decode()})


async def reports(request: Request) -> Response:
    return JSONResponse({"reports": []})


async def fail(request: Request) -> Response:
    return JSONResponse({"type": "about:blank", "title": "bad input", "status": 422},
                        status_code=422, media_type="application/problem+json")


def make_app() -> ASGIApp:
    """The Starlette app, at the head shape, behind the middleware."""
    app = Starlette(routes=[
        Route("/items", items), Route("/items", create_item, methods=["POST"]),
        Route("/cards/{id}", cards), Route("/reports", reports), Route("/fail", fail),
    ])
    return VersioningMiddleware(app, versioning())


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    """A client of the Starlette app on a real uvicorn server."""
    with serving(make_app(), lifespan="off") as url, httpx.Client(base_url=url) as http:
        yield http


def at(version: str) -> dict[str, str]:
    """The headers that ask for ``version``."""
    return {"X-API-Version": version}


# -- query parameters -----------------------------------------------------------


def test_renamed_query_parameter_reaches_the_app_under_its_head_name(
        client: httpx.Client) -> None:
    """A 2021-06-01 client's ?query= reaches the app as ?search=; the head's ?query= does not."""
    old = client.get("/items?query=red&page=2", headers=at("2021-06-01")).json()
    head = client.get("/items?query=red&page=2", headers=at("X")).json()
    assert old == {"search": "red", "query_string": "search=red&page=2"}
    assert head == {"search": None, "query_string": "query=red&page=2"}


def test_two_renames_of_one_parameter_apply_oldest_first(client: httpx.Client) -> None:
    """An initial-version client's ?q= goes through query to search, in order."""
    old = client.get("/items", params={"q": "blue"}, headers=at("v1")).json()
    head = client.get("/items", params={"q": "blue"}, headers=at("X")).json()
    assert (old["search"], head["search"]) == ("blue", None)


# -- renamed endpoints -------------------------------------------------------------


def test_renamed_endpoint_old_path_is_rewritten_for_old_versions(
        client: httpx.Client) -> None:
    """A 2021 client's /accounts/a_1/cards reaches /cards/a_1; the head's gets the app's 404."""
    old = client.get("/v2021-06-01/accounts/a_1/cards")
    head = client.get("/vX/accounts/a_1/cards")
    assert old.status_code == 200
    assert old.json() == {"account": "a_1", "raw_path": "/cards/a_1"}
    assert head.status_code == 404


def test_renamed_endpoint_new_path_serves_the_head(client: httpx.Client) -> None:
    """The head reaches the endpoint at its new path."""
    response = client.get("/cards/a_2", headers=at("X"))
    assert (response.status_code, response.json()["account"]) == (200, "a_2")


# -- added endpoints ---------------------------------------------------------------


def test_added_endpoint_is_404_for_versions_before_it(client: httpx.Client) -> None:
    """A 2022 client gets a JSON 404 for /reports; the head gets the reports."""
    old = client.get("/reports", headers=at("2022-06-01"))
    head = client.get("/reports", headers=at("X"))
    assert old.status_code == 404
    assert old.headers["content-type"] == "application/json"
    assert old.json()["error"]["type"] == "endpoint_not_found"
    assert old.json()["error"]["added_in"] == "2023-03-01"
    assert (head.status_code, head.json()) == (200, {"reports": []})


# -- removed endpoints -------------------------------------------------------------


def test_removed_endpoint_is_served_by_its_handler_for_old_versions(
        client: httpx.Client) -> None:
    """A 2023 client reaches the removed /legacy/{id} through the handler; the head gets 404."""
    old = client.get("/legacy/l_1?x=1", headers=at("2023-06-01"))
    head = client.get("/legacy/l_1?x=1", headers=at("X"))
    assert old.status_code == 200
    assert old.json() == {"id": "l_1", "query": {"x": "1"}, "method": "GET",
                          "path": "/legacy/l_1", "version": "2023-03-01", "body": None}
    assert old.headers["x-api-version"] == "2023-03-01"
    assert head.status_code == 404


def test_removed_endpoint_handler_gets_the_json_body(client: httpx.Client) -> None:
    """The handler receives the request's JSON body decoded."""
    response = client.request("GET", "/legacy/l_2", json={"a": 1}, headers=at("2023-06-01"))
    assert response.json()["body"] == {"a": 1}


def test_removed_endpoint_with_a_body_that_is_not_json_is_a_400(
        client: httpx.Client) -> None:
    """A body that is not JSON never reaches the handler."""
    response = client.request("GET", "/legacy/l_3", content=b"{nope",
                              headers=at("2023-06-01"))
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_body"


# -- statuses ----------------------------------------------------------------------


def test_changed_status_is_undone_for_old_versions(client: httpx.Client) -> None:
    """POST /items answers 200 to a 2024 client and 201 to the head."""
    old = client.post("/items", json={}, headers=at("2024-06-01"))
    head = client.post("/items", json={}, headers=at("X"))
    assert (old.status_code, old.json()) == (200, {"created": True})
    assert (head.status_code, head.json()) == (201, {"created": True})


# -- error format ------------------------------------------------------------------


def test_error_format_is_converted_down_for_old_versions(client: httpx.Client) -> None:
    """A 2025 client gets the old error body; the head the problem details."""
    old = client.get("/fail", headers=at("2025-12-01"))
    head = client.get("/fail", headers=at("X"))
    assert (old.status_code, old.json()) == (422, {"error": {"message": "bad input",
                                                             "code": 422}})
    assert int(old.headers["content-length"]) == len(old.content)
    assert head.status_code == 422
    assert head.json() == {"type": "about:blank", "title": "bad input", "status": 422}


def test_error_format_leaves_success_bodies_alone(client: httpx.Client) -> None:
    """A 2xx JSON body is not passed through the error format's down."""
    response = client.get("/reports", headers=at("2025-12-01"))
    assert response.json() == {"reports": []}


# -- compilation and declarations ---------------------------------------------------


def test_versions_with_nothing_pending_have_no_endpoint_rules() -> None:
    """The head and the newest release compile to no rules; older ones to cached rules."""
    versions = versioning()
    assert versions.endpoint_rules(ENGINE.resolve("X")) is None
    assert versions.endpoint_rules(ENGINE.resolve("2026-03-01")) is None
    old = ENGINE.resolve("v1")
    assert versions.endpoint_rules(old) is versions.endpoint_rules(old) is not None


def test_remove_endpoint_handler_must_be_callable() -> None:
    """A handler that is not callable is a ChangeError."""
    with pytest.raises(ChangeError, match="handler must be callable"):
        remove_endpoint("GET", "/legacy", handler="legacy")  # type: ignore[arg-type]


def test_change_error_format_down_must_be_callable() -> None:
    """A down that is not callable is a ChangeError."""
    with pytest.raises(ChangeError, match="down must be callable"):
        change_error_format("problem details", down=42)  # type: ignore[arg-type]


def test_rename_endpoint_new_path_parameters_come_from_the_old_path() -> None:
    """A parameter of new_path that old_path lacks is a ChangeError."""
    with pytest.raises(ChangeError, match="does not have"):
        rename_endpoint("GET", "/cards", "/cards/{id}")


# -- WSGI --------------------------------------------------------------------------


def make_flask_app() -> WSGIApplication:
    """The same head API on Flask, behind the WSGI middleware."""
    app = flask.Flask(__name__)

    @app.get("/cards/<card_id>")
    def card(card_id: str) -> Any:
        return {"account": card_id, "path": flask.request.path}

    @app.post("/items")
    def create() -> Any:
        return {"created": True}, 201

    @app.get("/items")
    def listing() -> Any:
        return {"search": flask.request.args.get("search")}

    @app.get("/fail")
    def failing() -> Any:
        return {"type": "about:blank", "title": "bad input", "status": 422}, 422

    wsgi: WSGIApplication = app.wsgi_app
    return VersioningWSGIMiddleware(wsgi, versioning())


class QuietHandler(WSGIRequestHandler):
    """werkzeug's request handler without the access log."""

    def log(self, type: str, message: str, *args: Any) -> None:
        """Log nothing."""


@pytest.fixture(scope="module")
def flask_client() -> Iterator[httpx.Client]:
    """A client of the Flask app on werkzeug's threaded server."""
    server = make_server("127.0.0.1", 0, make_flask_app(), threaded=True,
                         request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="werkzeug-test", daemon=True)
    thread.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}") as http:
            yield http
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_wsgi_renamed_endpoint_and_parameter(flask_client: httpx.Client) -> None:
    """On Flask, an old client's old path and old parameter name reach the head ones."""
    old = flask_client.get("/v2021-06-01/accounts/a_1/cards")
    head = flask_client.get("/vX/accounts/a_1/cards")
    assert (old.status_code, old.json()) == (200, {"account": "a_1", "path": "/cards/a_1"})
    assert head.status_code == 404
    found = flask_client.get("/items?q=red", headers=at("v1")).json()
    assert found == {"search": "red"}


def test_wsgi_status_and_error_format(flask_client: httpx.Client) -> None:
    """On Flask, a 2024 client gets 200 and the old error body; the head 201 and the new."""
    assert flask_client.post("/items", headers=at("2024-06-01")).status_code == 200
    assert flask_client.post("/items", headers=at("X")).status_code == 201
    old = flask_client.get("/fail", headers=at("2024-06-01"))
    assert old.json() == {"error": {"message": "bad input", "code": 422}}
    assert flask_client.get("/fail", headers=at("X")).json()["title"] == "bad input"


def test_wsgi_added_and_removed_endpoints(flask_client: httpx.Client) -> None:
    """On Flask, an old client gets 404 for /reports and the handler for /legacy/{id}."""
    assert flask_client.get("/reports", headers=at("2022-06-01")).json()["error"][
        "type"] == "endpoint_not_found"
    legacy_old = flask_client.get("/legacy/l_9", headers=at("2023-06-01"))
    assert (legacy_old.status_code, legacy_old.json()["id"]) == (200, "l_9")
    assert flask_client.get("/legacy/l_9", headers=at("X")).status_code == 404


# -- order -------------------------------------------------------------------------


def test_statuses_are_undone_newest_first() -> None:
    """200->201 then 201->202: the app's 202 is 200 at v1, 201 at 2021-06-01, 202 at X."""
    timeline = Timeline([
        Change(released="2021-03-01", id="a", description="201",
               resources={"item": [change_status("POST", "/items", 200, 201)]}),
        Change(released="2022-03-01", id="b", description="202",
               resources={"item": [change_status("POST", "/items", 201, 202)]}),
    ])
    versions = Versioning(Engine(timeline))
    statuses = []
    for version in ("v1", "2021-06-01", "X"):
        decision = versions.decide("POST", "/items", {"X-API-Version": version})
        assert not isinstance(decision, Reply)
        statuses.append(decision.undo.status(202) if decision.undo else 202)
    assert statuses == [200, 201, 202]


def test_rules_after_a_rename_see_the_renamed_path() -> None:
    """A status change declared on an endpoint's new path applies to its old path's clients."""
    timeline = Timeline([
        Change(released="2021-03-01", id="a", description="moved",
               resources={"item": [rename_endpoint("POST", "/things", "/items")]}),
        Change(released="2022-03-01", id="b", description="201",
               resources={"item": [change_status("POST", "/items", 200, 201)]}),
    ])
    decision = Versioning(Engine(timeline)).decide("POST", "/things", {"X-API-Version": "v1"})
    assert not isinstance(decision, Reply)
    assert (decision.path, decision.moved) == ("/items", True)
    assert decision.undo is not None
    assert decision.undo.status(201) == 200


# -- HEAD follows GET ------------------------------------------------------------


def test_head_request_follows_a_renamed_get_endpoint(client: httpx.Client) -> None:
    """HEAD /accounts/a1/cards at 2021-06-01 reaches the app's /cards/a1, as GET does."""
    get = client.get("/accounts/a1/cards", headers=at("2021-06-01"))
    head = client.head("/accounts/a1/cards", headers=at("2021-06-01"))
    assert (get.status_code, head.status_code) == (200, 200)
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.content == b""


def test_head_request_for_an_endpoint_the_version_predates_is_a_404(
        client: httpx.Client) -> None:
    """GET /reports is added in 2023-03-01: HEAD at 2022-06-01 is a 404 like GET."""
    assert client.get("/reports", headers=at("2022-06-01")).status_code == 404
    assert client.head("/reports", headers=at("2022-06-01")).status_code == 404
    assert client.head("/reports", headers=at("2023-06-01")).status_code == 200


def test_head_request_keeps_its_own_rule_when_one_is_declared() -> None:
    """A rule declared for HEAD itself is the one a HEAD request follows."""
    change = Change(released="2023-03-01", id="head_ping", description="HEAD /ping is new",
                    retroactive=False, resources={"ping": [add_endpoint("HEAD", "/ping")]})
    decision = Versioning(Engine(Timeline([change]))).decide(
        "HEAD", "/ping", {"X-API-Version": "2022-01-01"}, today=dt.date(2026, 1, 1))
    assert isinstance(decision, Reply)
    assert decision.status == 404
