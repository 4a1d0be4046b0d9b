"""Backward-compatible changes apply to every version, old ones included (Sanity)."""

from __future__ import annotations

import datetime as dt

import pytest

from datever import (
    Change,
    ChangeError,
    Engine,
    Resource,
    add,
    add_endpoint,
    remove,
    rename,
)
from datever.versions import Timeline

TODAY = dt.date(2024, 6, 1)


def timeline() -> Timeline:
    """A breaking rename, then a response property added (compatible), then an endpoint."""
    return Timeline([
        Change(released="2020-01-01", description="rename", id="c1",
               resources={"charge": [rename("amount_cents", "amount")]}),
        Change(released="2021-01-01", description="new property", id="c2",
               resources={"charge": [add("currency", "usd")]}),
        Change(released="2022-01-01", description="new endpoint", id="c3",
               resources={"refund": [add_endpoint("POST", "/v1/refunds")]}),
    ])


def test_compatible_changes_are_marked_retroactive() -> None:
    """Only the changes made of compatible operations are retroactive."""
    assert {c.id for c in timeline().retroactive} == {"c2", "c3"}


def test_retroactive_changes_are_never_pending() -> None:
    """No version, not even v1, undoes a retroactive change."""
    line = timeline()
    for text in ("v1", "2020-06-01", "2021-06-01", "X"):
        version = line.resolve(text, today=TODAY)
        assert {c.id for c in version.pending} <= {"c1"}
        assert version.includes("c2")


def test_old_versions_see_the_added_property() -> None:
    """v1 gets the new response property; only the breaking rename is undone."""
    engine = Engine(timeline())
    head = {"object": "charge", "amount": 5, "currency": "eur"}
    assert engine.down(head, "v1") == {"object": "charge", "amount_cents": 5, "currency": "eur"}


def test_breaking_change_is_not_retroactive() -> None:
    """A rename stays pending for versions before it."""
    version = timeline().resolve("v1", today=TODAY)
    assert [c.id for c in version.pending] == ["c1"]


def test_retroactive_false_keeps_a_compatible_change_versioned() -> None:
    """retroactive=False: v1 still has the added property removed."""
    line = Timeline([Change(released="2021-01-01", description="kept", id="k",
                            resources={"charge": [add("currency", "usd")]}, retroactive=False)])
    assert line.retroactive == frozenset()
    assert Engine(line).down({"object": "charge", "currency": "eur"}, "v1") == {
        "object": "charge"}


def test_retroactive_true_on_a_breaking_change_is_refused() -> None:
    """A breaking change cannot be declared retroactive."""
    with pytest.raises(ChangeError, match="breaking"):
        Timeline([Change(released="2021-01-01", description="no", id="b",
                         resources={"charge": [rename("a", "b")]}, retroactive=True)])


def test_remove_on_a_dotted_response_resource_stays_versioned() -> None:
    """checkout.session is a response resource: removing its property is breaking, and
    old clients still get the property."""
    line = Timeline([Change(released="2021-01-01", description="removed", id="r",
                            resources={"checkout.session": [remove("locale", "auto")]})],
                    resources=[Resource("checkout.session")])
    assert line.retroactive == frozenset()
    assert Engine(line).down({"object": "checkout.session"}, "v1") == {
        "object": "checkout.session", "locale": "auto"}


def test_remove_on_a_declared_request_body_is_retroactive() -> None:
    """No longer reading a property of a declared request body applies to every version."""
    line = Timeline([Change(released="2021-01-01", description="ignored", id="i",
                            resources={"charge.capture": [remove("note")]})],
                    resources=[Resource("charge.capture", request=True)])
    assert {c.id for c in line.retroactive} == {"i"}
