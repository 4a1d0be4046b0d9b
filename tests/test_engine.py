"""The engine: resolve, compile, cache and migrate payloads (datever.Engine)."""

from __future__ import annotations

import copy
import json
from typing import Any

import msgspec
import pytest

from datever import (
    Change,
    Engine,
    MigrationError,
    add,
    custom,
    map_values,
    reference_down,
    reference_up,
    remove,
    rename,
)
from datever.versions import Timeline


def make_timeline() -> Timeline:
    """Three releases on charges and customers, plus a request body resource."""
    return Timeline([
        Change(released="2021-01-01", id="c2021_amount", description="Amounts in cents.",
               resources={"charge": [rename("amount_cents", "amount")],
                          "charge.create": [rename("amount_cents", "amount")]}),
        Change(released="2021-06-07", id="c2021_name", description="Customer name.",
               resources={"customer": [rename("full_name", "name")]}),
        Change(released="2022-01-01", id="c2022_status", description="Status values.",
               resources={"charge": [map_values("status", {"paid": "succeeded"}),
                                     add("currency", "usd")],
                          "charge.create": [add("currency", "usd")]}),
    ])


@pytest.fixture
def engine() -> Engine:
    return Engine(make_timeline())


def charge(index: int = 1, **extra: Any) -> dict[str, Any]:
    """A head-shaped charge with an expanded head-shaped customer."""
    return {"object": "charge", "id": f"ch_{index}", "amount": 100 * index,
            "status": "succeeded", "currency": "eur",
            "customer": {"object": "customer", "id": f"cus_{index}", "name": f"Ann {index}"},
            **extra}


def encode(value: Any) -> bytes:
    return msgspec.json.encode(value)


# -- down at several versions ------------------------------------------------------


def test_down_to_initial_undoes_every_change(engine: Engine) -> None:
    """Down to v1 undoes all three releases, newest first."""
    assert engine.down(charge(), "v1") == {
        "object": "charge", "id": "ch_1", "amount_cents": 100, "status": "paid",
        "customer": {"object": "customer", "id": "cus_1", "full_name": "Ann 1"},
    }


def test_down_to_first_release_keeps_its_change(engine: Engine) -> None:
    """Down to 2021-01-01 keeps the amount rename and undoes the two later releases."""
    assert engine.down(charge(), "2021-01-01") == {
        "object": "charge", "id": "ch_1", "amount": 100, "status": "paid",
        "customer": {"object": "customer", "id": "cus_1", "full_name": "Ann 1"},
    }


def test_down_between_releases(engine: Engine) -> None:
    """Down to a date between 2021-06-07 and 2022-01-01 undoes only the 2022 release."""
    assert engine.down(charge(), "2021-09-30") == {
        "object": "charge", "id": "ch_1", "amount": 100, "status": "paid",
        "customer": {"object": "customer", "id": "cus_1", "name": "Ann 1"},
    }


@pytest.mark.parametrize("version", ["2022-01-01", "2023-06-01", "X"])
def test_down_to_newest_or_head_is_identity(engine: Engine, version: str) -> None:
    """Down to the newest release (no unreleased changes) or to X changes nothing."""
    payload = charge()
    assert engine.down(payload, version) == charge()


def test_down_json_to_initial(engine: Engine) -> None:
    """down_json decodes, migrates and encodes: bytes in, bytes out."""
    result = engine.down_json(encode(charge()), "v1")
    assert isinstance(result, bytes)
    assert json.loads(result) == engine.down(charge(), "v1")


def test_down_json_with_resolved_version(engine: Engine) -> None:
    """down_json accepts a resolved Version as well as a string."""
    version = engine.resolve("2021-01-01")
    assert json.loads(engine.down_json(encode(charge()), version)) == engine.down(
        charge(), "2021-01-01")


