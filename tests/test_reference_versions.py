"""The reference API of ``changes/`` holds every law of datever.testing at every version.

Down of a valid head response is valid at each version, up of each version's
valid requests is valid at the head, compiled equals reference and lossless
changes round trip: the same one-line check a service puts in its own suite.
The tests after it pin, one by one, the payloads on which the history once
broke a law.
"""

from __future__ import annotations

import random
from typing import Any

import msgspec
import pytest

import datever.testing
from datever import API, reference_down, reference_up
from tests.reference import CHANGES, load_samples

# about 1.5 s a version on one core: the whole history, beta included, in under a minute
test_versions = datever.testing.verify(CHANGES, max_examples=100)

REFERENCE = API(CHANGES)
SCHEMAS = REFERENCE.schemas
assert SCHEMAS is not None
SAMPLES = load_samples()


def charge(**changed: Any) -> dict[str, Any]:
    """A seeded head charge, with ``changed`` properties."""
    return {**SAMPLES.charge(random.Random(7)), **changed}


def valid_at(version: str, resource: str, payload: Any) -> None:
    """Raise unless ``payload`` fits ``resource``'s shape at ``version``."""
    msgspec.convert(payload, SCHEMAS.at(REFERENCE.resolve(version))[resource])


def valid_at_head(resource: str, payload: Any) -> None:
    """Raise unless ``payload`` fits ``resource``'s head Struct."""
    msgspec.convert(payload, SCHEMAS.head[resource])


@pytest.mark.parametrize(("resource", "prop", "value"), [
    ("charge", "amount", 10**18), ("charge", "amount_refunded", -1),
    ("charge", "created", -1), ("charge", "created", 253_402_300_800),
    ("charge", "currency", "USD"),
])
def test_the_head_charge_refuses_what_older_versions_cannot_express(
        resource: str, prop: str, value: Any) -> None:
    """Amounts past 99999999 cents or negative, timestamps outside years 1970 to 9999 and
    uppercase currencies are not head charges: no old decimal, ISO date or code holds them."""
    with pytest.raises(msgspec.ValidationError, match=rf"\$\.{prop}"):
        valid_at_head(resource, charge(**{prop: value}))


def test_the_head_customer_balance_is_bounded_both_ways() -> None:
    """A customer's balance may be negative, but within 12 digits of cents either way."""
    customer = SAMPLES.customer(random.Random(7))
    valid_at_head("customer", {**customer, "balance": -999_999_999_999})
    with pytest.raises(msgspec.ValidationError, match=r"\$\.balance"):
        valid_at_head("customer", {**customer, "balance": -(10**12)})


def test_the_extreme_head_amounts_go_down_to_valid_v1_decimals() -> None:
    """The largest and smallest head amounts are exact two-decimal strings at v1."""
    down = reference_down(charge(amount=99_999_999, amount_refunded=0),
                          REFERENCE.resolve("v1"))
    assert (down["amount"], down["amount_refunded"]) == ("999999.99", "0.00")
    valid_at("v1", "charge", down)


@pytest.mark.parametrize("amount", ["12.345", "1e999000", "1000000.00", "-1.00", "12"])
def test_a_v1_charge_request_states_its_amount_as_an_exact_decimal(amount: str) -> None:
    """The v1 shape of charge.create refuses an amount the head could not hold or that
    is not written with two decimals, before any transform sees it."""
    body = SAMPLES.request_body("charge.create", random.Random(7))
    with pytest.raises(msgspec.ValidationError, match=r"\$\.amount"):
        valid_at("v1", "charge.create", {**body, "amount": amount})


def test_a_v1_charge_request_states_its_currency_in_capitals() -> None:
    """Before 2019-08-05 a currency code is three capitals: "usd" goes up unchanged and
    would not be what the client meant, so the old shape refuses it."""
    body = SAMPLES.request_body("charge.create", random.Random(7))
    with pytest.raises(msgspec.ValidationError, match=r"\$\.currency"):
        valid_at("v1", "charge.create", {**body, "currency": "usd"})


def test_a_charge_whose_refunds_list_holds_any_resource_goes_down_to_a_valid_v1_charge(
        ) -> None:
    """The head's list envelope may hold any response resource, so the old refunds array
    may too."""
    head = charge()
    head["refunds"]["data"] = [SAMPLES.customer(random.Random(7))]
    valid_at_head("charge", head)
    valid_at("v1", "charge", reference_down(head, REFERENCE.resolve("v1")))


@pytest.mark.parametrize(("resource", "version", "body"), [
    ("customer.create", "2020-02-03", {}),
    ("customer.create", "2020-02-03", {"address_city": "Berlin"}),
    ("payment_method.create", "2022-05-16", {"type": "card"}),
    ("payment_method.create", "2022-05-16", {"type": "card", "billing_name": "Ada"}),
])
def test_an_old_request_without_its_flat_contact_goes_up_to_a_valid_head_request(
        resource: str, version: str, body: dict[str, Any]) -> None:
    """An old request that leaves out some or all of the flat address or billing
    properties goes up to an object with just those parts, which the head accepts."""
    valid_at(version, resource, body)
    valid_at_head(resource, reference_up(body, REFERENCE.resolve(version), resource=resource))
