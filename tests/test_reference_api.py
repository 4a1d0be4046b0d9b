"""The reference payments API in changes/: it loads, its history is consistent, it migrates."""

from __future__ import annotations

import copy
import datetime as dt
import random
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datever import (
    Change,
    Engine,
    MigrationError,
    Operation,
    Version,
    reference_down,
    reference_up,
)
from datever.changes import load_changes
from datever.operations import Call, Convert, Drop, Expand, Fill, MapValues, Move
from datever.resources import NOT_SHARED
from datever.versions import Timeline
from tests.reference import load_samples

CHANGES_DIR = Path(__file__).parent.parent / "changes"
OPERATION_KINDS = {"rename", "move", "add", "remove", "map_values", "convert", "collapse",
                   "custom"}
REQUEST_RESOURCES = ("charge.create", "customer.create", "refund.create",
                     "payment_method.create")
#: resources that can appear inside a head-shaped charge
IN_A_CHARGE = {"charge", "customer", "payment_method", "refund", "list"}
#: every change after this release that touches IN_A_CHARGE is lossless
ROUND_TRIP_RELEASE = "2024-07-29"

V1_KEYS = {
    "charge": {"id", "object", "amount", "amount_refunded", "currency", "status", "paid",
               "refunded", "captured", "customer", "source", "description",
               "statement_descriptor", "receipt_email", "risk_level", "network_status",
               "failure_code", "failure_message", "refunds", "created", "metadata",
               "livemode"},
    "customer": {"id", "object", "email", "first_name", "last_name", "account_balance",
                 "currency", "address_line1", "address_city", "address_postal_code",
                 "address_country", "invoice_settings", "tax_exempt", "delinquent", "phone",
                 "created", "metadata", "livemode"},
    "refund": {"id", "object", "amount", "currency", "charge", "status", "reason",
               "receipt_number", "created", "metadata"},
    "payment_method": {"id", "object", "type", "card", "bank_account", "billing_email",
                       "billing_name", "customer", "created", "metadata", "livemode"},
    "event": {"id", "object", "type", "created", "data", "pending_webhooks", "request",
              "livemode"},
    "list": {"object", "data", "has_more", "url", "count"},
}
HEAD_KEYS = {
    "charge": {"id", "object", "amount", "amount_refunded", "currency", "status", "captured",
               "capture_method", "customer", "payment_method", "description",
               "statement_descriptor_suffix", "receipt_email", "outcome", "refunds",
               "created", "metadata", "livemode"},
    "customer": {"id", "object", "email", "name", "balance", "default_currency", "address",
                 "invoice_settings", "default_payment_method", "tax_exempt", "phone_number",
                 "created", "metadata", "livemode"},
    "refund": {"id", "object", "amount", "currency", "charge", "status", "reason", "created",
               "metadata"},
    "payment_method": {"id", "object", "type", "card", "bank_account", "billing_details",
                       "customer", "created", "metadata", "livemode"},
    "event": {"id", "object", "type", "created", "data", "pending_webhooks", "context",
              "livemode"},
    "list": {"object", "data", "has_more", "url"},
}


samples = load_samples()
CHANGES: list[Change] = load_changes(CHANGES_DIR)
TIMELINE = Timeline(CHANGES)
RELEASES = [release.isoformat() for release in TIMELINE.releases]
#: the initial version and every release: every version a client can pin
VERSIONS = ["v1", *RELEASES]


@pytest.fixture(scope="module")
def engine() -> Engine:
    """One engine over the reference history, its pipelines cached across the module."""
    return Engine(TIMELINE)


@pytest.fixture(scope="module")
def payload() -> dict[str, Any]:
    """A head-shaped list payload big enough to hold every resource type many times."""
    result: dict[str, Any] = samples.list_payload(seed=0, size=80_000)
    return result


def objects(node: Any, resource: str) -> Iterator[dict[str, Any]]:
    """Every object in ``node`` whose discriminator is ``resource``, parents first."""
    if isinstance(node, dict):
        if node.get("object") == resource:
            yield node
        for value in node.values():
            yield from objects(value, resource)
    elif isinstance(node, list):
        for item in node:
            yield from objects(item, resource)