def test_down_json_with_resource_for_root_without_discriminator(engine: Engine) -> None:
    """down_json(resource=...) migrates a root object that carries no discriminator."""
    data = b'{"amount": 5, "status": "succeeded"}'
    result = engine.down_json(data, "v1", resource="charge")
    assert json.loads(result) == {"amount_cents": 5, "status": "paid"}


# -- resources at any depth ---------------------------------------------------------


def test_resource_at_top_level(engine: Engine) -> None:
    """A top-level resource is migrated."""
    result = engine.down({"object": "customer", "name": "Bo"}, "v1")
    assert result == {"object": "customer", "full_name": "Bo"}


def test_resources_inside_list_envelope(engine: Engine) -> None:
    """Every resource inside a list envelope's data is migrated."""
    payload = {"object": "list", "has_more": False, "data": [charge(1), charge(2)]}
    result = engine.down(payload, "v1")
    assert result["object"] == "list"
    assert [item["amount_cents"] for item in result["data"]] == [100, 200]
    assert [item["customer"]["full_name"] for item in result["data"]] == ["Ann 1", "Ann 2"]


def test_resource_nested_in_another_resource(engine: Engine) -> None:
    """A resource nested in another resource is migrated along with it."""
    result = engine.down(charge(), "2021-01-01")
    assert result["customer"] == {"object": "customer", "id": "cus_1", "full_name": "Ann 1"}


def test_resources_in_lists_of_lists(engine: Engine) -> None:
    """Resources inside lists of lists (and at the root list) are migrated."""
    payload = [[{"object": "customer", "name": "A"}], [[{"object": "customer", "name": "B"}]]]
    result = engine.down(payload, "v1")
    assert result == [[{"object": "customer", "full_name": "A"}],
                      [[{"object": "customer", "full_name": "B"}]]]


def test_resource_inside_plain_nested_object(engine: Engine) -> None:
    """A resource inside a plain (discriminator-less) object is found too."""
    payload = {"meta": {"deep": {"who": {"object": "customer", "name": "C"}}}}
    assert engine.down(payload, "v1") == {
        "meta": {"deep": {"who": {"object": "customer", "full_name": "C"}}}}


def test_non_string_discriminator_is_not_a_resource(engine: Engine) -> None:
    """An object whose discriminator is not a string is left alone."""
    payload = {"object": 5, "name": "x"}
    assert engine.down(payload, "v1") == payload


def test_custom_discriminator() -> None:
    """Engine(discriminator="type") finds resources by that property."""
    engine = Engine(make_timeline(), discriminator="type")
    payload = [{"type": "customer", "name": "A"}, {"object": "customer", "name": "B"}]
    assert engine.down(payload, "v1") == [{"type": "customer", "full_name": "A"},
                                          {"object": "customer", "name": "B"}]


# -- order -------------------------------------------------------------------------


def test_nested_resource_is_migrated_before_parent_transform() -> None:
    """Bottom-up: the parent's custom transform sees its nested customer already migrated."""
    seen: list[dict[str, Any]] = []

    def down_charge(obj: dict[str, Any]) -> None:
        seen.append(copy.deepcopy(obj["customer"]))
        obj["customer_name"] = obj["customer"]["full_name"]

    timeline = Timeline([Change(
        released="2021-06-07", id="names", description="Names.",
        resources={"customer": [rename("full_name", "name")],
                   "charge": [custom(down=down_charge)]},
    )])
    engine = Engine(timeline)
    result = engine.down(charge(), "v1")
    assert seen == [{"object": "customer", "id": "cus_1", "full_name": "Ann 1"}]
    assert result["customer_name"] == "Ann 1"
    assert result == reference_down(charge(), timeline.resolve("v1"))


