"""Bad input gets a clear MigrationError: no raw traceback, stall or half-migrated payload."""

from __future__ import annotations

import copy
import datetime as dt
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from datever import (
    Change,
    Engine,
    MigrationError,
    Operation,
    add,
    collapse,
    convert,
    custom,
    map_values,
    move,
    reference_down,
    reference_up,
    remove,
    rename,
)
from datever.engine import MAX_DEPTH
from datever.errors import MIGRATION_REASONS
from datever.operations import Drop, Fill
from datever.versions import Timeline


def charges() -> Engine:
    """One change: a charge's ``amount_cents`` is now ``amount``, in responses and requests."""
    return Engine(Timeline([Change(
        released="2021-01-01", id="c1", description="Amounts.", retroactive=False,
        resources={"charge": [rename("amount_cents", "amount")],
                   "charge.create": [rename("amount_cents", "amount")]})]))


def nest(depth: int, leaf: Any) -> Any:
    """``leaf`` (a container) inside ``depth - 1`` objects: ``depth`` containers in all."""
    for _ in range(depth - 1):
        leaf = {"next": leaf}
    return leaf


def deep_bytes(depth: int) -> bytes:
    """An array of arrays ``depth`` deep, as JSON text (built without recursion)."""
    return b'{"object":"charge","a":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


def in_frames(frames: int, call: Callable[[], Any]) -> Any:
    """``call()`` from ``frames`` Python frames deeper than here, as a server would call it."""
    if frames == 0:
        return call()
    return in_frames(frames - 1, call)


def outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    """What a migration did: its result, or where and why it failed."""
    try:
        return ("ok", call())
    except MigrationError as error:
        return ("error", error.change, error.resource, error.json_path, error.reason)


# -- nesting depth -----------------------------------------------------------------------


def test_max_depth_is_generous_and_far_below_the_recursion_limit() -> None:
    """MAX_DEPTH admits any real API payload and leaves most of Python's stack unused."""
    assert 32 <= MAX_DEPTH <= 128


@pytest.mark.parametrize("frames", [0, 500])
def test_payload_at_max_depth_migrates(frames: int) -> None:
    """A payload exactly MAX_DEPTH deep migrates on every path, whatever the caller's stack."""
    engine = charges()
    payload = nest(MAX_DEPTH, {"object": "charge", "amount": 1})
    expected = nest(MAX_DEPTH, {"object": "charge", "amount_cents": 1})
    data = msgspec.json.encode(payload)
    assert in_frames(frames, lambda: engine.down(payload, "v1")) == expected
    assert msgspec.json.decode(in_frames(frames, lambda: engine.down_json(data, "v1"))) == expected
    assert in_frames(frames, lambda: reference_down(payload, engine.resolve("v1"))) == expected


@pytest.mark.parametrize("frames", [0, 500])
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 300, 990, 1000, 1100, 100_000])
def test_payload_past_max_depth_is_too_deep_on_every_path(depth: int, frames: int) -> None:
    """Past MAX_DEPTH, every entry point and the interpreter give the same too_deep error."""
    engine = charges()
    data = deep_bytes(depth)
    body = b'{"amount_cents":1,"a":' + data + b"}"
    payload = {"object": "charge", "a": nest(depth - 1, {})}
    calls: list[Callable[[], Any]] = [
        lambda: engine.down_json(data, "v1"),
        lambda: engine.up_json(body, "v1", resource="charge.create"),
        lambda: engine.down(payload, "v1"),
        lambda: engine.up({"a": payload}, "v1", resource="charge.create"),
        lambda: reference_down(payload, engine.resolve("v1")),
    ]
    for call in calls:
        with pytest.raises(MigrationError) as info:
            in_frames(frames, call)
        assert (info.value.reason, info.value.path) == ("too_deep", [])
        assert info.value.message == f"the payload is nested more than {MAX_DEPTH} levels deep"


