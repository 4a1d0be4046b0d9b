"""The example payments service (examples/payments), end to end on a real uvicorn server."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from datever import SQLitePinStore
from examples.payments import create_app
from tests.servers import serving

V1_CUSTOMER = {
    "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace",
    "account_balance": "-12.50", "currency": "EUR", "address_line1": "1 Main Street",
    "address_city": "Berlin", "address_postal_code": "10115", "address_country": "DE",
    "tax_exempt": False, "phone": "+15125551234",
}
HEAD = "2025-09-29"
NOW = dt.datetime(2026, 11, 22, 5, 11, 22, tzinfo=dt.UTC)
AFTER_SUNSET = dt.datetime(2027, 7, 1, 9, 0, tzinfo=dt.UTC)  # v1 is sunset on 2027-06-30


def at(moment: dt.datetime) -> Callable[[], dt.datetime]:
    """A clock that always reads ``moment``."""
    return lambda: moment


@contextlib.contextmanager
def service(directory: Path, now: dt.datetime = NOW) -> Iterator[httpx.Client]:
    """A client of the service on the SQLite files in ``directory``, its clock at ``now``."""
    app = create_app(directory / "payments.sqlite3", directory / "pins.sqlite3", clock=at(now))
    with serving(app) as url, httpx.Client(base_url=url) as http:
        yield http


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory of the module's SQLite files."""
    return tmp_path_factory.mktemp("payments")


@pytest.fixture(scope="module")
def client(directory: Path) -> Iterator[httpx.Client]:
    """A client of one service for the module, on temporary SQLite files."""
    with service(directory) as http:
        yield http


def v1_customer_and_charge(client: httpx.Client) -> tuple[dict[str, Any], dict[str, Any]]:
    """A customer and a charge for it, created by a v1 client with v1 bodies."""
    customer = client.post("/v1/customers", json=V1_CUSTOMER)
    assert customer.status_code == 200, customer.text
    charge = client.post("/v1/charges", json={
        "amount": "12.34", "currency": "EUR", "customer": customer.json()["id"],
        "source": "pm_card_visa", "statement_descriptor": "ORDER 1042", "capture": True})
    assert charge.status_code == 200, charge.text
    return customer.json(), charge.json()


def test_v1_bodies_create_v1_shaped_resources(client: httpx.Client) -> None:
    """A v1 client creates a customer and a charge and gets them back in the v1 shape."""
    customer, charge = v1_customer_and_charge(client)
    assert (customer["first_name"], customer["last_name"]) == ("Ada", "Lovelace")
    assert (customer["account_balance"], customer["currency"]) == ("-12.50", "EUR")
    assert customer["address_city"] == "Berlin"
    assert (charge["amount"], charge["currency"], charge["status"]) == ("12.34", "EUR", "paid")
    assert (charge["customer"], charge["source"]) == (customer["id"], "pm_card_visa")
    assert charge["paid"] is True
    assert charge["created"].endswith("Z")


def test_charge_read_back_at_v1(client: httpx.Client) -> None:
    """Read at v1, a charge has a decimal amount, the customer's id and status paid."""
    customer, created = v1_customer_and_charge(client)
    charge = client.get(f"/v1/charges/{created['id']}").json()
    assert charge == created
    assert charge["customer"] == customer["id"]
    assert charge["refunds"] == []
    assert "outcome" not in charge


def test_charge_read_back_at_2021(client: httpx.Client) -> None:
    """Read at 2021-06-07, amounts are cents, the customer is expanded, the method an id."""
    customer, created = v1_customer_and_charge(client)
    response = client.get(f"/charges/{created['id']}", headers={"X-API-Version": "2021-06-07"})
    assert response.headers["x-api-version"] == "2021-05-10"
    charge = response.json()
    assert (charge["amount"], charge["currency"], charge["status"]) == (1234, "eur",
                                                                        "succeeded")
    assert charge["customer"]["id"] == customer["id"]
    assert (charge["customer"]["first_name"], charge["customer"]["balance"]) == ("Ada", -1250)
    assert charge["payment_method"] == "pm_card_visa"
    assert charge["outcome"] == {"network_status": "approved_by_network", "risk_level": "normal"}
    assert charge["statement_descriptor"] == "ORDER 1042"
    assert charge["refunds"]["object"] == "list"