def test_newer_nested_change_is_undone_before_older_parent_transform() -> None:
    """A nested resource's newer change is undone before an older parent transform reads it."""
    seen: list[dict[str, Any]] = []

    def down_charge(obj: dict[str, Any]) -> None:
        seen.append(copy.deepcopy(obj["customer"]))

    timeline = Timeline([
        Change(released="2021-01-01", id="old_charge", description="Old.",
               resources={"charge": [custom(down=down_charge)]}),
        Change(released="2022-01-01", id="new_customer", description="New.",
               resources={"customer": [rename("full_name", "name")]}),
    ])
    Engine(timeline).down(charge(), "v1")
    assert seen == [{"object": "customer", "id": "cus_1", "full_name": "Ann 1"}]


def test_down_applies_changes_newest_first() -> None:
    """Down undoes the newest change first: b->c is undone before a->b."""
    timeline = Timeline([
        Change(released="2021-01-01", id="ab", description="a to b.",
               resources={"charge": [rename("a", "b")]}),
        Change(released="2022-01-01", id="bc", description="b to c.",
               resources={"charge": [rename("b", "c")]}),
    ])
    engine = Engine(timeline)
    assert engine.down({"object": "charge", "c": 1}, "v1") == {"object": "charge", "a": 1}
    assert engine.down({"object": "charge", "c": 1}, "2021-01-01") == {"object": "charge", "b": 1}


def test_up_applies_changes_oldest_first() -> None:
    """Up applies the oldest change first: a->b before b->c."""
    timeline = Timeline([
        Change(released="2021-01-01", id="ab", description="a to b.",
               resources={"charge.create": [rename("a", "b")]}),
        Change(released="2022-01-01", id="bc", description="b to c.",
               resources={"charge.create": [rename("b", "c")]}),
    ])
    engine = Engine(timeline)
    assert engine.up({"a": 1}, "v1", resource="charge.create") == {"c": 1}


# -- only touched resource types are visited ------------------------------------------


def counting_timeline(calls: list[str]) -> Timeline:
    def down_refund(obj: dict[str, Any]) -> None:
        calls.append(obj["id"])

    return Timeline([
        Change(released="2021-01-01", id="refunds", description="Refunds.",
               resources={"refund": [custom(down=down_refund)]}),
        Change(released="2021-02-01", id="charges", description="Charges.",
               resources={"charge": [rename("amount_cents", "amount")]}),
    ])


def test_untouched_resource_types_are_never_visited() -> None:
    """A custom transform on ``refund`` is not called for charges and customers."""
    calls: list[str] = []
    engine = Engine(counting_timeline(calls))
    payload = {"object": "list", "data": [charge(1), charge(2)]}
    result = engine.down(payload, "v1")
    assert calls == []
    assert result["data"][0]["amount_cents"] == 100


def test_touched_resource_type_is_visited_once_per_object() -> None:
    """The custom transform on ``refund`` runs once per refund, wherever it is."""
    calls: list[str] = []
    engine = Engine(counting_timeline(calls))
    payload = {"object": "list", "data": [
        {"object": "refund", "id": "re_1"},
        charge(1, refunds=[{"object": "refund", "id": "re_2"}]),
    ]}
    engine.down(payload, "v1")
    assert sorted(calls) == ["re_1", "re_2"]


# -- nothing to do costs nothing ---------------------------------------------------------


def test_head_pipeline_returns_same_bytes_object(engine: Engine) -> None:
    """With nothing to do, down_json returns the very same bytes object, undecoded."""
    data = encode(charge())
    assert engine.down_json(data, "X") is data


def test_head_pipeline_returns_invalid_bytes_untouched(engine: Engine) -> None:
    """With nothing to do, the bytes are not even decoded: invalid JSON passes through."""
    data = b"{not json"
    assert engine.down_json(data, "X") is data


def test_head_pipeline_returns_same_python_object(engine: Engine) -> None:
    """With nothing to do, down returns the very same Python object."""
    payload = charge()
    assert engine.down(payload, "X") is payload
    assert engine.up(payload, "X", resource="charge.create") is payload


