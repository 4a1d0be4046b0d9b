"""Request bodies validated in the client's vocabulary, and responses checked against
their version's shapes: the reference API on a real uvicorn server, and the same checks
called directly."""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
from collections.abc import Iterator
from typing import Any

import flask
import httpx
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from datever import API, MigrationError, Schemas, reference_down, reference_up
from datever.changes import load_changes, load_resources, load_schemas
from datever.versions import Timeline
from tests.reference import CHANGES, load_samples
from tests.servers import serving, serving_wsgi

TODAY = dt.date(2026, 11, 22)
SAMPLES = load_samples()
SCHEMAS = load_schemas(CHANGES)
ROUTES = {"POST /charges": "charge.create", "POST /customers": "customer.create"}
V1_CHARGE = {"amount": "12.34", "currency": "EUR", "capture": True, "source": "card_1"}
HEAD_CHARGE = SAMPLES.charge(random.Random(5))
WRONG_CHARGE = {**HEAD_CHARGE, "status": "bogus"}  # no version has this status


def clock() -> dt.date:
    """A fixed today, so that no test depends on the real date."""
    return TODAY


async def echo(request: Request) -> Response:
    """Answers with the decoded body the app received."""
    body = await request.body()
    return JSONResponse({"received": json.loads(body) if body else None})


def starlette_app() -> Starlette:
    """Echoes POST bodies; GET /charges/good and /charges/wrong render a head charge."""
    return Starlette(routes=[
        Route("/charges/good", lambda request: JSONResponse(HEAD_CHARGE)),
        Route("/charges/wrong", lambda request: JSONResponse(WRONG_CHARGE)),
        Route("/{rest:path}", echo, methods=["POST"])])


def reference_api(**keywords: Any) -> API:
    return API(CHANGES, schemas=SCHEMAS, routes=ROUTES, clock=clock, **keywords)


REFERENCE = reference_api()
VERSIONS = (*REFERENCE.timeline.versions, "beta", "X")


@pytest.fixture(scope="module")
def api() -> API:
    return REFERENCE


@pytest.fixture(scope="module")
def client(api: API) -> Iterator[httpx.Client]:
    with serving(api.asgi(starlette_app())) as url, httpx.Client(base_url=url) as http:
        yield http


@pytest.fixture(scope="module")
def checking() -> Iterator[httpx.Client]:
    """A client of the same app, served with check_responses=True."""
    with serving(reference_api(check_responses=True).asgi(starlette_app())) as url, \
            httpx.Client(base_url=url) as http:
        yield http


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


# -- requests over HTTP ---------------------------------------------------------------


def test_v1_body_with_a_wrong_type_names_the_v1_property(client: httpx.Client) -> None:
    """At v1 the amount is a decimal string: an integer is a 400 naming $.amount as v1
    has it, not the head's amount in cents."""
    error = error_of(client.post("/v1/charges", json={**V1_CHARGE, "amount": 1234}))
    assert (error["reason"], error["path"], error["version"]) == ("invalid", "$.amount", "v1")
    assert error["message"] == ("the request body does not fit charge.create at v1: expected "
                                "`str`, got `int` (at $.amount)")


def test_v1_body_with_a_head_property_is_refused(client: httpx.Client) -> None:
    """The strict shapes refuse a property the client's version does not have: v1 knows
    `capture`, not the head's `capture_method`."""
    error = error_of(client.post("/v1/charges", json={**V1_CHARGE,
                                                       "capture_method": "manual"}))
    assert (error["reason"], error["path"]) == ("invalid", "$.capture_method")
    assert "unknown field `capture_method`" in error["message"]


def test_a_missing_property_is_named_by_its_path(client: httpx.Client) -> None:
    """A required property that is absent: the path points at it."""
    error = error_of(client.post("/v1/charges", json={"currency": "EUR"}))
    assert error["path"] == "$.amount"
    assert "missing required field `amount`" in error["message"]