def test_too_deep_message_is_pinned() -> None:
    """The full text of a too_deep error."""
    with pytest.raises(MigrationError) as info:
        charges().up_json(b"[" * 2000 + b"]" * 2000, "v1", resource="charge.create")
    assert str(info.value) == (f"the payload is nested more than {MAX_DEPTH} levels deep "
                               "(up from v1, at $, resource 'charge.create', reason too_deep)")


def test_too_deep_wins_over_not_an_object() -> None:
    """A deep array where an object is expected is too_deep, as when the decoder gives up."""
    engine = charges()
    shallow = [[]] * 3
    for body in (nest(MAX_DEPTH + 1, []), shallow):
        expected = "too_deep" if body is not shallow else "not_an_object"
        with pytest.raises(MigrationError) as info:
            engine.up(body, "v1", resource="charge.create")
        assert info.value.reason == expected


def test_too_deep_object_is_not_modified() -> None:
    """A failed too_deep migration leaves the caller's object as it was."""
    payload = [{"object": "charge", "amount": 1}, nest(MAX_DEPTH + 5, {})]
    before = copy.deepcopy(payload)
    with pytest.raises(MigrationError):
        charges().down(payload, "v1")
    assert payload == before


# -- what cannot be encoded --------------------------------------------------------------


def huge(obj: dict[str, Any]) -> None:
    obj["big"] = 10**5000


def encoding_engine() -> Engine:
    """A request transform that adds an int too long to write as JSON."""
    return Engine(Timeline([Change(
        released="2021-01-01", id="c1", description="Big.", retroactive=False,
        resources={"charge.create": [custom(up=huge)]})]))


def test_unencodable_result_is_not_encodable_error() -> None:
    """A migrated payload msgspec cannot encode is a MigrationError, not a raw ValueError."""
    with pytest.raises(MigrationError) as info:
        encoding_engine().up_json(b'{"amount": 1}', "v1", resource="charge.create")
    assert info.value.reason == "not_encodable"
    assert isinstance(info.value.__cause__, ValueError)
    assert info.value.message.startswith("the migrated payload cannot be encoded as JSON: "
                                         "ValueError: Exceeds the limit (4300 digits)")


def test_not_encodable_message_is_pinned() -> None:
    """The full text of a not_encodable error."""
    def opaque(obj: dict[str, Any]) -> None:
        obj["when"] = object()

    engine = Engine(Timeline([Change(released="2021-01-01", id="c1", description="c",
                                     retroactive=False,
                                     resources={"charge": [custom(down=opaque)]})]))
    with pytest.raises(MigrationError) as info:
        engine.down_json(b'{"object": "charge"}', "v1")
    assert str(info.value) == (
        "the migrated payload cannot be encoded as JSON: TypeError: Encoding objects of type "
        "object is unsupported (down to v1, at $, reason not_encodable)")


@pytest.mark.parametrize("value", [object(), 10**5000, {(1, 2): 3}, {None: 1}],
                         ids=["object", "huge_int", "tuple_key", "none_key"])
def test_object_that_is_not_json_is_not_json_error(value: Any) -> None:
    """down of a Python value msgspec cannot encode is a MigrationError with reason not_json."""
    payload = {"object": "charge", "amount": 1, "extra": value}
    with pytest.raises(MigrationError) as info:
        charges().down(payload, "v1")
    assert (info.value.reason, info.value.direction, info.value.version) == (
        "not_json", "down", "v1")
    assert payload["amount"] == 1


def test_down_json_of_a_non_bytes_value_is_not_json_error() -> None:
    """down_json of something that is not bytes is a MigrationError, not a TypeError."""
    with pytest.raises(MigrationError) as info:
        charges().down_json(12345, "v1")  # type: ignore[arg-type]
    assert str(info.value) == "expected JSON bytes, got int (down to v1, at $, reason not_json)"


# -- every reason's full message ---------------------------------------------------------


def explode(obj: dict[str, Any]) -> None:
    raise RuntimeError("boom")


