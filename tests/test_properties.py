"""The laws of DESIGN.md, checked by hypothesis over drawn histories and payloads."""

from __future__ import annotations

import bisect
import contextlib
import copy
import datetime as dt
import itertools
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datever import (
    Change,
    Engine,
    MigrationError,
    Version,
    VersionError,
    add,
    custom,
    reference_down,
    reference_up,
    remove,
    rename,
)
from datever.versions import Timeline
from tests.histories import (
    FAILING_KINDS,
    LOSSLESS_KINDS,
    RESOURCES,
    History,
    histories,
    payloads,
    resource_payloads,
    tripped,
)

FAR = dt.date(2100, 1, 1)
LAWS = settings(max_examples=100, deadline=None)


@st.composite
def cases(draw: Any, kinds: tuple[str, ...] | None = None,
          ) -> tuple[History, Engine, Version]:
    """A history, its engine, and one of its versions: v1, a release, beta or X."""
    history = draw(histories() if kinds is None else histories(kinds=kinds))
    engine = Engine(history.timeline)
    names = ["v1", *(r.isoformat() for r in engine.timeline.releases), "beta", "X"]
    return history, engine, engine.resolve(draw(st.sampled_from(names)), today=FAR)


# -- 4. reference and compiled agree -------------------------------------------------


@LAWS
@given(cases(), st.data())
def test_compiled_down_equals_reference(case: tuple[History, Engine, Version],
                                        data: st.DataObject) -> None:
    """Compiled down migration equals the reference interpreter on well-formed payloads."""
    history, engine, version = case
    head = data.draw(payloads(history.head))
    assert engine.down(head, version) == reference_down(head, version)


@LAWS
@given(cases(), st.data())
def test_compiled_down_json_equals_reference(case: tuple[History, Engine, Version],
                                             data: st.DataObject) -> None:
    """The bytes path gives the same JSON value as the reference interpreter."""
    history, engine, version = case
    head = data.draw(payloads(history.head))
    raw = msgspec.json.encode(head)
    assert msgspec.json.decode(engine.down_json(raw, version)) == reference_down(head, version)


@LAWS
@given(cases(), st.sampled_from(RESOURCES), st.data())
def test_compiled_up_equals_reference(case: tuple[History, Engine, Version], resource: str,
                                      data: st.DataObject) -> None:
    """Compiled up migration of an old-shaped request equals the reference interpreter."""
    history, engine, version = case
    head = data.draw(resource_payloads(history.head, resource=resource))
    old = reference_down(head, version, resource=resource)
    expected = reference_up(old, version, resource=resource)
    assert engine.up(old, version, resource=resource) == expected
    raw = msgspec.json.encode(old)
    assert msgspec.json.decode(engine.up_json(raw, version, resource=resource)) == expected


# -- 5. round trip -------------------------------------------------------------------


@LAWS
@given(cases(LOSSLESS_KINDS), st.sampled_from(RESOURCES), st.data())
def test_round_trip_of_lossless_changes(case: tuple[History, Engine, Version], resource: str,
                                        data: st.DataObject) -> None:
    """up(down(x)) == x when every change is declarative and lossless."""
    history, engine, version = case
    assert all(change.lossless for change in engine.timeline.changes)
    head = data.draw(resource_payloads(history.head, resource=resource))
    old = engine.down(head, version, resource=resource)
    assert engine.up(old, version, resource=resource) == head


# -- 2. order ------------------------------------------------------------------------


def _marks(version: Version, resource: str, direction: str) -> str:
    """The trail the pending changes leave on ``resource``: down newest first, up oldest
    first, a change's operations in the order its direction runs them."""
    changes = reversed(version.pending) if direction == "down" else version.pending
    marks = [op.description.removeprefix("trail ")
             for change in changes for op in (
                 reversed(change.resources.get(resource, ())) if direction == "down"
                 else change.resources.get(resource, ()))
             if op.description.startswith("trail ")]
    return "".join(marks if direction == "down" else (mark.upper() for mark in marks))


