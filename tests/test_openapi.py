"""Each version's OpenAPI 3.1 document: valid, shaped by the version, its endpoint changes
undone, its lifecycle stated; from the front door, the command line and the example service."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import msgspec
import pytest
from openapi_spec_validator import validate

from datever import (
    API,
    APIGroups,
    Change,
    ReleaseLifecycle,
    Schemas,
    add_endpoint,
    add_param,
    change_error_format,
    change_status,
    remove_endpoint,
    rename_endpoint,
    rename_param,
)
from datever.endpoints import EndpointRequest
from datever.versions import Timeline
from datever.web.routing import Route, Routes
from examples.payments import create_app
from tests.cli_runs import DATEVER, ENV, REFERENCE, TODAY, write
from tests.servers import serving

DAY = dt.date(2026, 11, 22)
NOW = dt.datetime(2026, 11, 22, 5, 11, 22, tzinfo=dt.UTC)
ROUTES = {"POST /charges": ("charge.create", "charge"), "GET /charges": (None, "list"),
          "GET /charges/{id}": (None, "charge"), "POST /refunds": ("refund.create", "refund")}
LIFECYCLE = {"v1": ReleaseLifecycle(successor_announced=dt.date(2019, 4, 15),
                                    deprecated=dt.date(2024, 1, 1), sunset=dt.date(2027, 6, 30))}


@pytest.fixture(scope="module")
def reference() -> API:
    """The reference API with routes and v1 deprecated."""
    return API(REFERENCE, routes=ROUTES, lifecycle=LIFECYCLE,
               changelog_url="https://api.example.com/changelog")


@pytest.mark.parametrize("version", ["v1", "2019-04-15", "2021-06-07", "2024-07-29", "X",
                                     "beta"])
def test_reference_documents_are_valid_openapi_31(reference: API, version: str) -> None:
    """The reference API's document at each version passes openapi-spec-validator."""
    document = reference.openapi(version, today=DAY)
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_components_are_the_versions_shapes(reference: API) -> None:
    """A charge's amount is a decimal string at v1 and an integer of cents at the head."""
    old, new = (reference.openapi(version, today=DAY)["components"]["schemas"]["Charge"]
                for version in ("v1", "X"))
    assert old["properties"]["amount"] == {"type": "string",
                                           "pattern": r"^[0-9]{1,6}\.[0-9]{2}$"}
    assert new["properties"]["amount"] == {"type": "integer", "minimum": 0,
                                           "maximum": 99_999_999}