def test_charge_read_back_at_head(client: httpx.Client) -> None:
    """Read at the newest release, the charge is the head shape the service stored."""
    _, created = v1_customer_and_charge(client)
    charge = client.get(f"/v{HEAD}/charges/{created['id']}").json()
    assert charge["amount"] == 1234
    assert charge["customer"]["name"] == "Ada Lovelace"
    assert "first_name" not in charge["customer"]
    assert (charge["customer"]["tax_exempt"], charge["customer"]["phone_number"]) == (
        "none", "+15125551234")
    assert charge["customer"]["default_currency"] == "eur"
    assert (charge["capture_method"], charge["statement_descriptor_suffix"]) == (
        "automatic", "ORDER 1042")
    assert not {"paid", "refunded", "source"} & set(charge)
    assert isinstance(charge["created"], int)


def test_events_feed_embeds_resources_at_the_callers_version(client: httpx.Client) -> None:
    """The events feed shows the same charge event in each caller's shape."""
    _, charge = v1_customer_and_charge(client)

    def event_of(version: str) -> dict[str, Any]:
        feed = client.get("/events", params={"api-version": version}).json()
        assert (feed["object"], feed["url"]) == ("list", "/events")
        return next(e for e in feed["data"] if e["data"]["object"]["id"] == charge["id"])

    old, new = event_of("v1"), event_of(HEAD)
    assert (old["type"], old["data"]["object"]["amount"]) == ("charge.paid", "12.34")
    assert old["request"].startswith("req_")
    assert (new["type"], new["data"]["object"]["amount"]) == ("charge.succeeded", 1234)
    assert new["context"]["request"]["id"] == old["request"]
    assert new["data"]["object"]["customer"]["object"] == "customer"


def test_refund_is_synchronous_before_2022_05_16(client: httpx.Client) -> None:
    """A version without asynchronous refunds gets the refund succeeded."""
    _, charge = v1_customer_and_charge(client)
    refund = client.post("/refunds", json={"charge": charge["id"], "amount": 234},
                         headers={"X-API-Version": "2021-06-07"})
    assert refund.status_code == 200, refund.text
    assert refund.json()["status"] == "succeeded"
    assert refund.json()["receipt_number"] is None


def test_refund_is_pending_from_2022_05_16(client: httpx.Client) -> None:
    """A version with asynchronous refunds gets the refund pending, in its own shape."""
    _, charge = v1_customer_and_charge(client)
    refund = client.post("/refunds", json={"charge": charge["id"], "amount": 234,
                                           "reason": "customer_request"},
                         headers={"X-API-Version": HEAD})
    assert refund.status_code == 200, refund.text
    assert (refund.json()["status"], refund.json()["reason"]) == ("pending", "customer_request")
    assert refund.json()["charge"]["amount_refunded"] == 234
    stored = client.get(f"/v1/refunds/{refund.json()['id']}").json()
    assert (stored["status"], stored["amount"], stored["reason"]) == (
        "pending", "2.34", "requested_by_customer")


def test_webhook_preview_renders_at_the_accounts_pin(client: httpx.Client,
                                                     directory: Path) -> None:
    """An event previewed for an account is rendered at its pin, whatever the request asks."""
    legacy = SQLitePinStore(directory / "pins.sqlite3")
    try:
        legacy.pin_first("acct_since_2020", "2020-05-18")
    finally:
        legacy.close()
    _, charge = v1_customer_and_charge(client)
    events = client.get("/events", headers={"X-API-Version": HEAD}).json()["data"]
    event_id = next(e["id"] for e in events if e["data"]["object"]["id"] == charge["id"])
    old = client.get(f"/webhooks/preview/{event_id}", params={"account": "acct_since_2020"},
                     headers={"X-API-Version": HEAD})
    assert old.headers["x-api-version"] == "2020-05-18"
    assert old.json()["data"]["object"]["amount"] == 1234
    assert old.json()["data"]["object"]["customer"] == charge["customer"]  # not expanded yet
    client.get("/charges", headers={"Authorization": "Bearer acct_new"})  # pins it to HEAD
    new = client.get(f"/webhooks/preview/{event_id}", params={"account": "acct_new"})
    assert new.headers["x-api-version"] == HEAD
    assert new.json()["data"]["object"]["customer"]["id"] == charge["customer"]


def test_account_is_served_at_its_pin(client: httpx.Client) -> None:
    """An account that names no version is pinned on its first request and served at it."""
    response = client.get("/charges", headers={"Authorization": "Bearer acct_pinned"})
    assert response.headers["x-api-version"] == HEAD
    assert "count" not in response.json()
    anonymous = client.get("/charges")
    assert anonymous.headers["x-api-version"] == "v1"
    assert "no API version was requested" in anonymous.headers["x-api-warning"]