def pending_from(index: int) -> Version:
    """The version just before ``CHANGES[index]``: it and every later change are pending."""
    change = CHANGES[index]
    return Version(TIMELINE, f"before {change.id}", "stable", None, tuple(CHANGES[index:]),
                   f"before {change.id}")


# -- the shape of the history ------------------------------------------------


def test_directory_loads_every_module() -> None:
    """load_changes reads one change per module, skips _samples.py, resources.py and
    schemas.py."""
    modules = sorted(p.stem for p in CHANGES_DIR.glob("*.py")
                     if not p.name.startswith("_") and p.name not in ("resources.py",
                                                                      "schemas.py"))
    assert sorted(change.id for change in CHANGES) == modules
    assert len(CHANGES) >= 30


def test_history_spans_five_years() -> None:
    """The first and the newest release are more than five years apart."""
    first, newest = TIMELINE.releases[0], TIMELINE.releases[-1]
    assert newest - first > dt.timedelta(days=5 * 365)


def test_several_releases_hold_more_than_one_change() -> None:
    """At least three release dates are shared by two or more changes."""
    per_date = Counter(change.released for change in CHANGES if change.released)
    assert sum(1 for count in per_date.values() if count >= 2) >= 3


def test_every_operation_kind_is_used() -> None:
    """Every kind of operation appears, and most of them several times."""
    kinds = Counter(op.kind for change in CHANGES for ops in change.resources.values()
                    for op in ops)
    assert set(kinds) == OPERATION_KINDS
    assert sum(1 for count in kinds.values() if count >= 4) >= 5


def test_exactly_one_change_has_side_effects() -> None:
    """One change is a side effect that service code checks with version.includes."""
    (change,) = [change for change in CHANGES if change.side_effects]
    assert change.released is not None
    assert TIMELINE.resolve(change.label).includes(change)
    before = change.released - dt.timedelta(days=1)
    assert not TIMELINE.resolve(before.isoformat()).includes(change)
    assert not TIMELINE.resolve("v1").includes(change.id)
    assert TIMELINE.resolve("X").includes(change.id)


def test_one_beta_and_one_experimental_change() -> None:
    """The history ends with unreleased changes: one beta, one experimental."""
    stages = Counter(change.stage for change in CHANGES)
    assert stages["beta"] == 1
    assert stages["experimental"] == 1
    assert [change.stage for change in CHANGES[-2:]] == ["beta", "experimental"]


def test_every_change_has_a_changelog_entry() -> None:
    """Each description starts with a one-sentence summary followed by an explanation."""
    for change in CHANGES:
        summary, _, rest = change.description.partition("\n")
        assert summary.endswith("."), change.id
        assert len(summary) <= 100, change.id
        assert rest.strip(), change.id


# -- consistency: each operation finds what it edits -------------------------


def _get(obj: dict[str, Any], path: tuple[str, ...]) -> tuple[bool, Any]:
    node: Any = obj
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _check_applies(op: Operation, obj: dict[str, Any], where: str) -> None:
    """Fail unless ``op`` finds in the old-shaped ``obj`` what it rewrites."""
    first = op.up[0] if op.up else None
    if isinstance(first, Move):
        assert _get(obj, first.src)[0], f"{where}: {op} finds no {'.'.join(first.src)!r}"
        assert not _get(obj, first.dst)[0], f"{where}: {op} finds {'.'.join(first.dst)!r}"
    elif isinstance(first, Fill):
        assert first.key not in obj, f"{where}: {op} but {first.key!r} already exists"
    elif isinstance(first, (Drop, MapValues, Convert)):
        assert first.key in obj, f"{where}: {op} finds no {first.key!r}"
    elif isinstance(first, Expand):
        assert first.key in obj, f"{where}: {op} finds no {first.key!r}"
        value = obj[first.key]
        assert value is None or isinstance(value, str), f"{where}: {op} on {value!r}"
    else:
        assert isinstance(first, Call), f"{where}: unexpected step {first!r}"
        assert set(op.touches) & set(obj), f"{where}: {op} finds none of {op.touches}"