def test_reasons_are_a_closed_documented_set() -> None:
    """The reason codes are exactly these seven, and no other is accepted."""
    assert sorted(MIGRATION_REASONS) == ["invalid", "invalid_json", "not_an_object",
                                         "not_encodable", "not_json", "too_deep", "transform"]
    with pytest.raises(ValueError, match="unknown MigrationError reason"):
        MigrationError("x", reason="other")


def test_invalid_json_message_is_pinned() -> None:
    """The full text of an invalid_json error, and its message is the bare detail."""
    with pytest.raises(MigrationError) as info:
        charges().up_json(b'{"amount_cents": ', "v1", resource="charge.create")
    assert info.value.message == "invalid JSON: Input data was truncated"
    assert str(info.value) == ("invalid JSON: Input data was truncated (up from v1, at $, "
                               "resource 'charge.create', reason invalid_json)")


def test_not_an_object_message_is_pinned() -> None:
    """The full text of a not_an_object error."""
    with pytest.raises(MigrationError) as info:
        charges().up_json(b"[1]", "v1", resource="charge.create")
    assert str(info.value) == ("expected an object for resource 'charge.create', got list "
                               "(up from v1, at $, resource 'charge.create', reason not_an_object)")


def test_not_json_message_is_pinned() -> None:
    """The full text of a not_json error."""
    with pytest.raises(MigrationError) as info:
        charges().down({"object": "charge", "when": object()}, "v1")
    assert str(info.value) == ("not a JSON value: Encoding objects of type object is "
                               "unsupported (down to v1, at $, reason not_json)")


def test_transform_message_is_pinned() -> None:
    """The full text of a transform error deep in a response."""
    engine = Engine(Timeline([Change(released="2021-01-01", id="c1", description="c",
                                     resources={"customer": [custom(down=explode)]})]))
    payload = {"object": "list", "data": [{"object": "customer"}]}
    with pytest.raises(MigrationError) as info:
        engine.down_json(msgspec.json.encode(payload), "v1")
    assert info.value.message == "RuntimeError: boom"
    assert str(info.value) == ("RuntimeError: boom (down to v1, at $.data[0], resource "
                               "'customer', change c1, release 2021-01-01, reason transform)")


def test_migration_error_pickles_with_its_fields() -> None:
    """A MigrationError crossing a process boundary keeps every field and its text."""
    error = MigrationError("ValueError: no", change="c1", release="2021-01-01",
                           resource="charge", path=["data", 0], direction="down",
                           version="v1", reason="transform")
    copied = pickle.loads(pickle.dumps(error))
    assert vars(copied) == vars(error)
    assert str(copied) == str(error)


def test_message_is_never_prefixed_by_the_engine() -> None:
    """Raising the same error twice through the engine leaves its message as it was."""
    engine = Engine(Timeline([Change(released="2021-01-01", id="c1", description="c",
                                     resources={"charge.create": [custom(up=explode)]})]))
    for _ in range(2):
        with pytest.raises(MigrationError) as info:
            engine.up({}, "v1", resource="charge.create")
        assert info.value.message == "RuntimeError: boom"


# -- resolution at the end of the calendar -----------------------------------------------


def test_resolve_on_the_last_day_of_the_calendar() -> None:
    """With today=date.max (which has no tomorrow) a past date still resolves."""
    engine = charges()
    assert engine.resolve("2021-06-07", today=dt.date.max).name == "2021-01-01"
    assert engine.resolve("9999-12-31", today=dt.date.max).warning is None


def test_resolve_the_last_day_as_tomorrow() -> None:
    """On 9999-12-30, the date 9999-12-31 is tomorrow: accepted with a warning."""
    version = charges().resolve("9999-12-31", today=dt.date(9999, 12, 30))
    assert version.warning is not None
    assert "tomorrow" in version.warning


# -- constants in generated code ---------------------------------------------------------


@dataclass
class Opaque:
    """A custom object as a default: compared by value, copied per payload."""

    items: list[int]