@LAWS
@given(cases(("trail", "rename", "add")), st.sampled_from(RESOURCES), st.data())
def test_down_runs_newest_first_and_up_oldest_first(case: tuple[History, Engine, Version],
                                                    resource: str,
                                                    data: st.DataObject) -> None:
    """Down applies the pending changes newest to oldest; up oldest to newest."""
    history, engine, version = case
    head = data.draw(resource_payloads(history.head, resource=resource))
    head.pop("trail", None)
    old = engine.down(head, version)
    assert old.get("trail", "") == _marks(version, resource, "down")
    body = {key: value for key, value in old.items() if key != "trail"}
    assert engine.up(body, version, resource=resource).get("trail", "") == _marks(
        version, resource, "up")


# -- 3. nesting ----------------------------------------------------------------------


def _glance(obj: dict[str, Any]) -> None:
    """Record the keys of the nested resources this object holds when the transform runs."""
    nested = sorted(sorted(value) for value in obj.values()
                    if isinstance(value, dict) and "object" in value)
    obj["glance"] = [*obj.get("glance", []), nested]


@LAWS
@given(histories(kinds=("rename", "add", "remove")), st.data())
def test_compiled_walk_finishes_nested_resources_before_their_parent(
        history: History, data: st.DataObject) -> None:
    """In a compiled pipeline, a transform (not declared as reaching nested resources)
    runs after every nested resource is at the client's version: the walk is bottom-up.
    (The reference interpreter applies one change at a time, so such a transform must
    not read nested resources: that is what ``reaches_nested`` is for.)"""
    newest = max(history.timeline.releases, default=dt.date(2020, 1, 1))
    looking = Change(released=newest + dt.timedelta(days=1), description="glance",
                     id="z_glance", resources={"alpha": [custom(down=_glance)]})
    engine = Engine(Timeline([*history.timeline.changes, looking]))
    old = engine.down(data.draw(resource_payloads(history.head, resource="alpha")), "v1")
    finished = sorted(sorted(value) for value in old.values()
                      if isinstance(value, dict) and "object" in value)
    assert old["glance"] == [finished]


# -- 6. nothing to do costs nothing --------------------------------------------------


@LAWS
@given(cases(), st.data())
def test_nothing_to_do_returns_the_input(case: tuple[History, Engine, Version],
                                         data: st.DataObject) -> None:
    """At the head the very same bytes come back; a payload holding none of the
    pipeline's resource types comes back equal."""
    history, engine, version = case
    head = data.draw(payloads(history.head))
    raw = msgspec.json.encode(head)
    assert engine.down_json(raw, "X") is raw
    pipeline = engine.pipeline(version, "down")
    if pipeline.is_empty:
        assert engine.down_json(raw, version) is raw
    present = {node.get("object") for node in _objects(head)}
    if not present & set(pipeline.resources):
        assert msgspec.json.decode(engine.down_json(raw, version)) == head


