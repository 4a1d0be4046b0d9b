"""The reference API's head shapes: its samples, migrated to every version, fit the
shapes derived for that version; the front door serves them."""

from __future__ import annotations

import random
from typing import Annotated, Literal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datever import API, ChangeError, Schemas, reference_down, reference_up, rename
from datever.changes import load_changes, load_schemas
from datever.versions import Timeline, Version
from tests.reference import CHANGES, load_samples
from tests.test_schemas import TODAY, Charge, fields, released

SAMPLES = load_samples()
TIMELINE = Timeline(load_changes(CHANGES))
SCHEMAS = load_schemas(CHANGES)
assert SCHEMAS is not None
VERSIONS = (*TIMELINE.versions, "beta", "X")
RESOURCES = ("charge", "customer", "refund", "payment_method", "event")


def at(name: str) -> Version:
    """The reference API's version ``name``."""
    return TIMELINE.resolve(name, today=TODAY)


def test_the_reference_resources_are_what_its_shapes_imply() -> None:
    """changes/resources.py declares exactly what changes/schemas.py implies."""
    assert SCHEMAS.resources() == TIMELINE.resources


def test_the_reference_history_agrees_with_its_shapes() -> None:
    """Every operation of changes/ names properties its head shapes have at that point;
    carried operations skip request bodies that lack the property."""
    assert SCHEMAS.problems(TIMELINE.changes) == []


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_every_head_sample_validates_against_the_head_structs(seed: int) -> None:
    """The head Structs accept every head-shaped sample."""
    rng = random.Random(seed)
    for name in RESOURCES:
        msgspec.convert(getattr(SAMPLES, name)(rng), SCHEMAS.head[name])
    msgspec.convert(SAMPLES.list_payload(seed, 3000), SCHEMAS.head["list"])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32), version=st.sampled_from(VERSIONS))
def test_samples_migrated_down_validate_against_their_versions_shapes(
        seed: int, version: str) -> None:
    """The law: the reference interpreter's down-migration of a head sample to any version
    is accepted by the shapes derived for that version."""
    rng = random.Random(seed)
    derived = SCHEMAS.at(at(version))
    for name in RESOURCES:
        payload = reference_down(getattr(SAMPLES, name)(rng), at(version))
        msgspec.convert(payload, derived[name])
    listed = reference_down(SAMPLES.list_payload(seed, 3000), at(version))
    msgspec.convert(listed, derived["list"])


@pytest.mark.parametrize("version", VERSIONS)
def test_every_version_accepts_its_down_migrated_samples(version: str) -> None:
    """The same law, version by version, over a list payload holding every resource type."""
    listed = reference_down(SAMPLES.list_payload(7, 20_000), at(version))
    msgspec.convert(listed, SCHEMAS.at(at(version))["list"])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32), resource=st.sampled_from(SAMPLES.REQUEST_RESOURCES))
def test_initial_request_bodies_validate_at_v1_and_at_the_head(seed: int,
                                                               resource: str) -> None:
    """A v1 request body matches the derived v1 shape, and once migrated up, the head's."""
    body = SAMPLES.request_body(resource, random.Random(seed))
    msgspec.convert(body, SCHEMAS.at(at("v1"))[resource])
    msgspec.convert(reference_up(body, at("v1"), resource=resource), SCHEMAS.head[resource])


def test_the_initial_charge_has_the_initial_properties() -> None:
    """v1's charge is the oldest shape: flat, ids for customer and source, amounts as
    decimal strings, refunds as an array."""
    charge = fields(SCHEMAS.at(at("v1"))["charge"])
    assert set(charge) == {
        "id", "amount", "amount_refunded", "currency", "status", "captured", "customer",
        "source", "description", "statement_descriptor", "receipt_email", "refunds",
        "created", "metadata", "livemode", "failure_code", "failure_message", "refunded",
        "network_status", "risk_level", "paid"}
    assert charge["amount"] == Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,6}\.[0-9]{2}$")]
    assert charge["customer"] == str | None
    assert charge["status"] == Literal["paid", "pending", "failed", "requires_confirmation"]


def test_a_version_that_does_not_parse_its_payload_is_refused() -> None:
    """The derived shapes are strict enough to catch a payload of the wrong version."""
    head = SAMPLES.charge(random.Random(3))
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(head, SCHEMAS.at(at("v1"))["charge"])


def test_the_front_door_loads_the_directory_shapes() -> None:
    """API('changes') takes changes/schemas.py; api.schema(version) gives its shapes."""
    api = API(CHANGES)
    assert api.schemas is not None
    assert "source" in fields(api.schema("2019-04-15", today=TODAY)["charge"])


def test_the_front_door_checks_the_schemas_it_is_given() -> None:
    """API(timeline, schemas=...) checks every change against them."""
    timeline = Timeline([released("2021-01-04", charge=[rename("memo", "descripton")])])
    with pytest.raises(ChangeError, match="did you mean 'description'"):
        API(timeline, schemas=Schemas([Charge]))


def test_the_front_door_takes_only_schemas_of_its_discriminator() -> None:
    """API(schemas=) refuses what is not a Schemas, and shapes tagged by another field."""
    timeline = Timeline([released("2021-01-04", charge=[rename("memo", "description")])])
    with pytest.raises(TypeError, match=r"schemas is a datever\.Schemas"):
        API(timeline, schemas=[Charge])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="find resources by 'object', the API by 'type'"):
        API(timeline, schemas=Schemas([Charge]), discriminator="type")


def test_the_front_door_without_schemas_says_how_to_declare_them() -> None:
    """api.schema() without head shapes is an error that says how to give them."""
    api = API(Timeline([released("2021-01-04", charge=[rename("memo", "description")])]))
    with pytest.raises(ValueError, match=r"schemas=Schemas"):
        api.schema("v1")


def test_a_default_goes_back_through_the_conversion_of_its_property() -> None:
    """A head default is what the older side's type holds: `capture_method="automatic"`
    is `capture=True` at v1, a balance of 0 cents is `"0.00"`, `tax_exempt="none"` is
    `False` (the down steps run on the default, as on any value)."""
    v1 = API(CHANGES).schema("v1")
    defaults = {(resource, field.name): field.default
                for resource in ("charge.create", "customer.create")
                for field in msgspec.structs.fields(v1[resource])}
    assert defaults[("charge.create", "capture")] is True
    assert defaults[("customer.create", "account_balance")] == "0.00"
    assert defaults[("customer.create", "tax_exempt")] is False
