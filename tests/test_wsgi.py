"""The WSGI middleware end to end (Flask on werkzeug's threaded server, httpx), and the core."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

import flask
import httpx
import msgspec
import pytest

from datever import Change, Engine, ReleaseLifecycle, rename
from datever.context import current_version, includes
from datever.lifecycle import Lifecycle
from datever.selection import VersionSelector
from datever.versions import Timeline
from datever.web.versioning import Reply, Routes, Versioning
from datever.web.wsgi import VersioningWSGIMiddleware
from tests.reference import load_samples
from tests.servers import serving_wsgi

CHANGES = Path(__file__).parent.parent / "changes"
ENGINE = Engine.from_directory(CHANGES)
ASYNC_REFUNDS = "2022_05_16_asynchronous_refunds"


SAMPLES = load_samples()
CHARGE = SAMPLES.charge(random.Random(11))
CHARGE_BYTES = msgspec.json.encode(CHARGE)
V1_BODY = SAMPLES.request_body("charge.create", random.Random(11))
CLOSED: list[str] = []


def versioning() -> Versioning:
    """The reference API with a removed (2019-04-15) and a deprecated (2019-08-05) release."""
    lifecycle = Lifecycle({
        "2019-04-15": ReleaseLifecycle(dt.date(2019, 8, 5), dt.date(2020, 1, 1),
                                       dt.date(2021, 1, 1)),
        "2019-08-05": ReleaseLifecycle(dt.date(2019, 11, 11), dt.date(2024, 1, 1),
                                       dt.date(2099, 12, 31)),
    }, changelog_url="https://api.example.com/changelog", order=ENGINE.timeline.versions)
    routes = Routes()
    routes.add("POST", "/charges", "charge.create")
    return Versioning(ENGINE, lifecycle=lifecycle, routes=routes)


class Recorded:
    """A response iterable that records that close() was called."""

    def __init__(self, name: str, chunks: list[bytes]) -> None:
        self.name, self.chunks = name, chunks

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.chunks)

    def close(self) -> None:
        CLOSED.append(self.name)


def bare(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """A bare WSGI app for /bare/<name>: a JSON charge in an iterable with close()."""
    start_response("200 OK", [("Content-Type", "application/json")])
    return Recorded(environ["PATH_INFO"].rsplit("/", 1)[-1], [CHARGE_BYTES])


def lazy(environ: WSGIEnvironment, start_response: StartResponse) -> Iterator[bytes]:
    """A generator app: start_response is only called when the server starts iterating."""
    start_response("200 OK", [("Content-Type", "application/json")])
    yield CHARGE_BYTES


def gzipped(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """A gzip-encoded JSON charge."""
    body = gzip.compress(CHARGE_BYTES)
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Encoding", "gzip"), ("Content-Length", str(len(body)))])
    return [body]


def make_app() -> WSGIApplication:
    """A Flask app behind the middleware; /bare/... goes to a bare WSGI app."""
    app = flask.Flask(__name__)

    @app.get("/charges/<charge_id>")
    def charge(charge_id: str) -> flask.Response:
        return flask.Response(CHARGE_BYTES, mimetype="application/json",
                              headers={"X-Seen-Version": current_version().name})

    @app.post("/charges")
    def create_charge() -> Any:
        body = flask.request.get_data()
        return {"received": body.decode(), "length": len(body),
                "content_length": flask.request.headers.get("Content-Length")}

    @app.get("/text")
    def text() -> flask.Response:
        return flask.Response(CHARGE_BYTES, mimetype="text/plain")

    @app.get("/ndjson")
    def ndjson() -> flask.Response:
        return flask.Response(iter([CHARGE_BYTES, b"\n", CHARGE_BYTES, b"\n"]),
                              mimetype="application/x-ndjson")

    @app.get("/streamed-version")
    def streamed_version() -> flask.Response:
        def chunks() -> Iterator[str]:
            yield "version "
            yield current_version().name  # runs while the server iterates the body
        return flask.Response(chunks(), mimetype="text/plain")

    @app.get("/seen")
    def seen() -> Any:
        return {"path": flask.request.path, "version": current_version().name,
                "async_refunds": includes(ASYNC_REFUNDS)}

    flask_app: WSGIApplication = app.wsgi_app

    def route(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ["PATH_INFO"].startswith("/bare/"):
            return bare(environ, start_response)
        if environ["PATH_INFO"] == "/lazy":
            return lazy(environ, start_response)
        if environ["PATH_INFO"] == "/gzip":
            return gzipped(environ, start_response)
        return flask_app(environ, start_response)

    return VersioningWSGIMiddleware(route, versioning(),
                                    account=lambda environ: environ.get("HTTP_X_ACCOUNT"))


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    """A client of the Flask app on a real server."""
    with serving_wsgi(make_app()) as url, httpx.Client(base_url=url) as http:
        yield http


def test_three_versions_from_path_header_and_query_give_three_shapes(
        client: httpx.Client) -> None:
    """A path prefix, a header and a query parameter each select the shape of their version."""
    by_path = client.get("/v2019-11-11/charges/ch_1").json()
    by_header = client.get("/charges/ch_1", headers={"X-API-Version": "2021-06-07"}).json()
    by_query = client.get("/charges/ch_1", params={"api-version": "2024-01-01"}).json()
    assert (by_path, by_header, by_query) == tuple(
        ENGINE.down(CHARGE, v) for v in ("2019-11-11", "2021-06-07", "2024-01-01"))
    assert by_path != by_header != by_query != by_path


def test_head_version_passes_bytes_through(client: httpx.Client) -> None:
    """At X the response is the app's bytes, untouched."""
    response = client.get("/charges/ch_1", headers={"X-API-Version": "X"})
    assert response.content == CHARGE_BYTES
    assert response.headers["x-api-version"] == "X"