def _objects(value: Any) -> list[dict[str, Any]]:
    """Every object in a JSON value, at any depth."""
    found, stack = [], [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            found.append(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


# -- 7 and 8. errors name the change; bad input never corrupts ----------------------------


@LAWS
@given(cases(FAILING_KINDS), st.data())
def test_errors_name_the_change_resource_and_path(case: tuple[History, Engine, Version],
                                                  data: st.DataObject) -> None:
    """When a transform fails on a resource, the compiled pipeline names what the reference
    names: the change, its release, the resource, and the path where that change met it
    (a newer change may have renamed a parent on the way); when nothing fails the outputs
    agree."""
    history, engine, version = case
    head, path = data.draw(payloads(history.head).flatmap(tripped))
    outcomes = []
    for migrate in (lambda: reference_down(head, version), lambda: engine.down(head, version)):
        try:
            outcomes.append(migrate())
        except MigrationError as error:
            outcomes.append((error.change, error.release, error.resource, error.path))
    expected, got = outcomes
    if isinstance(got, tuple) and got[0] is not None:
        assert got == expected
        assert got[2] == _at(head, path)["object"]
    else:
        assert got == expected


def _at(value: Any, path: list[str | int]) -> Any:
    for part in path:
        value = value[part]
    return value


@LAWS
@given(cases(FAILING_KINDS), st.sampled_from(RESOURCES), st.data())
def test_the_callers_object_is_never_changed(case: tuple[History, Engine, Version],
                                             resource: str, data: st.DataObject) -> None:
    """down and up leave the caller's object as it was, whether they succeed or fail."""
    history, engine, version = case
    head, _ = data.draw(payloads(history.head).flatmap(tripped))
    body, _ = data.draw(resource_payloads(history.head, resource=resource).flatmap(tripped))
    for migrate, argument in ((lambda: engine.down(head, version), head),
                              (lambda: engine.up(body, version, resource=resource), body)):
        before = copy.deepcopy(argument)
        with contextlib.suppress(MigrationError):
            migrate()
        assert argument == before


# -- 1. resolution ------------------------------------------------------------------------


release_days = st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=30)


def _dated_timeline(days: list[int]) -> Timeline:
    start = dt.date(2018, 1, 1)
    changes = [
        Change(released=start + dt.timedelta(days=day), description=f"change {index}",
               resources={"thing": [add(f"p{index}", index)]}, id=f"c{index:03d}",
               retroactive=False)
        for index, day in enumerate(sorted(days))
    ]
    return Timeline(changes)


@LAWS
@given(release_days, st.integers(min_value=-30, max_value=3100),
       st.integers(min_value=0, max_value=3200))
def test_resolution_is_the_newest_release_not_after_the_date(
    days: list[int], offset: int, today_offset: int
) -> None:
    """A date resolves to the newest release on or before it, or the initial version;
    tomorrow (UTC) is served with a warning and later dates are refused."""
    timeline = _dated_timeline(days)
    today = dt.date(2018, 1, 1) + dt.timedelta(days=today_offset)
    requested = dt.date(2018, 1, 1) + dt.timedelta(days=offset)
    if requested > today + dt.timedelta(days=1):
        with pytest.raises(VersionError) as raised:
            timeline.resolve(requested.isoformat(), today=today)
        assert raised.value.reason == "future"
        return
    version = timeline.resolve(requested.isoformat(), today=today)
    earlier = [release for release in timeline.releases if release <= requested]
    assert version.release == (max(earlier) if earlier else None)
    assert (version.warning is not None) == (requested == today + dt.timedelta(days=1))
    included = {c for c in timeline.changes if c.released and c.released <= requested}
    assert set(timeline.changes) - set(version.pending) == included


@LAWS
@given(release_days, st.integers(min_value=0, max_value=3200))
def test_today_resolves_to_the_newest_release_so_far(days: list[int], today_offset: int,
                                                     ) -> None:
    """Today's date gives the newest release on or before today."""
    timeline = _dated_timeline(days)
    today = dt.date(2018, 1, 1) + dt.timedelta(days=today_offset)
    released = [release for release in timeline.releases if release <= today]
    assert timeline.resolve(today.isoformat(), today=today).release == (
        released[-1] if released else None)


@settings(max_examples=100, deadline=None)
@given(release_days, st.lists(st.integers(min_value=-30, max_value=3100), min_size=2,
                              max_size=10))
def test_resolution_is_monotonic_in_the_date(days: list[int], offsets: list[int]) -> None:
    """A later date never resolves to an earlier release, and shares pipelines by release."""
    timeline = _dated_timeline(days)
    engine = Engine(timeline)
    today = dt.date(2030, 1, 1)
    dates = sorted(dt.date(2018, 1, 1) + dt.timedelta(days=o) for o in offsets)
    versions = [timeline.resolve(d.isoformat(), today=today) for d in dates]
    order = [bisect.bisect_right(timeline.releases, v.release) if v.release else 0
             for v in versions]
    assert order == sorted(order)
    for first, second in itertools.pairwise(versions):
        same = first.release == second.release
        assert (engine.pipeline(first, "down") is engine.pipeline(second, "down")) == same


@LAWS
@given(st.one_of(st.text(max_size=20),
                 st.from_regex(r"v?[0-9]{1,5}(-[0-9]{1,3}){0,2}", fullmatch=True)))
def test_any_string_resolves_or_says_which_forms_are_accepted(text: str) -> None:
    """A version string resolves, or raises VersionError listing the accepted forms."""
    timeline = Timeline([Change(released="2021-06-07", description="d", id="c",
                                resources={"thing": [rename("a", "b")]}),
                         Change(stage="beta", description="b", id="b",
                                resources={"thing": [remove("c", 0)]})])
    try:
        outcome = timeline.resolve(text, today=FAR).requested
    except VersionError as error:
        outcome = error.requested if "accepted forms" in str(error) else "no forms listed"
    assert outcome == text