def _walk_up(op: Operation, obj: dict[str, Any]) -> dict[str, Any]:
    for step in op.up:
        obj = step.apply(obj)
    return obj


@pytest.mark.parametrize("index", range(len(CHANGES)), ids=[c.id for c in CHANGES])
def test_every_response_operation_applies_to_the_shape_before_it(
        index: int, payload: dict[str, Any]) -> None:
    """Each response operation rewrites a property the shape just before its change has."""
    change = CHANGES[index]
    before = reference_down(payload, pending_from(index))
    for resource, ops in change.resources.items():
        if resource in REQUEST_RESOURCES:
            continue
        found = list(objects(before, resource))
        assert found, f"no {resource} in the sample payload for {change.id}"
        for obj in found:
            for op in ops:
                _check_applies(op, obj, f"{change.id} on {resource} {obj.get('id')}")
                obj = _walk_up(op, obj)


@pytest.mark.parametrize("resource", REQUEST_RESOURCES)
def test_every_request_operation_applies_walking_up_from_v1(resource: str) -> None:
    """A v1 request body, walked up one operation at a time, always has what the next edits."""
    for seed in range(10):
        body = samples.request_body(resource, random.Random(seed))
        for change in CHANGES:
            for op in change.resources.get(resource, ()):
                _check_applies(op, body, f"{change.id} on {resource}")
                body = _walk_up(op, body)


def test_no_resource_outside_the_api_is_touched() -> None:
    """Changes only name the API's response and request resources."""
    known = set(V1_KEYS) | set(REQUEST_RESOURCES)
    for change in CHANGES:
        assert set(change.resources) <= known, change.id


# -- samples -----------------------------------------------------------------


def test_samples_are_seeded() -> None:
    """The same seed gives the same payload, another seed another one."""
    assert samples.list_payload(seed=3) == samples.list_payload(seed=3)
    assert samples.list_payload(seed=3) != samples.list_payload(seed=4)


@pytest.mark.parametrize("size", [5_000, 20_000, 100_000])
def test_list_payload_has_about_the_requested_size(size: int) -> None:
    """The encoded list reaches ``size`` bytes and overshoots by less than one item."""
    encoded = len(msgspec.json.encode(samples.list_payload(seed=1, size=size)))
    assert size <= encoded < size + 8_000


def test_samples_have_the_head_shape(payload: dict[str, Any]) -> None:
    """Every resource in the sample payload has exactly its head properties."""
    for resource, keys in HEAD_KEYS.items():
        found = list(objects(payload, resource))
        assert found, resource
        for obj in found:
            assert set(obj) == keys, (resource, set(obj) ^ keys)


def test_request_body_rejects_unknown_resources() -> None:
    """Asking for a request body the API does not have is a clear error."""
    with pytest.raises(ValueError, match=r"charge\.create"):
        samples.request_body("charge.delete", random.Random(0))


# -- compiled pipelines agree with the reference interpreter -------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_compiled_down_equals_reference(engine: Engine, payload: dict[str, Any],
                                        version: str) -> None:
    """Down to every pinnable version, the compiled pipeline gives the interpreter's result."""
    resolved = engine.resolve(version)
    assert engine.down(payload, resolved) == reference_down(payload, resolved)


@pytest.mark.parametrize("version", VERSIONS)
def test_down_json_equals_down(engine: Engine, version: str) -> None:
    """Bytes in and bytes out give the same result as Python objects in and out."""
    payload = samples.list_payload(seed=2, size=20_000)
    raw = msgspec.json.encode(payload)
    assert msgspec.json.decode(engine.down_json(raw, version)) == engine.down(payload, version)