CONSTANTS: list[Any] = [
    None, True, False, 0, -7, 10**30, 10**5000, 1.5, -0.0, float("inf"), float("-inf"),
    float("nan"), "", "it's \"quoted\"\n", "\u2603", [], {}, [1, [2, {"a": None}]],
    {"nested": {"list": [1, 2]}}, (1, 2), Decimal("1.5"), Opaque([1]), frozenset({1}),
]


def constant_engine(value: Any) -> Engine:
    """``limit`` removed (down restores ``value``) and ``tier`` added (up fills ``value``)."""
    remove_limit = Operation("remove", "remove 'limit'", down=(Fill("limit", value),),
                             up=(Drop("limit"),), lossless=True, touches=frozenset({"limit"}))
    add_tier = Operation("add", "add 'tier'", down=(Drop("tier"),), up=(Fill("tier", value),),
                         lossless=False, touches=frozenset({"tier"}))
    return Engine(Timeline([Change(released="2021-01-01", id="c1", description="c",
                                   retroactive=False,
                                   resources={"charge": [remove_limit, add_tier]})]))


@pytest.mark.parametrize("value", CONSTANTS, ids=lambda value: type(value).__name__)
def test_every_constant_kind_compiles_like_the_reference(value: Any) -> None:
    """Any default compiles (literal or bound) and gives the interpreter's result both ways."""
    engine = constant_engine(value)
    version = engine.resolve("v1")
    head = {"object": "charge", "id": "ch_1", "tier": "gold"}
    down = engine.down(head, version)
    assert down == reference_down(head, version)
    assert down["limit"] is value or down["limit"] == value
    old = {"object": "charge", "id": "ch_1", "limit": 3}
    up = engine.up(old, version, resource="charge")
    assert up == reference_up(old, version, resource="charge")
    assert "limit" not in up


def test_reported_infinite_and_nan_defaults_migrate_every_payload() -> None:
    """remove("limit", inf) and add("score", nan) compile to working code, as the reference."""
    engine = Engine(Timeline([Change(
        released="2021-01-01", id="c1", description="c", retroactive=False,
        resources={"charge": [remove("limit", float("inf")), add("score", float("nan"))],
                   "charge.create": [add("score", float("nan"))]})]))
    version = engine.resolve("v1")
    down = engine.down({"object": "charge", "score": 1.0}, version)
    assert down == reference_down({"object": "charge", "score": 1.0}, version)
    assert down == {"object": "charge", "limit": float("inf")}
    up = engine.up({"limit": 5}, version, resource="charge.create")
    assert up == reference_up({"limit": 5}, version, resource="charge.create")
    assert up["score"] != up["score"]  # nan


@pytest.mark.parametrize("value", [float("inf"), float("nan"), 10**5000],
                         ids=["inf", "nan", "huge_int"])
def test_non_literal_scalars_are_bound_not_written(value: Any) -> None:
    """inf, nan and huge ints are bound names in the source, not ``inf`` or a repr."""
    source = constant_engine(value).pipeline("v1", "down").source
    assert "d['limit'] = _default" in source


@pytest.mark.parametrize("value", [[], {}, [1, {"a": []}], Opaque([1])])
def test_mutable_default_is_not_shared_between_payloads(value: Any) -> None:
    """Each payload gets its own copy of a mutable default, as in the interpreter."""
    engine = constant_engine(value)
    first = engine.down({"object": "charge"}, "v1")
    second = engine.down({"object": "charge"}, "v1")
    assert first["limit"] is not second["limit"]
    assert first["limit"] is not value
    assert first["limit"] == value == second["limit"]


# -- map_values on values that are not in the table -----------------------------------------


def mapping_engine(table: dict[Any, Any]) -> Engine:
    return Engine(Timeline([Change(released="2021-01-01", id="c1", description="c",
                                   resources={"charge": [map_values("status", table)]})]))


