"""The engine's fast paths give what the slow ones give: the untouched-payload scan, the
remembered pipeline of the last Version, and the reference API's faster converters."""

from __future__ import annotations

import datetime as dt
import json
import re
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
    Schemas,
    custom,
    move,
    reference_down,
    rename,
)
from datever.changes import load_changes
from datever.operations import Convert
from datever.pipeline import is_flat
from datever.versions import Timeline

CHANGES_DIR = Path(__file__).parent.parent / "changes"

# names with dots, underscores, non-ASCII letters and characters JSON must escape
NAMES = ["charge", "checkout.session", "refund", "café", "naïve_résumé", 'quo"te', "back\\slash",
         "tab\there", "x"]


def timeline_touching(names: list[str]) -> Timeline:
    """One release that renames a property on each of ``names``."""
    return Timeline([Change(released="2021-01-01", id="renames", description="Renames.",
                            resources={name: [rename("old", "new")] for name in names})])


def json_values(names: list[str]) -> st.SearchStrategy[Any]:
    """JSON values whose objects may carry any of ``names`` (or other strings) as their
    ``object`` discriminator, as a value elsewhere, or as a key."""
    texts = st.sampled_from(names) | st.text(max_size=8)
    scalars = st.none() | st.booleans() | st.integers() | texts
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        texts | st.just("object"), inner, max_size=4), max_leaves=20)


def discriminators(payload: Any) -> set[str]:
    """Every string found under an ``object`` key, at any depth."""
    found: set[str] = set()
    stack = [payload]
    while stack:
        node = stack.pop()
        if type(node) is dict:
            if type(node.get("object")) is str:
                found.add(node["object"])
            stack.extend(node.values())
        elif type(node) is list:
            stack.extend(node)
    return found


ENCODINGS = [
    msgspec.json.encode,  # UTF-8, escapes only what JSON requires
    lambda value: json.dumps(value).encode(),  # ASCII: \u escapes for every non-ASCII letter
    lambda value: json.dumps(value, indent=1, ensure_ascii=False).encode(),  # whitespace
]


@settings(max_examples=300, deadline=None)
@given(touched=st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True),
       data=st.data())
def test_scan_never_calls_untouched_a_payload_holding_a_touched_resource(
        touched: list[str], data: st.DataObject) -> None:
    """might_touch is True whenever a touched resource is in the payload, however encoded."""
    pipeline = Engine(timeline_touching(touched)).pipeline("v1", "down")
    payload = data.draw(json_values(NAMES))
    raw = data.draw(st.sampled_from(ENCODINGS))(payload)
    if discriminators(payload) & set(touched):
        assert pipeline.might_touch(raw)


@settings(max_examples=200, deadline=None)
@given(touched=st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True),
       payload=json_values(NAMES))
def test_untouched_bytes_come_back_only_when_migrating_would_change_nothing(
        touched: list[str], payload: Any) -> None:
    """When down_json returns its input bytes, the migration of the decoded payload is a no-op."""
    engine = Engine(timeline_touching(touched))
    raw = msgspec.json.encode(payload)
    if engine.down_json(raw, "v1") is raw:
        assert engine.down(payload, "v1") == payload


def test_one_marker_scan_sees_an_escaped_name() -> None:
    """A single touched name spelled with a \\u escape still makes the payload walked."""
    pipeline = Engine(timeline_touching(["charge"])).pipeline("v1", "down")
    assert pipeline.might_touch(b'{"object": "\\u0063harge", "old": 1}')
    assert not pipeline.might_touch(b'{"object": "refund", "old": 1}')


def test_many_marker_scan_finds_any_of_them() -> None:
    """With several touched names, the payload is walked when any one of them occurs."""
    pipeline = Engine(timeline_touching(["charge", "refund", "x"])).pipeline("v1", "down")
    assert pipeline.might_touch(b'[{"object": "x"}]')
    assert not pipeline.might_touch(b'[{"object": "customer"}]')


def test_down_json_with_alternating_versions_uses_each_ones_pipeline() -> None:
    """Remembering the last Version never serves one version's pipeline to another."""
    timeline = Timeline([
        Change(released="2021-01-01", id="first", description="First.",
               resources={"charge": [rename("a", "b")]}),
        Change(released="2022-01-01", id="second", description="Second.",
               resources={"charge": [rename("b", "c")]}),
    ])
    engine = Engine(timeline)
    oldest, middle, head = (engine.resolve(name) for name in ("v1", "2021-06-01", "X"))
    raw = b'{"object": "charge", "c": 1}'
    for _ in range(2):
        assert engine.down_json(raw, oldest) == b'{"object":"charge","a":1}'
        assert engine.down_json(raw, middle) == b'{"object":"charge","b":1}'
        assert engine.down_json(raw, head) is raw