@pytest.mark.parametrize("resource", REQUEST_RESOURCES)
def test_v1_requests_migrate_up_like_reference(engine: Engine, resource: str) -> None:
    """A v1 request body migrates up to the head exactly as the interpreter says."""
    v1 = engine.resolve("v1")
    for seed in range(20):
        body = samples.request_body(resource, random.Random(seed))
        assert engine.up(body, v1, resource=resource) == reference_up(body, v1,
                                                                      resource=resource)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), which=st.integers(0, len(VERSIONS) - 1),
       kind=st.sampled_from(["charge", "customer", "refund", "payment_method", "event"]))
def test_compiled_down_equals_reference_on_single_resources(
        seed: int, which: int, kind: str) -> None:
    """Any single head-shaped resource migrates down the same compiled or interpreted."""
    engine = Engine(TIMELINE)
    obj = getattr(samples, kind)(random.Random(seed))
    version = engine.resolve(VERSIONS[which])
    assert engine.down(obj, version) == reference_down(obj, version)


# -- round trip ----------------------------------------------------------------


def test_round_trip_release_pends_only_lossless_changes_on_a_charge() -> None:
    """Every change a charge goes through below the chosen release is declared lossless."""
    version = TIMELINE.resolve(ROUND_TRIP_RELEASE)
    assert version.pending, "the round trip must cross some changes"
    touched = {r for change in version.pending for r in change.resources} & IN_A_CHARGE
    assert {"charge", "customer", "refund"} <= touched
    for change in version.pending:
        for resource in set(change.resources) & IN_A_CHARGE:
            assert all(op.lossless for op in change.resources[resource]), change.id


@pytest.mark.parametrize("seed", range(10))
def test_charge_round_trips_through_lossless_changes(engine: Engine, seed: int) -> None:
    """up(down(charge)) == charge at a release whose pending changes are all lossless."""
    charge = samples.charge(random.Random(seed))
    version = engine.resolve(ROUND_TRIP_RELEASE)
    old = engine.down(charge, version)
    assert old != charge
    assert engine.up(old, version, resource="charge") == charge


def test_charge_does_not_round_trip_through_lossy_changes(engine: Engine) -> None:
    """At v1 the round trip loses what older versions cannot say (the expanded customer)."""
    charge = samples.charge(random.Random(0))
    assert charge["customer"] is not None
    back = engine.up(engine.down(charge, "v1"), "v1", resource="charge")
    assert back["customer"] == {"id": charge["customer"]["id"]}


# -- the oldest and the newest shapes ------------------------------------------


def test_every_resource_has_its_v1_properties_at_v1(engine: Engine,
                                                     payload: dict[str, Any]) -> None:
    """Down to v1, every resource has exactly the properties of the initial version."""
    old = engine.down(payload, "v1")
    for resource, keys in V1_KEYS.items():
        found = list(objects(old, resource))
        assert found, resource
        for obj in found:
            assert set(obj) == keys, (resource, set(obj) ^ keys)


def test_v1_charge_has_the_old_types(engine: Engine) -> None:
    """At v1 a charge has decimal-string amounts, ids for customer and source, ISO times."""
    charge = samples.charge(random.Random(7))
    old = engine.down(charge, "v1")
    assert old["amount"] == f"{charge['amount'] // 100}.{charge['amount'] % 100:02d}"
    assert re.fullmatch(r"\d+\.\d\d", old["amount_refunded"])
    assert old["currency"] == charge["currency"].upper()
    assert old["customer"] == (charge["customer"] or {}).get("id")
    assert old["source"] == charge["payment_method"]["id"]
    assert old["statement_descriptor"] == charge["statement_descriptor_suffix"]
    assert old["risk_level"] == charge["outcome"]["risk_level"]
    assert old["paid"] is (charge["status"] == "succeeded")
    assert old["status"] == {"succeeded": "paid"}.get(charge["status"], charge["status"])
    assert isinstance(old["refunds"], list)
    assert old["refunds"] == [engine.down(r, "v1") for r in charge["refunds"]["data"]]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", old["created"])
    expected = dt.datetime.fromtimestamp(charge["created"], tz=dt.UTC)
    assert dt.datetime.fromisoformat(old["created"]) == expected