OTHER_VALUES: list[Any] = [{"a": 1}, [1, 2], [], {}, 1.5, None, "other", 0, False]


@pytest.mark.parametrize("table", [{"paid": "succeeded"}, {1: "one", 2.5: "half"}],
                         ids=["strings", "typed"])
@pytest.mark.parametrize("value", OTHER_VALUES, ids=repr)
def test_values_not_in_the_table_stay(table: dict[Any, Any], value: Any) -> None:
    """An object, array or scalar not in the table is kept, both ways, as in the reference."""
    engine = mapping_engine(table)
    version = engine.resolve("v1")
    payload = {"object": "charge", "status": value}
    for direction in ("down", "up"):
        if direction == "down":
            compiled = engine.down(payload, version)
            reference = reference_down(payload, version)
        else:
            compiled = engine.up(payload, version, resource="charge")
            reference = reference_up(payload, version, resource="charge")
        assert compiled == reference == payload
        assert type(compiled["status"]) is type(value)


def test_true_and_one_are_different_keys() -> None:
    """JSON true maps only through a True key; 1 only through a 1 key, and 1.0 through neither."""
    for table, value, expected in [({True: "yes"}, 1, 1), ({True: "yes"}, True, "yes"),
                                   ({1: "one"}, True, True), ({1: "one"}, 1, "one"),
                                   ({1: "one"}, 1.0, 1.0)]:
        engine = mapping_engine(table)
        version = engine.resolve("v1")
        payload = {"object": "charge", "status": value}
        up = engine.up(payload, version, resource="charge")
        assert up == reference_up(payload, version, resource="charge")
        assert up["status"] == expected
        assert type(up["status"]) is type(expected)
    data = mapping_engine({True: "yes"}).up_json(b'{"status": 1}', "v1", resource="charge")
    assert msgspec.json.decode(data) == {"status": 1}


def test_none_key_maps_null() -> None:
    """A None key maps JSON null, and the inverse maps it back."""
    engine = mapping_engine({None: "none"})
    assert engine.up({"status": None}, "v1", resource="charge") == {"status": "none"}
    assert engine.down({"object": "charge", "status": "none"}, "v1")["status"] is None


# -- compiled and reference blame the same change ------------------------------------------


def _minus_one(value: int) -> int:
    return value - 1


def _plus_one(value: int) -> int:
    return value + 1


def _require_id(obj: dict[str, Any]) -> None:
    obj["ref"] = obj["id"]


def _drop_ref(obj: dict[str, Any]) -> None:
    obj.pop("ref", None)


def faulty_history() -> Timeline:
    """Transforms that fail on ill-formed values: arithmetic on strings, a missing id,
    a nested move through a non-object, a collapse of an object without id."""
    return Timeline([
        Change(released="2021-01-01", id="c1", description="c1", retroactive=False, resources={
            "alpha": [convert("amount", down=_minus_one, up=_plus_one)],
            "bravo": [collapse("owner")],
        }),
        Change(released="2022-01-01", id="c2", description="c2", retroactive=False, resources={
            "alpha": [move("box.inner", "inner")],
            "bravo": [convert("amount", down=_minus_one, up=_plus_one)],
        }),
        Change(released="2023-01-01", id="c3", description="c3", retroactive=False, resources={
            "alpha": [map_values("status", {"open": "active"}), rename("note", "memo")],
            "bravo": [custom(down=_require_id, up=_drop_ref, touches=("ref",))],
        }),
    ])


SCALARS = st.one_of(st.integers(-3, 3), st.sampled_from(["open", "active", "x"]), st.none())


