"""The laws of DESIGN.md, checked by hypothesis over random histories and payloads."""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datever import (
    Change,
    Engine,
    Version,
    VersionError,
    add,
    reference_down,
    reference_up,
)
from datever.versions import Timeline
from tests.histories import (
    ALL_KINDS,
    LOSSLESS_KINDS,
    RESOURCES,
    History,
    build_history,
    payload,
    resource_payload,
)

seeds = st.integers(min_value=0, max_value=2**32 - 1)
sizes = st.integers(min_value=1, max_value=40)


def _case(seed: int, size: int, kinds: tuple[str, ...] = ALL_KINDS,
          ) -> tuple[random.Random, History, Engine, Version]:
    """A seeded random history, its engine, and one of its versions: v1, a release,
    beta or X."""
    rng = random.Random(seed)
    history = build_history(rng, size=size, kinds=kinds)
    engine = Engine(history.timeline)
    names = ["v1", "X", "beta", *(r.isoformat() for r in engine.timeline.releases)]
    return rng, history, engine, engine.resolve(rng.choice(names), today=dt.date(2100, 1, 1))


@settings(max_examples=300, deadline=None)
@given(seeds, sizes)
def test_compiled_down_equals_reference(seed: int, size: int) -> None:
    """Compiled down migration equals the reference interpreter on well-formed payloads."""
    rng, history, engine, version = _case(seed, size)
    for _ in range(3):
        head = payload(history.head, rng)
        assert engine.down(head, version) == reference_down(head, version)


@settings(max_examples=300, deadline=None)
@given(seeds, sizes)
def test_compiled_down_json_equals_reference(seed: int, size: int) -> None:
    """The bytes path gives the same JSON value as the reference interpreter."""
    rng, history, engine, version = _case(seed, size)
    head = payload(history.head, rng)
    data = msgspec.json.encode(head)
    assert msgspec.json.decode(engine.down_json(data, version)) == reference_down(head, version)


@settings(max_examples=300, deadline=None)
@given(seeds, sizes)
def test_compiled_up_equals_reference(seed: int, size: int) -> None:
    """Compiled up migration of an old-shaped request equals the reference interpreter."""
    rng, history, engine, version = _case(seed, size)
    resource = rng.choice(RESOURCES)
    old = reference_down(resource_payload(history.head, rng, resource=resource), version,
                         resource=resource)
    expected = reference_up(old, version, resource=resource)
    assert engine.up(old, version, resource=resource) == expected
    data = msgspec.json.encode(old)
    assert msgspec.json.decode(engine.up_json(data, version, resource=resource)) == expected


@settings(max_examples=300, deadline=None)
@given(seeds, sizes)
def test_round_trip_of_lossless_changes(seed: int, size: int) -> None:
    """up(down(x)) == x when every change is declarative and lossless."""
    rng, history, engine, version = _case(seed, size, LOSSLESS_KINDS)
    assert all(change.lossless for change in engine.timeline.changes)
    resource = rng.choice(RESOURCES)
    head = resource_payload(history.head, rng, resource=resource)
    old = engine.down(head, version, resource=resource)
    assert engine.up(old, version, resource=resource) == head


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


@settings(max_examples=300, deadline=None)
@given(release_days, st.integers(min_value=-30, max_value=3100),
       st.integers(min_value=0, max_value=3200))
def test_resolution_is_the_newest_release_not_after_the_date(
    days: list[int], offset: int, today_offset: int
) -> None:
    """A date resolves to the newest release on or before it, or the initial version."""
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


@settings(max_examples=200, deadline=None)
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