def test_head_up_json_returns_same_bytes_object(engine: Engine) -> None:
    """With nothing to do, up_json returns the very same bytes object."""
    data = b'{"amount": 5}'
    assert engine.up_json(data, "X", resource="charge.create") is data


def test_pipeline_without_steps_in_direction_is_empty() -> None:
    """A pending change with only an up transform leaves the down pipeline empty."""
    timeline = Timeline([
        Change(released="2021-01-01", id="up_only", description="Up only.",
               resources={"charge": [custom(up=lambda obj: None)]}),
        Change(released="2021-02-01", id="fx", description="Side effect.",
               side_effects=True),
    ])
    engine = Engine(timeline)
    assert engine.pipeline("v1", "down").is_empty
    data = encode(charge())
    assert engine.down_json(data, "v1") is data


def test_untouched_payload_returns_same_bytes_object(engine: Engine) -> None:
    """A payload holding no resource type the pipeline touches comes back as the same bytes."""
    data = encode({"object": "list", "data": [{"object": "refund", "id": "re_1"}]})
    assert engine.down_json(data, "v1") is data


def test_escaped_discriminator_value_is_still_migrated(engine: Engine) -> None:
    """A discriminator written with a JSON escape (\\u0063harge) is still a charge."""
    data = b'{"object": "\\u0063harge", "amount": 5}'
    assert json.loads(data)["object"] == "charge"
    assert json.loads(engine.down_json(data, "v1")) == {"object": "charge", "amount_cents": 5}


# -- the caller's object is never modified ------------------------------------------------


def test_down_does_not_mutate_argument(engine: Engine) -> None:
    """down returns a new object and leaves the caller's payload as it was."""
    payload = {"object": "list", "data": [charge(1), charge(2)]}
    before = copy.deepcopy(payload)
    result = engine.down(payload, "v1")
    assert payload == before
    assert result is not payload
    assert result != before


def test_up_does_not_mutate_argument(engine: Engine) -> None:
    """up returns a new object and leaves the caller's body as it was."""
    body = {"amount_cents": 5}
    result = engine.up(body, "v1", resource="charge.create")
    assert body == {"amount_cents": 5}
    assert result == {"amount": 5, "currency": "usd"}


def test_failed_down_does_not_mutate_argument() -> None:
    """When an older transform raises after a newer one ran, the caller's object is intact."""
    def fail(obj: dict[str, Any]) -> None:
        raise ValueError("no good")

    timeline = Timeline([
        Change(released="2021-01-01", id="boom", description="Boom.",
               resources={"charge": [custom(down=fail)]}),
        Change(released="2022-01-01", id="first", description="Runs first.",
               resources={"charge": [rename("amount_cents", "amount"), remove("legacy", 1)],
                          "customer": [rename("full_name", "name")]}),
    ])
    engine = Engine(timeline)
    payload = {"object": "list", "data": [charge(1), charge(2)]}
    before = copy.deepcopy(payload)
    with pytest.raises(MigrationError):
        engine.down(payload, "v1")
    assert payload == before


# -- errors -----------------------------------------------------------------------------


def test_invalid_json_bytes_raise_migration_error(engine: Engine) -> None:
    """down_json of bytes that are not JSON raises MigrationError saying so."""
    with pytest.raises(MigrationError, match="invalid JSON") as info:
        engine.down_json(b'{"object": "charge", "amount": ', "v1")
    assert isinstance(info.value.__cause__, msgspec.DecodeError)


def test_up_json_invalid_json_raises_migration_error(engine: Engine) -> None:
    """up_json of bytes that are not JSON raises MigrationError naming the resource."""
    with pytest.raises(MigrationError, match="invalid JSON") as info:
        engine.up_json(b"amount_cents=5", "v1", resource="charge.create")
    assert info.value.resource == "charge.create"


def test_down_of_non_json_value_raises_migration_error(engine: Engine) -> None:
    """down of a Python object that is not a JSON value raises MigrationError."""
    with pytest.raises(MigrationError, match="not a JSON value"):
        engine.down({"object": "charge", "when": object()}, "v1")