def test_v1_customer_has_flat_address_and_two_names(engine: Engine) -> None:
    """At v1 a customer has address_* properties, first and last name and a boolean tax flag."""
    customer = samples.customer(random.Random(3))
    customer["name"] = "Grace Brewster Hopper"
    customer["tax_exempt"] = "reverse"
    customer["balance"] = -1250
    old = engine.down(customer, "v1")
    assert old["first_name"] == "Grace"
    assert old["last_name"] == "Brewster Hopper"
    assert old["address_city"] == customer["address"]["city"]
    assert old["invoice_settings"] == {
        "default_payment_method": customer["default_payment_method"],
        "footer": customer["invoice_settings"]["footer"],
    }
    assert old["tax_exempt"] is True
    assert old["account_balance"] == "-12.50"
    assert old["delinquent"] is False
    assert old["phone"] == customer["phone_number"]


def test_v1_event_has_old_type_names_and_request_id(engine: Engine) -> None:
    """At v1 an event has the old type names, its request as an id and ISO time."""
    event = samples.event(random.Random(0))
    event["type"] = "payment_method.attached"
    event["context"] = {"request": {"id": "req_123", "idempotency_key": "k1"}}
    event["created"] = 1_600_000_000_999
    old = engine.down(event, "v1")
    assert old["type"] == "customer.source.created"
    assert old["request"] == "req_123"
    assert old["created"] == "2020-09-13T12:26:40Z"
    assert old["data"]["object"] == engine.down(event["data"]["object"], "v1")


def test_today_is_the_head_without_beta_and_experimental(engine: Engine,
                                                         payload: dict[str, Any]) -> None:
    """Today's date gets the newest release: only the unreleased changes are undone."""
    today = dt.datetime.now(dt.UTC).date().isoformat()
    version = engine.resolve(today)
    assert [change.stage for change in version.pending] == ["beta", "experimental"]
    expected = copy.deepcopy(payload)
    for charge in objects(expected, "charge"):
        charge["status"] = {"declined": "failed"}.get(charge["status"], charge["status"])
    for event in objects(expected, "event"):
        event["created"] //= 1000
        event["type"] = {"charge.declined": "charge.failed"}.get(event["type"], event["type"])
    assert engine.down(payload, version) == expected
    assert engine.down(payload, "X") is payload


def test_each_date_resolves_to_the_newest_release_on_or_before_it(engine: Engine) -> None:
    """A date between releases gets the older one; a date before the first gets v1."""
    assert engine.resolve("2021-08-01").name == "2021-05-10"
    assert engine.resolve("2021-08-02").name == "2021-08-02"
    assert engine.resolve("2019-04-14").name == "v1"


# -- requests --------------------------------------------------------------------


def test_v1_charge_request_reaches_the_head_shape(engine: Engine) -> None:
    """An old charge request gets cents, lowercase currency, the new names and confirm."""
    body = samples.request_body("charge.create", random.Random(0))
    body.update(amount="12.34", currency="EUR", capture=False, statement_descriptor="SHOP")
    head = engine.up(body, "v1", resource="charge.create")
    assert head == {
        "amount": 1234, "currency": "eur", "customer": body["customer"],
        "payment_method": body["source"], "description": body["description"],
        "statement_descriptor_suffix": "SHOP", "receipt_email": body["receipt_email"],
        "capture_method": "manual", "confirm": True, "metadata": body["metadata"],
    }


def test_v1_customer_request_reaches_the_head_shape(engine: Engine) -> None:
    """An old customer request gets one name, an address object and the new balance."""
    body = samples.request_body("customer.create", random.Random(0))
    body.update(first_name="Ada", last_name="Lovelace", account_balance="-12.50",
                tax_exempt=True)
    head = engine.up(body, "v1", resource="customer.create")
    assert head["name"] == "Ada Lovelace"
    assert head["balance"] == -1250
    assert head["tax_exempt"] == "exempt"
    assert head["default_currency"] == body["currency"].lower()
    assert head["address"] == {"line1": body["address_line1"], "city": body["address_city"],
                               "postal_code": body["address_postal_code"],
                               "country": body["address_country"]}
    assert head["default_payment_method"] == body["invoice_settings"]["default_payment_method"]
    assert head["phone_number"] == body["phone"]
    assert set(head) == {"email", "name", "balance", "default_currency", "address",
                         "invoice_settings", "default_payment_method", "tax_exempt",
                         "phone_number", "metadata"}