def test_request_body_is_migrated_up_with_its_content_length(client: httpx.Client) -> None:
    """A v1 charge.create body reaches Flask in the head shape, CONTENT_LENGTH fixed."""
    seen = client.post("/v1/charges", json=V1_BODY).json()
    assert json.loads(seen["received"]) == ENGINE.up(V1_BODY, "v1", resource="charge.create")
    assert int(seen["content_length"]) == seen["length"]


def test_response_is_migrated_with_its_content_length(client: httpx.Client) -> None:
    """A v1 response has the v1 shape and a Content-Length equal to its new length."""
    response = client.get("/v1/charges/ch_1")
    assert response.json() == ENGINE.down(CHARGE, "v1")
    assert int(response.headers["content-length"]) == len(response.content)


def test_malformed_version_is_a_400_listing_accepted_forms(client: httpx.Client) -> None:
    """latest! is answered 400 with the accepted forms."""
    response = client.get("/charges/ch_1", headers={"X-API-Version": "latest!"})
    assert response.status_code == 400
    assert "YYYY-MM-DD" in response.json()["error"]["accepted"]


def test_removed_version_is_410(client: httpx.Client) -> None:
    """A version past its sunset is answered 410."""
    response = client.get("/charges/ch_1", headers={"X-API-Version": "2019-05-01"})
    assert response.status_code == 410
    assert response.json()["error"]["version"] == "2019-04-15"


def test_deprecated_version_carries_lifecycle_headers(client: httpx.Client) -> None:
    """Deprecation, Sunset, Link and a warning come with a deprecated version."""
    response = client.get("/v2019-08-05/charges/ch_1")
    assert response.headers["deprecation"] == "@1704067200"
    assert response.headers["sunset"] == "Thu, 31 Dec 2099 00:00:00 GMT"
    assert len(response.headers.get_list("link")) == 2
    assert "deprecated" in response.headers["x-api-warning"]


def test_malformed_json_request_body_is_a_400_json_error(client: httpx.Client) -> None:
    """A body that is not JSON gets a 400 JSON error, not a traceback."""
    response = client.post("/v1/charges", content=b"{oops",
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_body"


def test_non_json_response_is_untouched(client: httpx.Client) -> None:
    """A text/plain response passes as is, with the version header."""
    response = client.get("/v1/text")
    assert response.content == CHARGE_BYTES
    assert response.headers["x-api-version"] == "v1"


def test_start_response_called_on_first_iteration_is_handled(client: httpx.Client) -> None:
    """A generator app that calls start_response lazily still gets its JSON migrated."""
    response = client.get("/v1/lazy")
    assert response.json() == ENGINE.down(CHARGE, "v1")
    assert int(response.headers["content-length"]) == len(response.content)


def test_content_encoded_json_is_untouched(client: httpx.Client) -> None:
    """A gzip-encoded JSON response cannot be migrated: it passes as is."""
    response = client.get("/v1/gzip")
    assert response.content == CHARGE_BYTES  # httpx decompressed the untouched bytes
    assert response.headers["x-api-version"] == "v1"


def test_streamed_ndjson_is_untouched(client: httpx.Client) -> None:
    """A streamed application/x-ndjson body is not JSON: it passes as is."""
    response = client.get("/v1/ndjson")
    assert response.content == CHARGE_BYTES + b"\n" + CHARGE_BYTES + b"\n"


def test_current_version_is_set_while_a_streamed_body_is_iterated(
        client: httpx.Client) -> None:
    """A generator body that the server iterates later still sees the request's version."""
    response = client.get("/v2021-06-07/streamed-version")
    assert response.text == "version 2021-05-10"


@pytest.mark.parametrize(("version", "included"), [("2022-01-01", False),
                                                    ("2023-01-01", True)])
def test_includes_reflects_the_callers_version(client: httpx.Client, version: str,
                                               included: bool) -> None:
    """includes() of a side-effect change follows the version of the request."""
    seen = client.get(f"/v{version}/seen").json()
    assert (seen["path"], seen["async_refunds"]) == ("/seen", included)


@pytest.mark.parametrize(("version", "name"), [("v1", "migrated"), ("X", "passed")])
def test_app_iterable_is_closed(client: httpx.Client, version: str, name: str) -> None:
    """close() of the app's iterable is called whether the body was migrated or passed."""
    response = client.get(f"/bare/{name}", headers={"X-API-Version": version})
    assert response.json() == ENGINE.down(CHARGE, version)
    deadline = time.monotonic() + 5  # the server closes it after sending the response
    while name not in CLOSED and time.monotonic() < deadline:
        time.sleep(0.001)
    assert name in CLOSED


def test_concurrent_requests_from_threads_never_mix_shapes(client: httpx.Client) -> None:
    """50 requests on 8 threads from 50 accounts at mixed versions each get their own shape."""
    versions = ["v1", "2019-11-11", "2021-06-07", "2024-01-01", "X"]

    def one(index: int) -> tuple[str, httpx.Response]:
        version = versions[index % len(versions)]
        with httpx.Client(base_url=client.base_url) as http:
            return version, http.get("/charges/ch_1", headers={
                "X-API-Version": version, "X-Account": f"acct_{index}"})

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(50)))
    for version, response in results:
        assert response.json() == ENGINE.down(CHARGE, version)
        assert response.headers["x-seen-version"] == ENGINE.resolve(version).name