UNNESTING = Timeline([
    Change(released="2021-01-01", id="flat_risk", description="Risk was flat.",
           resources={"charge": [move("risk", "outcome.risk"), move("seller", "outcome.seller")]}),
    Change(released="2022-01-01", id="flat_network", description="Network was flat.",
           resources={"charge": [move("network", "outcome.network")]}),
])


def test_moves_out_of_one_object_are_compiled_as_one_block() -> None:
    """Consecutive moves out of ``outcome`` share one lookup in the generated source."""
    source = Engine(UNNESTING).pipeline("v1", "down").source
    assert source.count("d.get('outcome')") == 1
    assert "(3 moves out of 'outcome')" in source


@pytest.mark.parametrize("outcome", [
    {"risk": 1, "seller": "s", "network": "n"},  # emptied: the object goes
    {"risk": 1, "extra": True},  # keeps a key: the object stays
    {},  # empty from the start: it stays
    {"other": 1},
    None,
], ids=["emptied", "partly", "empty", "untouched", "null"])
def test_moves_out_of_one_object_give_the_reference_result(outcome: Any) -> None:
    """Grouped moves leave the charge as the moves one at a time leave it."""
    engine = Engine(UNNESTING)
    version = engine.resolve("v1")
    payloads = [{"object": "charge", "id": "ch_1", "outcome": outcome}, {"object": "charge"}]
    for payload in payloads:
        raw = msgspec.json.encode(payload)
        assert engine.down_json(raw, version) == msgspec.json.encode(
            reference_down(payload, version))


def test_moves_out_of_a_non_object_name_the_first_change() -> None:
    """An ``outcome`` that is not an object is refused, blaming the newest change's move."""
    engine = Engine(UNNESTING)
    with pytest.raises(MigrationError, match="expected an object at 'outcome'") as failure:
        engine.down_json(b'{"object": "charge", "outcome": 5}', "v1")
    assert failure.value.change == "flat_network"


def refuse_negative(charge: dict[str, Any]) -> None:
    """A down transform that fails on a negative amount."""
    amount = charge.get("amount")
    if type(amount) is int and amount < 0:
        raise ValueError("negative amount")


FLAT = Timeline([
    Change(released="2021-01-01", id="amounts", description="Amounts checked.",
           resources={"charge": [custom(down=refuse_negative)]}),
    Change(released="2022-01-01", id="renames", description="Renames.",
           resources={name: [rename("old", "new")] for name in ("charge", "café", 'quo"te')}),
])


def flat_objects() -> st.SearchStrategy[dict[str, Any]]:
    """Objects of scalars: touched and untouched types, strings holding braces and escapes."""
    texts = st.sampled_from([*NAMES, "{", "[", "a{b", "\\", "é"]) | st.text(max_size=6)
    scalars = st.none() | st.booleans() | st.integers(min_value=0) | texts
    extra = st.dictionaries(st.sampled_from(["new", "old", "amount"]) | texts, scalars,
                            max_size=4)
    touched = st.sampled_from(["charge", "café", 'quo"te'])
    kind = st.fixed_dictionaries({"object": touched | st.sampled_from(NAMES) | scalars})
    return st.builds(lambda first, rest: {**first, **rest}, kind, extra) | extra


@settings(max_examples=300, deadline=None)
@given(payload=flat_objects(), encode=st.sampled_from(ENCODINGS))
def test_flat_objects_migrate_as_the_reference_says(payload: dict[str, Any], encode: Any) -> None:
    """An object of scalars gives the reference result, and its own bytes only when the
    reference changes nothing."""
    engine = Engine(FLAT)
    version = engine.resolve("v1")
    raw = encode(payload)
    expected = reference_down(payload, version)
    got = engine.down_json(raw, version)
    assert msgspec.json.decode(got) == expected
    if got is raw:
        assert expected == payload


def test_flat_object_failure_names_change_resource_and_path() -> None:
    """A transform failing on a flat root reports what a failure in the walk reports."""
    engine = Engine(FLAT)
    with pytest.raises(MigrationError, match="negative amount") as failure:
        engine.down_json(b'{"object":"charge","amount":-1}', "v1")
    error = failure.value
    assert (error.change, error.resource, error.path, error.reason, error.version) == (
        "amounts", "charge", [], "transform", "v1")