def test_bodies_and_responses_refer_to_components(reference: API) -> None:
    """POST /charges takes a ChargeCreate and answers 200 with a Charge."""
    post = reference.openapi("X", today=DAY)["paths"]["/charges"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ChargeCreate"}
    assert post["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Charge"}


def test_a_default_is_the_older_sides_value(reference: API) -> None:
    """v1's `capture` is a boolean defaulting to true: the head's "automatic" gone back
    through its conversion, never the head's value on the old type."""
    shapes = reference.openapi("v1", today=DAY)["components"]["schemas"]
    assert shapes["ChargeCreate"]["properties"]["capture"] == {"type": "boolean",
                                                                "default": True}


def test_the_version_is_in_the_server_prefix_and_parameters(reference: API) -> None:
    """2021-06-07 is served under /v2021-05-10; the header and query parameter are named."""
    document = reference.openapi("2021-06-07", today=DAY)
    assert document["info"]["version"] == "2021-05-10"
    assert document["servers"][0]["url"] == "/v2021-05-10"
    parameters = document["components"]["parameters"]
    assert {(p["name"], p["in"]) for p in parameters.values()} == {
        ("X-API-Version", "header"), ("api-version", "query")}
    assert {"$ref": "#/components/parameters/VersionHeader"} in (
        document["paths"]["/charges/{id}"]["get"]["parameters"])


def test_a_version_no_path_names_has_no_prefix(reference: API) -> None:
    """beta cannot be named in the path: its server is the root."""
    assert reference.openapi("beta", today=DAY)["servers"][0]["url"] == "/"


def test_a_deprecated_versions_operations_say_so(reference: API) -> None:
    """v1's operations are deprecated, with its sunset and successor; info says its state."""
    document = reference.openapi("v1", today=DAY)
    operation = document["paths"]["/charges"]["post"]
    assert operation["deprecated"] is True
    assert operation["x-datever-sunset"] == "2027-06-30"
    assert operation["x-datever-successor"] == "2019-04-15"
    assert document["info"]["x-datever-lifecycle"]["state"] == "deprecated"


def test_a_supported_versions_operations_are_not_deprecated(reference: API) -> None:
    """2021-06-07 is not deprecated: no operation says it is."""
    document = reference.openapi("2021-06-07", today=DAY)
    assert document["info"]["x-datever-lifecycle"]["state"] == "stable"
    assert not any("deprecated" in operation for item in document["paths"].values()
                   for operation in item.values())


def test_before_its_deprecation_a_version_is_not_deprecated(reference: API) -> None:
    """On 2023-12-31 v1 is not yet deprecated (the state depends on the day)."""
    document = reference.openapi("v1", today=dt.date(2023, 12, 31))
    assert "deprecated" not in document["paths"]["/charges"]["post"]


# -- endpoint changes -----------------------------------------------------------------


def legacy(request: EndpointRequest) -> tuple[int, Any]:
    """Keeps GET /legacy/{id} alive for versions before its removal."""
    return 200, {"object": "legacy", "id": request.params["id"]}


class Card(msgspec.Struct, tag_field="object", tag="card"):
    """A card."""

    id: str


class Report(msgspec.Struct, tag_field="object", tag="report"):
    """A report."""

    id: str


class Legacy(msgspec.Struct, tag_field="object", tag="legacy"):
    """What the removed endpoint answered."""

    id: str


class ReportCreate(msgspec.Struct):
    """A report's creation request."""

    title: str


ENDPOINT_CHANGES = [
    Change(released="2022-03-01", id="cards_move", description="Cards have their own path.",
           resources={"card": [rename_endpoint("GET", "/accounts/{id}/cards",
                                               "/cards/{id}")]}),
    Change(released="2023-03-01", id="reports", description="Reports are new.",
           resources={"report": [add_endpoint("POST", "/reports")]}, retroactive=False),
    Change(released="2024-03-01", id="legacy_gone", description="The legacy endpoint is gone.",
           resources={"legacy": [remove_endpoint("GET", "/legacy/{id}", handler=legacy),
                                 remove_endpoint("DELETE", "/things/{id}")]}),
]


@pytest.fixture(scope="module")
def endpoints() -> API:
    """A purpose-made API: one endpoint renamed, one added, one removed with a handler and
    one without."""
    return API(Timeline(ENDPOINT_CHANGES), schemas=Schemas(
        [Card, Report, Legacy], requests={"report.create": ReportCreate}), routes={
        "GET /cards/{id}": (None, "card"), "POST /reports": ("report.create", "report"),
        "GET /legacy/{id}": (None, "legacy"), "DELETE /things/{id}": (None, "legacy")})


def paths(api: API, version: str) -> dict[str, Any]:
    """The paths of ``api``'s document at ``version``, which must be valid."""
    document = api.openapi(version, today=DAY)
    validate(document)
    return dict(document["paths"])


def test_a_renamed_endpoint_is_under_its_old_path_before_the_rename(endpoints: API) -> None:
    """Before 2022-03-01 the card is at /accounts/{id}/cards, with its shape."""
    found = paths(endpoints, "2022-02-28")
    assert "/cards/{id}" not in found
    operation = found["/accounts/{id}/cards"]["get"]
    assert operation["parameters"][0] == {"name": "id", "in": "path", "required": True,
                                          "schema": {"type": "string"}}
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Card"}
    assert operation["x-datever-head-path"] == "/cards/{id}"


def test_a_renamed_endpoint_is_under_its_new_path_from_the_rename(endpoints: API) -> None:
    """From 2022-03-01 on the card is at /cards/{id} only."""
    found = paths(endpoints, "2022-03-01")
    assert "/accounts/{id}/cards" not in found
    assert "x-datever-head-path" not in found["/cards/{id}"]["get"]


def test_an_added_endpoint_is_absent_before_it(endpoints: API) -> None:
    """POST /reports appears on 2023-03-01, not before."""
    assert "/reports" not in paths(endpoints, "2023-02-28")
    assert "post" in paths(endpoints, "2023-03-01")["/reports"]


def test_a_retroactive_added_endpoint_is_in_every_version() -> None:
    """An added endpoint is backward compatible: unless kept versioned, old versions have
    it too, as the middleware serves it to them."""
    retroactive = Change(released="2023-03-01", id="reports", description="Reports are new.",
                         resources={"report": [add_endpoint("POST", "/reports")]})
    api = API(Timeline([retroactive]), routes={"POST /reports": ("report.create", "report")})
    assert "/reports" in api.openapi("v1", today=DAY)["paths"]


def test_a_removed_endpoint_with_a_handler_is_there_before_it(endpoints: API) -> None:
    """GET /legacy/{id} is documented, with its route's shape, until its removal."""
    operation = paths(endpoints, "2024-02-29")["/legacy/{id}"]["get"]
    assert operation["x-datever-removed"] == {"change": "legacy_gone", "release": "2024-03-01"}
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Legacy"}
    assert "/legacy/{id}" not in paths(endpoints, "2024-03-01")


def test_a_removed_endpoint_without_a_handler_is_never_documented(endpoints: API) -> None:
    """DELETE /things/{id} has no handler: older versions get the app's 404, so no
    version documents it."""
    for version in ("v1", "2024-02-29", "X"):
        assert "/things/{id}" not in paths(endpoints, version)


def test_the_endpoint_documents_walk_the_whole_timeline(endpoints: API) -> None:
    """v1 has the old card path and the legacy endpoint, and no reports."""
    assert sorted(paths(endpoints, "v1")) == ["/accounts/{id}/cards", "/legacy/{id}"]


def test_a_changed_status_is_undone_for_older_versions() -> None:
    """POST /reports answers 202 from 2024-06-01 on, 200 before."""
    accepted = Change(released="2024-06-01", id="reports_accepted",
                      description="Reports are made in the background.",
                      resources={"report": [change_status("POST", "/reports", 200, 202)]})
    api = API(Timeline([accepted]), routes={"POST /reports": ("report.create", "report")})
    for version, status in (("2024-05-31", "200"), ("2024-06-01", "202")):
        document = api.openapi(version, today=DAY)
        validate(document)
        responses = document["paths"]["/reports"]["post"]["responses"]
        assert [code for code in responses if code.startswith("2")] == [status]


def test_a_route_the_shapes_lack_is_an_error_naming_it() -> None:
    """A route whose resource the shapes do not describe is a ValueError naming both."""
    api = API(Timeline(ENDPOINT_CHANGES), schemas=Schemas([Card, Report, Legacy]),
              routes={"GET /cards/{id}": (None, "cards")})
    with pytest.raises(ValueError, match=r"GET /cards/\{id\}: the shapes describe no "
                                         "resource 'cards'"):
        api.openapi("X", today=DAY)


def test_without_shapes_bodies_are_unshaped() -> None:
    """Without schemas the paths are there, their bodies without a schema."""
    api = API(Timeline(ENDPOINT_CHANGES), routes={"POST /reports": ("report.create",
                                                                    "report")})
    document = api.openapi("X", today=DAY)
    validate(document)
    assert document["paths"]["/reports"]["post"]["requestBody"]["content"] == {
        "application/json": {}}
    assert list(document["components"]["schemas"]) == ["Error"]


# -- routes ----------------------------------------------------------------------------


def test_routes_keep_request_and_response_resources() -> None:
    """The mapping form takes a string (request) or a (request, response) pair."""
    routes = Routes.from_mapping({"POST /charges": ("charge.create", "charge"),
                                  "GET /charges/{id}": (None, "charge"),
                                  "POST /refunds": "refund.create"})
    assert routes.declared == (Route("POST", "/charges", "charge.create", "charge"),
                               Route("GET", "/charges/{id}", None, "charge"),
                               Route("POST", "/refunds", "refund.create", None))
    assert list(routes) == [("POST", "/charges", "charge.create"),
                            ("POST", "/refunds", "refund.create")]


def test_a_route_with_only_a_response_migrates_no_body() -> None:
    """GET /charges/{id} names only its response: no request resource matches it."""
    routes = Routes.from_mapping({"GET /charges/{id}": (None, "charge")})
    assert routes.match("GET", "/charges/ch_1") is None


def test_a_route_must_name_a_resource() -> None:
    """A route naming neither a request nor a response resource is a ValueError."""
    with pytest.raises(ValueError, match="names no resource"):
        Routes().add("GET", "/charges")


def test_a_route_value_of_another_form_is_refused() -> None:
    """A route mapped to a list is a ValueError naming the route and the accepted forms."""
    with pytest.raises(ValueError, match=r"route 'GET /charges': \['charge'\] is neither"):
        Routes.from_mapping({"GET /charges": ["charge"]})  # type: ignore[dict-item]


def test_an_undeclared_response_resource_is_refused_with_a_hint() -> None:
    """With declared resources, a misspelt response resource is refused at API()."""
    with pytest.raises(ValueError, match=r"'chrage' is not declared.*did you mean 'charge'"):
        API(REFERENCE, routes={"GET /charges/{id}": (None, "chrage")})


# -- query parameters -------------------------------------------------------------------

PARAM_CHANGES = [
    Change(released="2022-01-10", id="charges_limit", retroactive=False,
           description="Charges are listed a page at a time.",
           resources={"charge": [add_param("GET", "/charges", "limit")]}),
    Change(released="2023-01-10", id="charges_by_customer", retroactive=False,
           description="Listing charges needs the customer they belong to.",
           resources={"charge": [add_param("GET", "/charges", "customer", required=True)]}),
    Change(released="2024-01-10", id="limit_is_page_size",
           description="The page parameter says what it counts.",
           resources={"charge": [rename_param("GET", "/charges", "limit", "page_size")]}),
]


def query_parameters(api: API, version: str, path: str = "/charges") -> dict[str, bool]:
    """The query parameters of GET ``path`` at ``version`` (but the version's own), each
    with whether it is required; the document must be valid."""
    document = api.openapi(version, today=DAY)
    validate(document)
    return {p["name"]: p["required"] for p in document["paths"][path]["get"]["parameters"]
            if p.get("in") == "query"}


@pytest.fixture(scope="module")
def paging() -> API:
    """GET /charges gains `limit`, then a required `customer`; `limit` is then renamed."""
    return API(Timeline(PARAM_CHANGES), routes={"GET /charges": (None, "list")}, query=None)


def test_an_added_query_parameter_is_documented_from_its_release(paging: API) -> None:
    """`limit` is absent before 2022-01-10 and an optional parameter from then on."""
    assert query_parameters(paging, "2022-01-09") == {}
    assert query_parameters(paging, "2022-01-10") == {"limit": False}


def test_a_required_added_query_parameter_is_required(paging: API) -> None:
    """`customer`, added as required, is documented as required."""
    assert query_parameters(paging, "2023-01-10") == {"limit": False, "customer": True}


def test_a_renamed_query_parameter_has_its_old_name_before_the_rename(paging: API) -> None:
    """`limit` is called `page_size` from 2024-01-10 on, and `limit` before."""
    assert query_parameters(paging, "2024-01-09") == {"limit": False, "customer": True}
    assert query_parameters(paging, "X") == {"customer": True, "page_size": False}


def test_a_parameter_renamed_later_has_its_old_name_before(paging: API) -> None:
    """A parameter that was there from the start and is renamed later (no add_param of
    its own) is documented under its old name at the versions before the rename."""
    renamed = Change(released="2024-01-10", id="q_is_search", description="Say search.",
                     resources={"charge": [rename_param("GET", "/charges", "q", "search")]})
    api = API(Timeline([renamed]), routes={"GET /charges": (None, "list")}, query=None)
    assert query_parameters(api, "v1") == {"q": False}
    assert query_parameters(api, "X") == {"search": False}


def test_a_retroactive_added_query_parameter_is_in_every_version() -> None:
    """An optional parameter is backward compatible: unless kept versioned, old versions
    accept it too, so their documents name it."""
    added = Change(released="2022-01-10", id="charges_limit", description="Paging.",
                   resources={"charge": [add_param("GET", "/charges", "limit")]})
    api = API(Timeline([added]), routes={"GET /charges": (None, "list")}, query=None)
    assert query_parameters(api, "v1") == {"limit": False}


def test_query_parameters_follow_a_renamed_endpoint() -> None:
    """A parameter added to /cards before the endpoint moved to /payment_cards is
    documented on each path at the versions that have it."""
    history = [
        Change(released="2022-01-10", id="cards_limit", retroactive=False,
               description="Cards are listed a page at a time.",
               resources={"card": [add_param("GET", "/cards", "limit")]}),
        Change(released="2023-01-10", id="cards_moved", description="Cards moved.",
               resources={"card": [rename_endpoint("GET", "/cards", "/payment_cards")]}),
    ]
    api = API(Timeline(history), routes={"GET /payment_cards": (None, "list")}, query=None)
    assert query_parameters(api, "2022-06-01", "/cards") == {"limit": False}
    assert query_parameters(api, "X", "/payment_cards") == {"limit": False}


def test_the_version_parameters_take_only_the_documents_version(reference: API) -> None:
    """At 2021-06-07 (release 2021-05-10) the version header and query parameter accept
    that version alone: any other answers in another version's shapes."""
    parameters = reference.openapi("2021-06-07", today=DAY)["components"]["parameters"]
    assert {p["schema"]["enum"][0] for p in parameters.values()} == {"2021-05-10"}


# -- error responses --------------------------------------------------------------------

ERROR_REF = {"$ref": "#/components/schemas/Error"}


def errors(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    """The error responses of ``method path``, by status."""
    return {status: response for status, response
            in document["paths"][path][method]["responses"].items()
            if not status.startswith("2")}


def test_every_error_response_refers_to_the_error_schema(reference: API) -> None:
    """Every operation's error responses carry the JSON error body schema, at every
    version."""
    for version in ("v1", "2021-06-07", "X"):
        document = reference.openapi(version, today=DAY)
        for item in document["paths"].values():
            for operation in item.values():
                found = [response["content"]["application/json"]["schema"]
                         for status, response in operation["responses"].items()
                         if not status.startswith("2")]
                assert found
                assert all(schema == ERROR_REF for schema in found)


def test_the_error_schema_requires_a_type_and_a_message(reference: API) -> None:
    """The error body is `{"error": {"type": ..., "message": ...}}`, both strings."""
    schema = reference.openapi("X", today=DAY)["components"]["schemas"]["Error"]
    assert schema["required"] == ["error"]
    inner = schema["properties"]["error"]
    assert inner["required"] == ["type", "message"]
    assert inner["properties"]["type"]["type"] == inner["properties"]["message"]["type"] == (
        "string")


def test_the_400_of_request_validation_is_documented_where_a_body_is_validated(
        reference: API) -> None:
    """POST /charges at v1 documents the 400 of a body that does not fit charge.create;
    GET /charges/{id} has no body, and its 400 is only for the version."""
    document = reference.openapi("v1", today=DAY)
    post = errors(document, "/charges", "post")["400"]["description"]
    assert "invalid_request_body" in post
    assert "charge.create" in post
    get = errors(document, "/charges/{id}", "get")["400"]["description"]
    assert "invalid_version" in get
    assert "invalid_request_body" not in get
    head = errors(reference.openapi("X", today=DAY), "/charges", "post")["400"]
    assert "charge.create as X knows it" in head["description"]


def test_404_is_documented_where_the_path_names_a_resource(reference: API) -> None:
    """GET /charges/{id} may be answered 404; GET /charges lists and may not."""
    document = reference.openapi("X", today=DAY)
    assert "404" in errors(document, "/charges/{id}", "get")
    assert "404" not in errors(document, "/charges", "get")


def test_410_is_documented_for_a_version_with_a_sunset(reference: API) -> None:
    """v1 has a sunset date, so its operations may be answered 410; 2021-06-07 has none."""
    assert "410" in errors(reference.openapi("v1", today=DAY), "/charges", "get")
    assert "410" not in errors(reference.openapi("2021-06-07", today=DAY), "/charges", "get")


def test_413_and_415_are_documented_where_a_body_is_read_and_migrated(reference: API) -> None:
    """A request body may be too large (413) wherever one is read; it must be JSON (415)
    only where it is migrated up: at v1, not at the head."""
    old = errors(reference.openapi("v1", today=DAY), "/charges", "post")
    head = errors(reference.openapi("X", today=DAY), "/charges", "post")
    assert {"413", "415"} <= set(old)
    assert "413" in head
    assert "415" not in head
    assert not {"413", "415"} & set(errors(reference.openapi("v1", today=DAY),
                                           "/charges", "get"))


def test_a_pending_error_format_change_leaves_the_error_schema_open() -> None:
    """Before an error format change, errors have the old format, which only the change's
    down callable knows: the document promises JSON and names the change."""
    reformat = Change(released="2024-01-10", id="errors_nested", description="Errors nest.",
                      resources={"error": [change_error_format(
                          "errors are nested under error", down=lambda body: body["error"])]})
    api = API(Timeline([reformat]), routes={"GET /charges": (None, "list")})
    old = api.openapi("v1", today=DAY)
    validate(old)
    assert "type" not in old["components"]["schemas"]["Error"]
    assert "errors_nested" in old["components"]["schemas"]["Error"]["description"]
    assert api.openapi("X", today=DAY)["components"]["schemas"]["Error"]["type"] == "object"


class Error(msgspec.Struct, tag_field="object", tag="error"):
    """A resource of the service's own that happens to be called Error."""

    id: str


def test_the_error_component_gives_way_to_a_shape_of_that_name() -> None:
    """A service resource whose Struct is called Error keeps its name; the error body
    schema is then APIError, and the error responses refer to it."""
    api = API(Timeline(ENDPOINT_CHANGES), schemas=Schemas([Card, Report, Legacy, Error]),
              routes={"GET /cards/{id}": (None, "card")})
    document = api.openapi("X", today=DAY)
    validate(document)
    assert document["components"]["schemas"]["Error"]["properties"]["id"] == {
        "type": "string"}
    assert errors(document, "/cards/{id}", "get")["404"]["content"]["application/json"][
        "schema"] == {"$ref": "#/components/schemas/APIError"}


def test_403_is_documented_for_a_preview_with_access_rules() -> None:
    """A preview that only some clients may use documents its 403; a GA version does not."""
    compute = API(Path(__file__).parents[1] / "examples" / "compute_changes", name="compute",
                  routes={"GET /estimates": (None, "estimate")},
                  preview_access=lambda client, version: client == "partner")
    assert "403" in errors(compute.openapi("v2-preview1", today=DAY), "/estimates", "get")
    assert "403" not in errors(compute.openapi("v2", today=DAY), "/estimates", "get")


# -- feature groups ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def groups() -> APIGroups:
    """Two groups: `cards` (its endpoint renamed in 2022) and `charges` (the reference)."""
    return APIGroups({
        "cards": API(Timeline(ENDPOINT_CHANGES), schemas=Schemas(
            [Card, Report, Legacy], requests={"report.create": ReportCreate}),
            routes={"GET /cards/{id}": (None, "card")}),
        "charges": API(REFERENCE, routes=ROUTES, lifecycle=LIFECYCLE,
                       changelog_url="https://api.example.com/changelog")})


def test_a_groups_document_has_its_paths_under_its_namespace(groups: APIGroups) -> None:
    """The cards group's document at 2022-02-28 has the old card path (and the removed
    legacy endpoint) under /cards, and the head path it stands for, also under /cards."""
    document = groups.openapi("cards", "2022-02-28", today=DAY)
    validate(document)
    assert list(document["paths"]) == ["/cards/accounts/{id}/cards", "/cards/legacy/{id}"]
    operation = document["paths"]["/cards/accounts/{id}/cards"]["get"]
    assert operation["x-datever-head-path"] == "/cards/cards/{id}"
    assert document["servers"] == [{"url": "/", "description": "the cards group; the "
                                    "version is named in a header or query parameter"}]
    assert (document["info"]["title"], document["info"]["x-datever-group"]) == (
        "cards", "cards")


def test_each_group_has_its_own_document_per_version(groups: APIGroups) -> None:
    """The charges group at v1 is the reference's v1 document under /charges."""
    document = groups.openapi("charges", "v1", today=DAY)
    validate(document)
    alone = groups["charges"].openapi("v1", today=DAY)
    assert sorted(document["paths"]) == sorted(f"/charges{path}" for path in alone["paths"])
    assert document["components"] == alone["components"]


def test_a_group_read_from_the_path_alone_has_the_version_in_each_path() -> None:
    """Without a version header or query parameter, the version segment follows the
    namespace in every path."""
    only_path = APIGroups({"cards": API(Timeline(ENDPOINT_CHANGES), header=None, query=None,
                                        routes={"GET /cards/{id}": (None, "card")})})
    document = only_path.openapi("cards", "2023-05-01", today=DAY)
    validate(document)
    assert list(document["paths"]) == ["/cards/v2023-03-01/cards/{id}",
                                       "/cards/v2023-03-01/legacy/{id}"]


def test_a_version_no_path_can_name_in_a_path_only_group_is_an_error() -> None:
    """beta cannot be named in a path: a group that reads versions only from the path
    cannot serve it, and its document is refused with the reason."""
    only_path = APIGroups({"cards": API(Timeline(ENDPOINT_CHANGES), header=None, query=None,
                                        routes={"GET /cards/{id}": (None, "card")})})
    with pytest.raises(ValueError, match="reads versions from the path alone, where beta "
                                         "cannot be named"):
        only_path.openapi("cards", "beta", today=DAY)


def test_an_unknown_group_is_a_key_error_naming_the_groups(groups: APIGroups) -> None:
    """Asking for a group that is not there names those that are."""
    with pytest.raises(KeyError, match="the groups are cards, charges"):
        groups.openapi("refunds", "v1", today=DAY)


def test_the_error_schema_fits_what_the_service_refuses_with(service: Any) -> None:
    """The example service's refusals (a malformed version, a body that does not fit, an
    id that names nothing) are bodies the document's Error schema accepts."""
    _, http = service
    document = http.get("/openapi.json", headers={"X-API-Version": "v1"}).json()
    schema = document["components"]["schemas"]["Error"]
    refusals = [http.get("/charges", headers={"X-API-Version": "2021-6-7"}),
                http.post("/v1/charges", json={"amount": 12}),
                http.get("/v1/charges/ch_nothing")]
    assert [answer.status_code for answer in refusals] == [400, 400, 404]
    for answer in refusals:
        jsonschema.validate(answer.json(), schema)


# -- the command line ------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A service's checkout: the reference changes and routes in ``myapi``."""
    (tmp_path / "changes").symlink_to(REFERENCE)
    write(tmp_path / "myapi", {"__init__.py": "", "routes.py": f"ROUTES = {ROUTES!r}\n",
                               "typo.py": "ROUTES = {'GET /charges/{id}': (None, 'chrage')}\n"})
    return tmp_path


def run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``datever openapi ARGS`` in ``project``."""
    return subprocess.run([DATEVER, "openapi", *args], cwd=project, env=ENV,
                          capture_output=True, text=True, timeout=120, check=False)


def test_cli_prints_a_valid_document(project: Path) -> None:
    """`datever openapi 2021-06-07 --routes ...` prints the version's valid document."""
    result = run(project, "2021-06-07", "--routes", "myapi.routes:ROUTES", "--today", TODAY)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    validate(document)
    assert document["info"]["version"] == "2021-05-10"
    assert sorted(document["paths"]) == ["/charges", "/charges/{id}", "/refunds"]


def test_cli_reports_a_bad_route_as_an_error(project: Path) -> None:
    """A route naming an undeclared resource: exit 1 and the reason, no traceback."""
    result = run(project, "X", "--routes", "myapi.typo:ROUTES", "--today", TODAY)
    assert result.returncode == 1
    assert "datever: error: route GET /charges/{id}: 'chrage' is not declared" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_takes_routes_naming_responses(project: Path) -> None:
    """`datever check --routes` reads the (request, response) mapping form too."""
    result = subprocess.run([DATEVER, "check", "--routes", "myapi.routes:ROUTES", "--today",
                             TODAY], cwd=project, env=ENV, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


# -- the example service ---------------------------------------------------------------


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The example payments service on a real server, its clock fixed."""
    directory = tmp_path_factory.mktemp("payments")
    app = create_app(directory / "payments.sqlite3", directory / "pins.sqlite3",
                     clock=lambda: NOW)
    with serving(app) as url, httpx.Client(base_url=url) as http:
        yield app, http


def test_service_serves_the_document_at_the_clients_version(service: Any) -> None:
    """/v2021-06-07/openapi.json is the API's document at 2021-06-07, unaltered."""
    app, http = service
    response = http.get("/v2021-06-07/openapi.json")
    assert response.status_code == 200
    assert response.headers["X-API-Version"] == "2021-05-10"
    assert response.json() == app.service.api.openapi("2021-06-07", title="Payments API")
    validate(response.json())


def test_service_document_follows_the_version_header(service: Any) -> None:
    """A v1 client (header) gets v1's document, deprecated."""
    _, http = service
    document = http.get("/openapi.json", headers={"X-API-Version": "v1"}).json()
    assert document["info"]["version"] == "v1"
    assert document["paths"]["/charges"]["post"]["deprecated"] is True


def test_service_docs_page_loads_its_assets_locally(service: Any) -> None:
    """/docs is Swagger UI on the client's version's document; its assets come from the
    service itself, none from the internet."""
    _, http = service
    page = http.get("/v2024-01-01/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '"/openapi.json?api-version=2023-10-09"' in page.text
    assert "http://" not in page.text
    assert "https://" not in page.text
    for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"):
        assert asset in page.text
        response = http.get(asset)
        assert response.status_code == 200
        assert len(response.content) > 1000