def test_a_bad_map_value_is_named_by_its_map(client: httpx.Client) -> None:
    """msgspec does not say which key of a map holds the bad value: the path ends `.*`."""
    error = error_of(client.post("/v1/charges", json={**V1_CHARGE, "metadata": {"a": 1}}))
    assert error["path"] == "$.metadata.*"


def test_the_same_body_at_the_head_is_validated_in_head_terms(client: httpx.Client) -> None:
    """A v1 body sent at the head is checked against the head's shape: its decimal amount
    is refused where the head wants an integer."""
    error = error_of(client.post("/charges", json=V1_CHARGE, headers={"X-API-Version": "X"}))
    assert (error["path"], error["version"]) == ("$.amount", "X")
    assert "expected `int`, got `str`" in error["message"]


def test_a_valid_old_body_reaches_the_app_migrated(client: httpx.Client) -> None:
    """A valid v1 body passes and the app sees it in the head shape."""
    response = client.post("/v1/charges", json=V1_CHARGE)
    assert response.status_code == 200, response.text
    received = response.json()["received"]
    assert (received["amount"], received["currency"]) == (1234, "eur")
    assert "capture" not in received


def test_a_valid_head_body_reaches_the_app_as_sent(client: httpx.Client) -> None:
    """A valid head body passes the head's shape unchanged."""
    body = {"amount": 1234, "currency": "eur", "capture_method": "manual"}
    response = client.post("/charges", json=body, headers={"X-API-Version": "X"})
    assert response.status_code == 200, response.text
    assert response.json()["received"] == body


def test_a_route_without_a_resource_is_not_validated(client: httpx.Client) -> None:
    """Only bodies of routed resources are checked: any JSON reaches other endpoints."""
    response = client.post("/v1/anything", json={"amount": 1234})
    assert response.json()["received"] == {"amount": 1234}


def test_the_wsgi_middleware_validates_too(api: API) -> None:
    """The same check in front of a Flask app: a 400 naming the v1 property, and a valid
    v1 body reaching the app migrated."""
    app = flask.Flask("validation")

    @app.post("/charges")
    def create() -> Any:
        return {"received": flask.request.get_json()}

    app.wsgi_app = api.wsgi(app.wsgi_app)
    with serving_wsgi(app) as url, httpx.Client(base_url=url) as http:
        refused = http.post("/v1/charges", json={**V1_CHARGE, "amount": 1234})
        served = http.post("/v1/charges", json=V1_CHARGE)
    assert error_of(refused)["path"] == "$.amount"
    assert served.json()["received"]["amount"] == 1234


def test_without_schemas_bodies_are_not_validated() -> None:
    """Without shapes nothing changes: a head body of any shape reaches the app untouched,
    and a v1 body with a head property is migrated as before."""
    timeline = Timeline(load_changes(CHANGES), resources=load_resources(CHANGES))
    api = API(timeline, routes=ROUTES, clock=clock)
    assert api.schemas is None
    assert api.versioning.checks is None
    with serving(api.asgi(starlette_app())) as url, httpx.Client(base_url=url) as http:
        head = http.post("/charges", content=b'{"amount": "12.34"}', headers={
            "X-API-Version": "X", "Content-Type": "application/json"})
        old = http.post("/v1/charges", json={**V1_CHARGE, "capture_method": "manual"})
    assert head.json()["received"] == {"amount": "12.34"}
    assert old.status_code == 200, old.text
    assert old.json()["received"]["amount"] == 1234


# -- responses over HTTP ----------------------------------------------------------------


def test_responses_are_not_checked_by_default(client: httpx.Client) -> None:
    """check_responses is off by default: a wrong head response is served as rendered."""
    response = client.get("/charges/wrong", headers={"X-API-Version": "X"})
    assert response.status_code == 200
    assert response.json()["status"] == "bogus"