def test_flat_invalid_json_passes_untouched_only_without_a_touched_name() -> None:
    """Invalid JSON is returned as is when no touched type is named, refused otherwise."""
    engine = Engine(FLAT)
    untouched = b'{"object": "refund", "amount": }'
    assert engine.down_json(untouched, "v1") is untouched
    with pytest.raises(MigrationError) as failure:
        engine.down_json(b'{"object": "charge", "amount": }', "v1")
    assert failure.value.reason == "invalid_json"


@pytest.mark.parametrize(("raw", "flat"), [
    (b'{"a": 1, "b": "x"}', True),
    (b'"scalar"', True),
    (b'{"a": "{"}', False),  # a brace in a string: conservative
    (b'{"a": "["}', False),
    (b'{"a": {}}', False),
    (b'{"a": []}', False),
    (b' {"a": 1}', False),  # whitespace before the root: conservative
    (b'[1, 2]', False),
])
def test_is_flat_sees_any_nested_object_or_array(raw: bytes, flat: bool) -> None:
    """is_flat is True only for bytes that cannot decode to a nested object or array."""
    assert is_flat(raw) is flat


class Buyer(msgspec.Struct, tag_field="object", tag="buyer", forbid_unknown_fields=True):
    id: str
    vip: bool


class Basket(msgspec.Struct, tag_field="object", tag="basket", forbid_unknown_fields=True):
    id: str
    buyers: list[Buyer]


def refuse_vips(buyer: dict[str, Any]) -> None:
    """A down transform that fails on VIP buyers."""
    if buyer["vip"]:
        raise ValueError("no VIPs here")


BASKETS = Timeline([Change(released="2021-01-01", id="buyers_checked",
                           description="Buyers are checked.",
                           resources={"buyer": [custom(down=refuse_vips)]})])


def test_planned_walk_runs_as_generated_code_and_locates_failures() -> None:
    """With shapes, the walk is generated code: a failure deep in it names the JSON path,
    and its traceback goes through the generated walk."""
    engine = Engine(BASKETS, schemas=Schemas([Basket, Buyer]))
    buyers = [{"object": "buyer", "id": "u1", "vip": False},
              {"object": "buyer", "id": "u2", "vip": True}]
    raw = msgspec.json.encode({"object": "basket", "id": "b", "buyers": buyers})
    with pytest.raises(MigrationError) as failure:
        engine.down_json(raw, "v1")
    assert failure.value.path == ["buyers", 1]
    assert failure.value.change == "buyers_checked"
    frames: list[str] = []
    error: BaseException | None = failure.value
    while error is not None:
        tb = error.__traceback__
        while tb is not None:
            frames.append(tb.tb_frame.f_code.co_filename)
            tb = tb.tb_next
        error = error.__cause__
    assert any(name.startswith("<datever walk default v1 down pass 0") for name in frames)


def test_planned_walk_source_can_be_read() -> None:
    """The generated walk of each pass is kept: a function per shape, the keys it enters."""
    pipeline = Engine(BASKETS, schemas=Schemas([Basket, Buyer])).pipeline("v1", "down")
    (source,) = pipeline.walk_sources
    assert "value = node.get('buyers')" in source
    assert "visits = {" in source


def seconds_to_iso() -> Any:
    """The down converter of the timestamps change."""
    timeline = Timeline(load_changes(CHANGES_DIR))
    change = timeline.change("2019_04_15_timestamps_as_unix_seconds")
    return next(step.fn for step in change.steps("charge", "down") if isinstance(step, Convert))


def strftime_iso(seconds: Any) -> str:
    """The timestamp text as the change first defined it."""
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


SECONDS_TO_ISO = seconds_to_iso()


@settings(max_examples=500)
@given(seconds=st.integers(min_value=-62135596800, max_value=253402300799)
       | st.floats(min_value=-62135596800, max_value=253402300799)
       | st.sampled_from([-30610224001, -30610224000, 0, -1, 253402300799, True]))
def test_timestamp_converter_gives_the_strftime_text(seconds: float) -> None:
    """Unix seconds become exactly the text strftime gave, years before 1000 and floats
    included."""
    assert SECONDS_TO_ISO(seconds) == strftime_iso(seconds)


@pytest.mark.parametrize("seconds", [253402300800, -62135596801, 10**20, float("nan"),
                                     "1696429676", None])
def test_timestamp_converter_refuses_what_strftime_refused(seconds: Any) -> None:
    """Out of range or not a number: the same exception as before."""
    with pytest.raises((TypeError, ValueError, OverflowError)) as expected:
        strftime_iso(seconds)
    with pytest.raises(type(expected.value), match=re.escape(str(expected.value))):
        SECONDS_TO_ISO(seconds)