def failing_engine() -> Engine:
    def down_customer(obj: dict[str, Any]) -> dict[str, Any]:
        return {**obj, "email_domain": obj["email"].split("@")[1]}

    return Engine(Timeline([
        Change(released="2021-06-07", id="2021_06_07_customer_email",
               description="Email domain.",
               resources={"customer": [custom(down=down_customer)]}),
        Change(released="2022-01-01", id="2022_01_01_amount", description="Amount.",
               resources={"charge": [rename("amount_cents", "amount")]}),
    ]))


def failing_payload() -> dict[str, Any]:
    good = charge(0)
    good["customer"]["email"] = "a@example.com"
    return {"object": "list", "data": [good, charge(1)]}


def test_transform_error_names_change_release_resource_and_path() -> None:
    """A KeyError in a custom transform becomes a MigrationError that locates it exactly."""
    with pytest.raises(MigrationError) as info:
        failing_engine().down(failing_payload(), "v1")
    error = info.value
    assert error.change == "2021_06_07_customer_email"
    assert error.release == "2021-06-07"
    assert error.resource == "customer"
    assert error.json_path == "$.data[1].customer"
    assert isinstance(error.__cause__, KeyError)


def test_transform_error_message_names_everything() -> None:
    """The MigrationError's text names the change, release, resource, path and cause."""
    with pytest.raises(MigrationError) as info:
        failing_engine().down_json(encode(failing_payload()), "v1")
    text = str(info.value)
    for part in ("2021_06_07_customer_email", "2021-06-07", "'customer'",
                 "$.data[1].customer", "KeyError", "email"):
        assert part in text


def test_transform_error_location_matches_reference() -> None:
    """The reference interpreter reports the same change, resource and path."""
    engine = failing_engine()
    with pytest.raises(MigrationError) as compiled:
        engine.down(failing_payload(), "v1")
    with pytest.raises(MigrationError) as reference:
        reference_down(failing_payload(), engine.resolve("v1"))
    assert (compiled.value.change, compiled.value.release, compiled.value.resource,
            compiled.value.json_path) == (reference.value.change, reference.value.release,
                                          reference.value.resource, reference.value.json_path)


def test_error_at_root_has_root_path() -> None:
    """A transform failing on the root object reports the path ``$``."""
    with pytest.raises(MigrationError) as info:
        failing_engine().down({"object": "customer", "id": "cus_1"}, "v1")
    assert info.value.json_path == "$"


@pytest.mark.parametrize("body", ["a string", 5, None, True])
def test_up_of_non_object_root_raises(engine: Engine, body: Any) -> None:
    """up of a body that is not an object, for a named resource, raises MigrationError."""
    with pytest.raises(MigrationError, match="expected an object") as info:
        engine.up(body, "v1", resource="charge.create")
    assert info.value.resource == "charge.create"


def test_up_json_of_non_object_root_raises(engine: Engine) -> None:
    """up_json of a JSON string body for a named resource raises MigrationError."""
    with pytest.raises(MigrationError, match="expected an object"):
        engine.up_json(b'"amount_cents"', "v1", resource="charge.create")


def test_up_of_list_root_raises(engine: Engine) -> None:
    """up of a JSON array body for a named resource is not an object: MigrationError."""
    with pytest.raises(MigrationError):
        engine.up([{"amount_cents": 5}], "v1", resource="charge.create")


# -- pipelines ---------------------------------------------------------------------------


def test_dates_of_one_release_share_one_pipeline(engine: Engine) -> None:
    """Two date strings resolving to the same release share the same Pipeline object."""
    first = engine.pipeline("2021-06-07", "down")
    assert engine.pipeline("2021-12-31", "down") is first
    assert engine.pipeline("v2021-08-01", "down") is first
    assert engine.pipeline(engine.resolve("2021-07-01"), "down") is first