def test_requests_of_a_recent_release_only_go_through_later_changes(engine: Engine) -> None:
    """A refund request of 2024-11-04 only has its reason renamed."""
    body = {"charge": "ch_1", "amount": 500, "reason": "fraudulent", "metadata": {}}
    head = engine.up(body, "2024-11-04", resource="refund.create")
    assert head == {**body, "reason": "suspected_fraud"}


def test_a_bad_old_amount_names_the_change(engine: Engine) -> None:
    """A v1 amount with three decimals fails, naming the change that converts amounts."""
    body = samples.request_body("charge.create", random.Random(0))
    body["amount"] = "12.345"
    with pytest.raises(MigrationError) as info:
        engine.up(body, "v1", resource="charge.create")
    assert info.value.change == "2019_04_15_amounts_in_cents"
    assert body["amount"] == "12.345"


# -- resource declarations (changes/resources.py) ------------------------------------


def test_every_resource_the_changes_name_is_declared() -> None:
    """resources.py declares the API's response resources and, as requests, its bodies."""
    declared = TIMELINE.resources
    assert declared.file is not None
    assert declared.names == set(V1_KEYS) | set(REQUEST_RESOURCES)
    assert {name for name in declared.names if declared.side(name) == "request"} == set(
        REQUEST_RESOURCES)


def test_metadata_is_opaque_wherever_there_is_metadata() -> None:
    """Every resource with a metadata property, and its request bodies, never walk it."""
    with_metadata = {name for name, keys in HEAD_KEYS.items() if "metadata" in keys}
    expected = with_metadata | {request for request in REQUEST_RESOURCES
                                if request.split(".")[0] in with_metadata}
    assert {name for name, props in TIMELINE.resources.opaque.items()
            if "metadata" in props} == expected


def test_no_request_body_repeats_what_its_response_shares() -> None:
    """A request body's own operations never copy one its response resource shares."""
    declared = TIMELINE.resources
    for change in CHANGES:
        for response, ops in change.resources.items():
            shared = [op for op in ops if op.kind not in NOT_SHARED]
            for request in declared.requests_of(response):
                own = change.resources.get(request, ())
                assert not [op for op in own if op in shared], change.id


def test_charge_metadata_that_looks_like_a_charge_is_not_migrated(engine: Engine) -> None:
    """Down to v1, a charge's metadata holding a head-shaped charge is returned as is."""
    charge = samples.charge(random.Random(0))
    charge["metadata"] = {"object": "charge", "status": "succeeded", "amount": 1234}
    assert engine.down(charge, "v1")["metadata"] == charge["metadata"]


def test_request_metadata_that_looks_like_a_charge_is_not_migrated(engine: Engine) -> None:
    """Up from v1, a charge request's metadata holding an old charge is returned as is."""
    body = {"amount": "1.00", "currency": "USD",
            "metadata": {"object": "charge", "status": "paid", "amount": "1.00"}}
    assert engine.up(body, "v1", resource="charge.create")["metadata"] == body["metadata"]


# -- money converters refuse absurd input --------------------------------------------

AMOUNTS = "2019_04_15_amounts_in_cents"
BALANCES = "2020_11_09_customer_balance_in_cents"
ABSURD_DECIMALS = [b'"1e999000"', b'"1e5000"', b'"-1e5000"', b'"1e-999000"', b'"0e999999999"',
                   b'"NaN"', b'"sNaN"', b'"Infinity"', b'"-inf"', b'"twelve"', b'""',
                   b'"10000000000000000"', b'"' + b"1" * 41 + b'"', b"true", b"12", b"12.5",
                   b"null", b"{}", b"[]"]