# -- the framework-free core both middlewares share (datever.web.versioning) ------------


def test_routes_match_static_and_templated_paths() -> None:
    """A static route is a lookup; {id} matches one non-empty segment; a trailing / is ignored."""
    table = Routes()
    table.add("POST", "/charges", "charge.create")
    table.add("POST", "/charges/{id}/refunds", "refund.create")
    assert table.match("POST", "/charges/") == "charge.create"
    assert table.match("POST", "/charges/ch_1/refunds") == "refund.create"
    assert table.match("POST", "/charges//refunds") is None
    assert table.match("GET", "/charges") is None


def test_routes_first_template_added_wins() -> None:
    """Among templates that both match, the first added is used."""
    table = Routes()
    table.add("POST", "/{kind}/{id}", "generic.update")
    table.add("POST", "/customers/{id}", "customer.update")
    assert table.match("POST", "/customers/cus_1") == "generic.update"
    assert list(table) == [("POST", "/{kind}/{id}", "generic.update"),
                           ("POST", "/customers/{id}", "customer.update")]


@pytest.mark.parametrize(("method", "template", "message"), [
    ("FETCH", "/charges", "method"), ("POST", "charges", "starting with"),
    ("POST", "/charges/ch_{id}", "whole segment"), ("POST", "/charges?x=1", "query"),
])
def test_routes_reject_bad_declarations(method: str, template: str, message: str) -> None:
    """A bad method, a relative path, a partial parameter or a query is a ValueError."""
    with pytest.raises(ValueError, match=message):
        Routes().add(method, template, "charge.create")


def test_routes_reject_a_second_route_for_one_endpoint() -> None:
    """Declaring one endpoint twice is a ValueError."""
    table = Routes()
    table.add("POST", "/charges/{id}", "charge.update")
    with pytest.raises(ValueError, match="already routed"):
        table.add("POST", "/charges/{charge}", "charge.other")


def test_without_lifecycle_the_version_and_its_warning_are_sent() -> None:
    """With no lifecycle, the version is echoed and X's warning is sent."""
    decision = Versioning(ENGINE).decide("GET", "/vX/charges")
    assert not isinstance(decision, Reply)
    assert [name for name, _ in decision.headers] == ["X-API-Version", "X-API-Warning"]
    assert (decision.path, decision.prefix) == ("/charges", "/vX")
    assert not decision.migrate_response


def test_without_lifecycle_a_bad_version_is_a_400_with_accepted_forms() -> None:
    """With no lifecycle, a future version still gets the built-in 400 JSON body."""
    reply = Versioning(ENGINE).decide("GET", "/charges", {"X-API-Version": "2999-01-01"})
    assert isinstance(reply, Reply)
    assert reply.status == 400
    error = msgspec.json.decode(reply.body)["error"]
    assert (error["reason"], error["requested"]) == ("future", "2999-01-01")
    assert "YYYY-MM-DD" in error["accepted"]


def test_without_lifecycle_a_gated_preview_is_a_403() -> None:
    """With no lifecycle, a gated preview gets the built-in 403 JSON body."""
    timeline = Timeline([Change(released="v2-preview1", id="p1", description="p",
                                resources={"charge": [rename("a", "b")]})],
                        preview_access=lambda client, version: False)
    reply = Versioning(Engine(timeline)).decide("GET", "/v2-preview1/charges")
    assert isinstance(reply, Reply)
    assert reply.status == 403
    assert msgspec.json.decode(reply.body)["error"]["type"] == "version_forbidden"


def test_versioning_needs_the_selector_of_the_engines_timeline() -> None:
    """A selector on another timeline is refused at construction."""
    other = Engine.from_directory(CHANGES)
    with pytest.raises(ValueError, match="share one timeline"):
        Versioning(ENGINE, VersionSelector(other.timeline))