def test_initial_aliases_share_one_pipeline(engine: Engine) -> None:
    """``v1``, ``1`` and a date before the first release share one pipeline."""
    first = engine.pipeline("v1", "down")
    assert engine.pipeline("1", "down") is first
    assert engine.pipeline("2000-01-01", "down") is first


def test_directions_have_separate_pipelines(engine: Engine) -> None:
    """The down and up pipelines of one version are different objects."""
    down = engine.pipeline("v1", "down")
    up = engine.pipeline("v1", "up")
    assert down is not up
    assert (down.direction, up.direction) == ("down", "up")


def test_pipeline_with_unknown_direction_raises_value_error(engine: Engine) -> None:
    """A direction other than ``down`` or ``up`` raises ValueError."""
    with pytest.raises(ValueError, match="sideways"):
        engine.pipeline("v1", "sideways")  # type: ignore[arg-type]


def test_pipeline_lists_touched_resources(engine: Engine) -> None:
    """A pipeline knows which resource types its steps touch."""
    assert engine.pipeline("v1", "down").resources == ["charge", "charge.create", "customer"]
    assert engine.pipeline("2021-06-07", "down").resources == ["charge", "charge.create"]


# -- requests ----------------------------------------------------------------------------


def test_up_json_of_request_body(engine: Engine) -> None:
    """up_json migrates a v1 request body for charge.create to the head shape."""
    result = engine.up_json(b'{"amount_cents": 5, "description": "x"}', "v1",
                            resource="charge.create")
    assert json.loads(result) == {"amount": 5, "description": "x", "currency": "usd"}


def test_up_json_of_body_at_middle_version(engine: Engine) -> None:
    """A body written at 2021-06-07 only gets the 2022 change applied."""
    result = engine.up_json(b'{"amount": 5}', "2021-06-07", resource="charge.create")
    assert json.loads(result) == {"amount": 5, "currency": "usd"}


def test_up_matches_reference_up(engine: Engine) -> None:
    """Engine.up equals reference_up on a request body."""
    body = {"amount_cents": 5, "currency": "eur"}
    version = engine.resolve("v1")
    assert engine.up(body, version, resource="charge.create") == reference_up(
        body, version, resource="charge.create")


# -- reference agreement -----------------------------------------------------------------


EXAMPLES: list[Any] = [
    charge(),
    {"object": "list", "data": [charge(1), charge(2)], "has_more": True},
    [[charge(3)], [{"object": "customer", "name": "x"}]],
    {"object": "charge", "amount": 1, "status": "other"},
    {"nothing": ["to", {"do": 1}]},
    "just a string",
    [],
]


@pytest.mark.parametrize("version", ["v1", "2021-01-01", "2021-06-07", "2022-01-01", "X"])
@pytest.mark.parametrize("payload", EXAMPLES)
def test_down_equals_reference_down(engine: Engine, version: str, payload: Any) -> None:
    """Engine.down and down_json equal reference_down on every example and version."""
    expected = reference_down(payload, engine.resolve(version))
    assert engine.down(payload, version) == expected
    assert json.loads(engine.down_json(encode(payload), version)) == expected


def test_up_error_says_the_version_it_migrates_from() -> None:
    """A failing up migration says 'up from <version>' in its fields, not in its message."""
    def explode(obj: dict[str, object]) -> None:
        raise RuntimeError("boom")

    engine = Engine(Timeline([Change(released="2021-01-01", description="c", id="c1",
                                     resources={"charge.create": [custom(up=explode)]})]))
    with pytest.raises(MigrationError) as info:
        engine.up({"amount": 1}, "v1", resource="charge.create")
    error = info.value
    assert (error.message, error.direction, error.version, error.reason) == (
        "RuntimeError: boom", "up", "v1", "transform")
    assert str(error) == ("RuntimeError: boom (up from v1, at $, resource 'charge.create', "
                          "change c1, release 2021-01-01, reason transform)")