def test_pins_persist_across_a_restart(tmp_path: Path) -> None:
    """A pin written by one server is the pin the next server on the same file serves."""
    bearer = {"Authorization": "Bearer acct_restart"}
    with service(tmp_path) as first:
        before = first.get("/account", headers=bearer).json()
    # a day later: a pin made anew would say so in pinned_at
    with service(tmp_path, NOW + dt.timedelta(days=1)) as second:
        after = second.get("/account", headers=bearer).json()
        served = second.get("/customers", headers=bearer)
    assert after == before
    assert before["pinned_at"] == int(NOW.timestamp())
    assert (after["api_version"], served.headers["x-api-version"]) == (HEAD, HEAD)
    assert (tmp_path / "pins.sqlite3").exists()


def test_malformed_json_at_v1_is_a_400(client: httpx.Client) -> None:
    """A truncated v1 body is refused with a 400 JSON error before it reaches the service."""
    response = client.post("/v1/charges", content=b'{"amount": ',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_body"
    assert "not valid JSON" in response.json()["error"]["message"]


def test_malformed_json_at_head_is_a_400(client: httpx.Client) -> None:
    """A truncated head body, which datever passes untouched, gets the service's 400."""
    response = client.post("/customers", content=b'{"email": ',
                           headers={"Content-Type": "application/json", "X-API-Version": HEAD})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_body"
    assert "not valid JSON" in response.json()["error"]["message"]


def test_invalid_create_body_names_the_parameter(client: httpx.Client) -> None:
    """A well-formed body with a bad value gets a 400 naming the property (datever checks it
    against the head shapes before the service sees it)."""
    response = client.post("/charges", json={"amount": "12.34", "currency": "usd"},
                           headers={"X-API-Version": HEAD})
    assert response.status_code == 400
    assert response.json()["error"]["path"] == "$.amount"


def test_unknown_customer_is_refused(client: httpx.Client) -> None:
    """A charge for a customer that does not exist is a 400 resource_missing."""
    response = client.post("/v1/charges", json={"amount": "1.00", "currency": "USD",
                                                 "customer": "cus_nobody"})
    assert response.status_code == 400
    assert response.json()["error"] == {"type": "resource_missing", "param": "customer",
                                        "message": "no such customer: 'cus_nobody'"}


def test_missing_charge_is_a_404(client: httpx.Client) -> None:
    """Reading a charge that does not exist is a 404 JSON error."""
    response = client.get("/v1/charges/ch_missing")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "resource_missing"


def test_v1_carries_deprecation_headers(client: httpx.Client) -> None:
    """Responses at v1 say it is deprecated, when it is sunset and where the changelog is."""
    response = client.get("/v1/customers")
    assert response.headers["deprecation"] == "@1704067200"
    assert response.headers["sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
    assert [link.split("; ")[1] for link in response.headers.get_list("link")] == [
        'rel="deprecation"', 'rel="sunset"']
    assert "deprecated" in response.headers["x-api-warning"]
    assert "deprecation" not in client.get(f"/v{HEAD}/customers").headers


def test_list_envelope(client: httpx.Client) -> None:
    """GET /charges is a list envelope, newest first, at the caller's version."""
    _, charge = v1_customer_and_charge(client)
    listing = client.get("/charges", headers={"X-API-Version": HEAD}).json()
    assert {k: listing[k] for k in ("object", "has_more", "url")} == {
        "object": "list", "has_more": False, "url": "/charges"}
    assert listing["data"][0]["id"] == charge["id"]
    assert client.get("/v1/charges").json()["count"] == len(listing["data"])


def test_created_times_come_from_the_clock(client: httpx.Client) -> None:
    """A new customer's created time is the service clock's, in each version's format."""
    customer, charge = v1_customer_and_charge(client)
    assert customer["created"] == charge["created"] == "2026-11-22T05:11:22Z"
    head = client.get(f"/v{HEAD}/customers/{customer['id']}").json()
    assert head["created"] == int(NOW.timestamp())


def test_days_to_sunset_count_from_the_clock(client: httpx.Client) -> None:
    """On 2026-11-22 the v1 warning counts 220 days to the 2027-06-30 sunset."""
    warning = client.get("/v1/customers").headers["x-api-warning"]
    assert "will be removed on 2027-06-30 (220 days)" in warning


def test_v1_is_gone_after_its_sunset(tmp_path: Path) -> None:
    """With the clock on 2027-07-01, v1 is a 410 naming the oldest supported version."""
    with service(tmp_path, AFTER_SUNSET) as late:
        gone = late.get("/v1/customers")
        served = late.get(f"/v{HEAD}/customers")
    assert gone.status_code == 410
    assert gone.json()["error"]["version"] == "v1"
    assert "2019-04-15" in gone.text
    assert served.status_code == 200