def test_the_response_check_passes_a_good_response(checking: httpx.Client) -> None:
    """check_responses=True: a head charge that fits is served at v1 and at the head."""
    old = checking.get("/v1/charges/good")
    head = checking.get("/charges/good", headers={"X-API-Version": "X"})
    assert (old.status_code, head.status_code) == (200, 200)
    assert old.json()["amount"] == f"{HEAD_CHARGE['amount'] / 100:.2f}"
    assert head.json() == HEAD_CHARGE


def test_the_response_check_catches_a_wrong_head_response(
        checking: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    """check_responses=True: a response that does not fit its version once migrated is a
    logged 500 that names no internals."""
    with caplog.at_level(logging.ERROR, logger="datever"):
        response = checking.get("/v1/charges/wrong")
    assert response.status_code == 500
    assert response.json()["error"] == {
        "type": "response_migration_failed", "version": "v1",
        "message": "the response could not be rendered at v1"}
    assert any("does not fit the shapes of v1" in record.getMessage()
               and "$.status" in record.exc_text
               for record in caplog.records if record.exc_text)


def test_the_response_check_runs_at_the_head_too(checking: httpx.Client) -> None:
    """With nothing to migrate, the head response is still checked against the head."""
    response = checking.get("/charges/wrong", headers={"X-API-Version": "X"})
    assert response.status_code == 500


def test_checking_responses_needs_schemas() -> None:
    """check_responses=True without shapes to check against is refused at once."""
    timeline = Timeline(load_changes(CHANGES), resources=load_resources(CHANGES))
    with pytest.raises(ValueError, match="give schemas= too"):
        API(timeline, check_responses=True)


# -- the same checks without HTTP ------------------------------------------------------


def test_validate_request_names_the_versions_property(api: API) -> None:
    """api.validate_request: the MigrationError says up from which version, the resource,
    the path and reason invalid."""
    with pytest.raises(MigrationError) as caught:
        api.validate_request({**V1_CHARGE, "amount": 1234}, "v1", resource="charge.create")
    error = caught.value
    assert (error.reason, error.json_path, error.direction, error.version, error.resource) == (
        "invalid", "$.amount", "up", "v1", "charge.create")


def test_validate_request_takes_bytes_and_says_when_they_are_not_json(api: API) -> None:
    """JSON bytes are decoded into the version's shape; broken JSON is invalid_json."""
    api.validate_request(json.dumps(V1_CHARGE).encode(), "v1", resource="charge.create")
    with pytest.raises(MigrationError) as caught:
        api.validate_request(b'{"amount": ', "v1", resource="charge.create")
    assert caught.value.reason == "invalid_json"


def test_a_resource_the_shapes_do_not_describe_is_not_validated(api: API) -> None:
    """A request body the schemas leave out is not checked."""
    api.validate_request({"anything": 1}, "v1", resource="charge.capture")


def test_check_response_points_into_a_list(api: API) -> None:
    """api.check_response on a list envelope names the item and property at fault."""
    listed = reference_down(SAMPLES.list_of([HEAD_CHARGE, WRONG_CHARGE], "/v1/charges"),
                            api.resolve("v1", today=TODAY))
    with pytest.raises(MigrationError) as caught:
        api.check_response(listed, "v1", today=TODAY)
    assert (caught.value.json_path, caught.value.direction) == ("$.data[1].status", "down")


def test_check_response_leaves_what_names_no_resource(api: API) -> None:
    """An error body, or any JSON naming no resource, is not checked."""
    api.check_response({"error": {"type": "resource_missing"}}, "v1", today=TODAY)
    api.check_response(b"[1, 2]", "v1", today=TODAY)


def test_check_response_takes_the_root_resource_by_name(api: API) -> None:
    """resource= names the shape of a root that carries no discriminator."""
    untagged = {key: value for key, value in HEAD_CHARGE.items() if key != "object"}
    with pytest.raises(MigrationError, match=r"at \$\.amount"):
        api.check_response({**untagged, "amount": "12.34"}, "X", resource="charge")


def test_check_response_says_when_bytes_are_not_json(api: API) -> None:
    """A response that is not JSON cannot fit any shape: invalid_json."""
    with pytest.raises(MigrationError) as caught:
        api.check_response(b'{"object": ', "v1", today=TODAY)
    assert (caught.value.reason, caught.value.direction) == ("invalid_json", "down")


def test_check_response_refuses_a_resource_it_does_not_know(api: API) -> None:
    """resource= naming no shape of the version is a mistake of the caller."""
    with pytest.raises(ValueError, match="do not describe 'charges'"):
        api.check_response({}, "X", resource="charges")


class ThingCreate(msgspec.Struct):
    """A request body with a property of any shape."""

    extra: Any = None


class Thing(msgspec.Struct, tag_field="object", tag="thing"):
    """A resource with a property of any shape."""

    extra: Any = None


def things() -> API:
    """An API whose one resource and request body take anything in ``extra``."""
    return API(Timeline([]), schemas=Schemas([Thing], requests={"thing.create": ThingCreate}))


DEEP = b"[" * 5000 + b"]" * 5000


def test_a_request_nested_past_the_limit_is_too_deep() -> None:
    """A body the decoder cannot descend is too_deep, as in the engine, even where the
    shape takes anything."""
    with pytest.raises(MigrationError) as caught:
        things().validate_request(b'{"extra": ' + DEEP + b"}", "X", resource="thing.create")
    assert caught.value.reason == "too_deep"


def test_a_response_nested_past_the_limit_is_too_deep() -> None:
    """The same for a response, as bytes."""
    with pytest.raises(MigrationError) as caught:
        things().check_response(b'{"object": "thing", "extra": ' + DEEP + b"}", "X")
    assert caught.value.reason == "too_deep"


@pytest.mark.parametrize("depth", [100, 5000])
def test_a_misfit_nested_past_the_limit_is_too_deep(api: API, depth: int) -> None:
    """A body that does not fit and nests past MAX_DEPTH (64) is too_deep, whatever else
    is wrong with it, as the engine says."""
    body = b'{"metadata": ' + b"[" * depth + b"]" * depth + b"}"
    with pytest.raises(MigrationError) as caught:
        api.validate_request(body, "v1", resource="charge.create")
    assert caught.value.reason == "too_deep"


def test_a_python_response_nested_past_the_limit_is_too_deep(api: API) -> None:
    """A refund whose charge lists a refund whose charge... 1500 times over: too_deep."""
    refund = SAMPLES.refund(random.Random(1))
    node = refund
    for _ in range(1500):
        inner = dict(refund)
        node["charge"] = {**refund["charge"], "refunds": SAMPLES.list_of([inner], "/r")}
        node = inner
    with pytest.raises(MigrationError) as caught:
        api.check_response(refund, "X")
    assert caught.value.reason == "too_deep"


def test_shape_checks_say_what_they_check() -> None:
    """The repr of the checks names the schemas they hold."""
    assert repr(things().versioning.checks) == "<ShapeChecks <Schemas ['thing', 'thing.create']>>"


def test_the_checks_need_schemas() -> None:
    """Without head shapes, validate_request says how to declare them."""
    api = API(Timeline(load_changes(CHANGES), resources=load_resources(CHANGES)))
    with pytest.raises(ValueError, match=r"schemas=Schemas"):
        api.validate_request({}, "v1", resource="charge.create")


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32), resource=st.sampled_from(SAMPLES.REQUEST_RESOURCES),
       version=st.sampled_from(VERSIONS))
def test_every_valid_old_request_passes_at_its_version(seed: int, resource: str,
                                                       version: str) -> None:
    """The law: a v1 sample request migrated up to the head, then down to any version
    through the reference interpreter, is valid at that version."""
    api = REFERENCE
    v1, at = api.resolve("v1", today=TODAY), api.resolve(version, today=TODAY)
    head = reference_up(SAMPLES.request_body(resource, random.Random(seed)), v1,
                        resource=resource)
    api.validate_request(reference_down(head, at, resource=resource), at, resource=resource)