def test_the_reported_absurd_amount_is_refused_with_a_clear_error(engine: Engine) -> None:
    """The 21-byte body {"amount":"1e999000"} is refused at once, naming the change."""
    body = b'{"amount":"1e999000"}'
    assert len(body) == 21
    with pytest.raises(MigrationError) as info:
        engine.up_json(body, "v1", resource="charge.create")
    assert str(info.value) == (
        "ValueError: amount '1e999000' has an exponent out of range (up from v1, at $, "
        "resource 'charge.create', change 2019_04_15_amounts_in_cents, release 2019-04-15, "
        "reason transform)")


def test_an_amount_past_json_integers_is_refused_not_encoded(engine: Engine) -> None:
    """{"amount":"1e5000"} is refused by the converter, not by the JSON encoder."""
    with pytest.raises(MigrationError) as info:
        engine.up_json(b'{"amount":"1e5000"}', "v1", resource="charge.create")
    assert (info.value.change, info.value.reason) == (AMOUNTS, "transform")
    assert info.value.message == "ValueError: amount '1e5000' has an exponent out of range"


@pytest.mark.parametrize("value", ABSURD_DECIMALS, ids=lambda value: value.decode()[:20])
@pytest.mark.parametrize(("resource", "prop", "change"), [
    ("charge.create", "amount", AMOUNTS), ("refund.create", "amount", AMOUNTS),
    ("customer.create", "account_balance", BALANCES)])
def test_absurd_old_decimal_is_refused_by_its_change(engine: Engine, resource: str, prop: str,
                                                     change: str, value: bytes) -> None:
    """A non-string, non-finite, non-numeric or huge decimal is a ValueError of its change."""
    body = b'{"%s":%s}' % (prop.encode(), value)
    with pytest.raises(MigrationError) as info:
        engine.up_json(body, "v1", resource=resource)
    assert (info.value.change, info.value.reason) == (change, "transform")
    assert info.value.message.startswith(f"ValueError: {prop.removeprefix('account_')}")


def money_converters(change_id: str, resource: str) -> list[Convert]:
    """The convert steps ``change_id`` runs on ``resource`` going down."""
    steps = TIMELINE.change(change_id).steps(resource, "down")
    return [step for step in steps if isinstance(step, Convert)]


@pytest.mark.parametrize("cents", [True, False, 12.5, "1234", None, {}, [], 10**18, -(10**18),
                                   10**5000], ids=lambda value: type(value).__name__)
@pytest.mark.parametrize(("change", "resource"), [(AMOUNTS, "charge"), (BALANCES, "customer")])
def test_cents_to_decimal_refuses_what_is_not_cents(change: str, resource: str,
                                                     cents: Any) -> None:
    """Down, only an int of at most 18 digits is turned into a decimal string."""
    step = money_converters(change, resource)[0]
    with pytest.raises(ValueError, match=r"integer number of cents|more than 18 digits"):
        step.fn(cents)


@pytest.mark.parametrize(("change", "resource"), [(AMOUNTS, "charge"), (BALANCES, "customer")])
def test_money_converters_round_trip_the_largest_amount(change: str, resource: str) -> None:
    """The bound is inclusive of 18 digits of cents, both ways."""
    down = money_converters(change, resource)[0].fn
    up = next(step.fn for step in TIMELINE.change(change).steps(resource, "up")
              if isinstance(step, Convert))
    assert down(10**18 - 1) == "9999999999999999.99"
    assert up("9999999999999999.99") == 10**18 - 1
    assert up(down(-1250)) == -1250


def test_readme_change_module_is_the_real_module() -> None:
    """The change module shown in the README is exactly changes/2019_04_15_amounts_in_cents.py."""
    readme = (CHANGES_DIR.parent / "README.md").read_text()
    section = readme[readme.index("## A change module"):]
    block = section[section.index("```python\n") + len("```python\n"):section.index("```\n")]
    assert block == (CHANGES_DIR / f"{AMOUNTS}.py").read_text()
