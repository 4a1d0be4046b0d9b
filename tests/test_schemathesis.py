"""schemathesis against the running example service at four versions: every response,
to data the document allows and to data it does not, conforms to that version's OpenAPI
document (a documented status code, its content type, its body schema) and is no 5xx.

The service is the reproducible demo (fixed clock, seeded ids) on a real uvicorn; each
version's document is the one it serves at ``/openapi.json`` to a client naming that
version in ``X-API-Version``, which every generated request names too. Path ids are
drawn by schemathesis or, half the time, are ids that exist, so that the success shapes
are checked as well as the 404s.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from examples.payments.app import ROUTES
from examples.payments.demo import CHARGE, CUSTOMER, create_demo_app
from tests.servers import serving

#: the oldest version, one in the middle, the newest release and X (the head, unreleased
#: changes included)
VERSIONS = ["v1", "2021-08-02", "2025-09-29", "X"]
#: the checks of conformance to the document, and no server error
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance"]
#: generated requests per operation, version and mode: the whole module stays near 30 s
EXAMPLES = 12
MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]


class Service:
    """The running demo service, the ids that exist in it and each version's document."""

    def __init__(self, url: str, ids: dict[str, str]) -> None:
        self.url = url
        self.ids = ids
        self.schemas: dict[str, Any] = {}

    def schema(self, version: str) -> Any:
        """The document the service serves to a client on ``version``, loaded once."""
        if version not in self.schemas:
            config = schemathesis.Config.from_dict({
                "base-url": self.url, "headers": {"X-API-Version": version},
                "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            })
            self.schemas[version] = schemathesis.openapi.from_url(
                f"{self.url}/openapi.json", config=config, headers={"X-API-Version": version})
        return self.schemas[version]


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    """The demo on uvicorn, with a refund of the demo charge so that every id route has
    something to find."""
    with serving(create_demo_app()) as url:
        refund = httpx.post(f"{url}/refunds", json={"charge": CHARGE, "amount": 100},
                            headers={"X-API-Version": "X"})
        assert refund.status_code == 200, refund.text
        ids = {"/customers/{id}": CUSTOMER, "/charges/{id}": CHARGE,
               "/charges/{id}/refunds": CHARGE, "/refunds/{id}": refund.json()["id"]}
        yield Service(url, ids)


@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize("version", VERSIONS)
def test_every_response_conforms_to_the_versions_document(
        service: Service, version: str, route: str) -> None:
    """Generated requests to ``route`` at ``version``, within and outside its document,
    get only documented statuses, content types and bodies, and never a 5xx."""
    method, path = route.split(" ")
    operation = service.schema(version)[path][method]
    known = service.ids.get(path)
    for mode in MODES:
        strategy = operation.as_strategy(mode, headers={"X-API-Version": version})
        if known is not None:
            strategy = st.one_of(strategy, operation.as_strategy(
                mode, headers={"X-API-Version": version}, path_parameters={"id": known}))

        @given(case=strategy)
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def conforms(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=service.url, headers={"X-API-Version": version})

        conforms()


def test_the_documents_are_the_versions_own(service: Service) -> None:
    """Each loaded document is the one of the version asked for: the fuzzing above
    really ran against three different documents."""
    names = [service.schema(version).raw_schema["info"]["version"] for version in VERSIONS]
    assert names == VERSIONS


def test_json_with_trailing_garbage_is_a_400_not_a_500(service: Service) -> None:
    """A body whose start is valid JSON of the wrong type (``9``) and whose rest is not
    JSON at all is refused as invalid JSON, not answered with a server error."""
    answer = httpx.post(f"{service.url}/refunds", content=b"9\xff\xff",
                        headers={"X-API-Version": VERSIONS[-1],
                                 "Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["reason"] == "invalid_json"