def _objects(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Resources (with an id, so that most are well-formed), plain objects and arrays."""
    props = dict.fromkeys(("amount", "status", "owner", "box", "inner", "kid"), children)
    resource = st.fixed_dictionaries(
        {"object": st.sampled_from(["alpha", "bravo"]), "id": st.just("x")}, optional=props)
    plain = st.dictionaries(st.sampled_from(sorted(props)), children, max_size=2)
    return st.one_of(resource, resource, plain, st.lists(children, max_size=3))


PAYLOADS = st.recursive(SCALARS, _objects, max_leaves=10)
#: a newer change fails on the outer alpha, an older one on the bravo inside it
TWO_FAULTS = {"object": "alpha", "inner": 1, "box": 3,
              "kid": {"object": "bravo", "id": "x", "owner": {}}}


@settings(max_examples=400, deadline=None)
@given(PAYLOADS)
@example(TWO_FAULTS)
def test_compiled_and_reference_blame_the_same_change(payload: Any) -> None:
    """On any payload, down and up either both succeed alike or fail at the same place."""
    engine = Engine(faulty_history())
    version = engine.resolve("v1")
    before = copy.deepcopy(payload)
    expected = outcome(lambda: reference_down(payload, version))
    assert outcome(lambda: engine.down(payload, version)) == expected
    data = msgspec.json.encode(payload)
    assert outcome(lambda: msgspec.json.decode(engine.down_json(data, version))) == expected
    for name in ("alpha", "bravo"):
        expected = outcome(lambda r=name: reference_up(payload, version, resource=r))
        assert outcome(lambda r=name: engine.up(payload, version, resource=r)) == expected
    assert payload == before


def renamed_twice_then_converted() -> Engine:
    """``x`` is converted (c1), then renamed ``y`` (c2), then ``z`` (c3): down fuses z -> x."""
    return Engine(Timeline([
        Change(released="2021-01-01", id="c1", description="c1", retroactive=False,
               resources={"charge": [convert("x", down=_minus_one, up=_plus_one)]}),
        Change(released="2022-01-01", id="c2", description="c2", retroactive=False,
               resources={"charge": [rename("x", "y")]}),
        Change(released="2023-01-01", id="c3", description="c3", retroactive=False,
               resources={"charge": [rename("y", "z")]}),
    ]))


def test_fused_pipeline_may_succeed_where_reference_fails_on_ill_formed_payload() -> None:
    """The documented exception: a head payload carrying an old-only property (``y``) is
    ill-formed; the fused down pipeline never looks at it, the interpreter converts it."""
    engine = renamed_twice_then_converted()
    payload = {"object": "charge", "y": "text"}
    assert engine.down(payload, "v1") == payload
    with pytest.raises(MigrationError) as info:
        reference_down(payload, engine.resolve("v1"))
    assert (info.value.change, info.value.reason) == ("c1", "transform")


def test_where_both_fail_they_blame_the_same_change() -> None:
    """With two faults, the compiled pipeline reports the interpreter's (the definition's)."""
    engine = Engine(faulty_history())
    expected = outcome(lambda: reference_down(TWO_FAULTS, engine.resolve("v1")))
    assert expected == ("error", "c2", "alpha", "$", "transform")
    assert outcome(lambda: engine.down(TWO_FAULTS, "v1")) == expected
    assert outcome(lambda: engine.down_json(msgspec.json.encode(TWO_FAULTS), "v1")) == expected


def test_a_nested_resource_an_older_change_collapses_never_fails_the_compiled_walk() -> None:
    """Down to v1 the reference collapses a charge's customer to its id (2020-08-24) before
    the 2019 timestamp change could see the customer's out-of-range `created`; the compiled
    walk migrates the nested customer first and fails, so the engine gives the reference's
    result: compiled equals reference on this input too."""
    import random
    from pathlib import Path

    from datever import Engine, reference_down
    from tests.reference import load_samples

    engine = Engine.from_directory(Path(__file__).parent.parent / "changes")
    charge = load_samples().charge(random.Random(3))
    charge["customer"] = {**load_samples().customer(random.Random(3)),
                          "created": -62135596801}
    assert engine.down(charge, "v1") == reference_down(charge, engine.resolve("v1"))
    assert engine.down(charge, "v1")["customer"] == charge["customer"]["id"]
