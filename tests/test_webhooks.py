"""Rendering payloads outside a request (datever.webhooks): at a version, or at an account's pin."""

from __future__ import annotations

import random
from pathlib import Path

import msgspec
import pytest

from datever import Engine, MigrationError, SQLitePinStore, VersionError
from datever.webhooks import Rendered, render_event, render_for_account
from tests.reference import load_samples

CHANGES = Path(__file__).parent.parent / "changes"
ENGINE = Engine.from_directory(CHANGES)


SAMPLES = load_samples()
EVENT = SAMPLES.event(random.Random(3))
EVENT_BYTES = msgspec.json.encode(EVENT)


def test_event_is_rendered_at_the_requested_version() -> None:
    """A head event rendered at 2021-06-07 has the shape the engine gives that version."""
    rendered = render_event(ENGINE, EVENT, "2021-06-07")
    assert msgspec.json.decode(rendered.body) == ENGINE.down(EVENT, "2021-06-07")


def test_rendered_records_the_resolved_and_requested_versions() -> None:
    """Rendered says which release it was rendered at and what was asked for."""
    rendered = render_event(ENGINE, EVENT, "2021-06-07")
    assert (rendered.version, rendered.requested) == ("2021-05-10", "2021-06-07")


def test_bytes_and_dicts_render_alike() -> None:
    """The bytes of a payload render as the payload itself does."""
    assert (render_event(ENGINE, EVENT_BYTES, "v1").body
            == render_event(ENGINE, EVENT, "v1").body)


def test_bytes_at_the_head_are_returned_untouched() -> None:
    """At X nothing is migrated: the very bytes given come back."""
    rendered = render_event(ENGINE, EVENT_BYTES, "X")
    assert rendered.body is EVENT_BYTES


def test_a_resolved_version_is_accepted() -> None:
    """render_event takes a Version as well as a string."""
    version = ENGINE.resolve("2019-11-11")
    assert render_event(ENGINE, EVENT, version).version == "2019-11-11"


def test_resource_names_a_root_without_discriminator() -> None:
    """resource= migrates a root object that carries no "object" property."""
    charge = {k: v for k, v in SAMPLES.charge(random.Random(1)).items() if k != "object"}
    rendered = render_event(ENGINE, charge, "v1", resource="charge")
    assert isinstance(msgspec.json.decode(rendered.body)["amount"], str)


def test_an_invalid_version_is_a_version_error() -> None:
    """A malformed version raises VersionError."""
    with pytest.raises(VersionError):
        render_event(ENGINE, EVENT, "2021-6-7")


def test_a_payload_that_is_not_json_is_a_migration_error() -> None:
    """A payload msgspec cannot encode raises MigrationError, not TypeError."""
    with pytest.raises(MigrationError, match="not a JSON value"):
        render_event(ENGINE, {"when": object()}, "v1")


def test_rendered_headers_name_the_version() -> None:
    """headers() gives the content type and the version header."""
    rendered = Rendered(b"{}", "2021-05-10", "2021-06-07")
    assert rendered.headers("Stripe-Version") == (("Content-Type", "application/json"),
                                                  ("Stripe-Version", "2021-05-10"))


def test_account_gets_its_pinned_version(tmp_path: Path) -> None:
    """A pinned account's events are rendered at its pin (read from a real SQLite file)."""
    with SQLitePinStore(tmp_path / "pins.sqlite3") as pins:
        pins.pin_first("acct_1", "2020-02-03")
    with SQLitePinStore(tmp_path / "pins.sqlite3") as pins:
        rendered = render_for_account(ENGINE, pins, "acct_1", EVENT)
    assert rendered.version == "2020-02-03"
    assert msgspec.json.decode(rendered.body) == ENGINE.down(EVENT, "2020-02-03")


def test_unpinned_account_gets_the_newest_release_and_stays_unpinned(tmp_path: Path) -> None:
    """An account that never made a request gets the newest release; rendering does not pin."""
    with SQLitePinStore(tmp_path / "pins.sqlite3") as pins:
        rendered = render_for_account(ENGINE, pins, "acct_new", EVENT)
        assert rendered.version == ENGINE.timeline.versions[-1]
        assert pins.get("acct_new") is None


def test_unpinned_account_gets_the_default_when_given(tmp_path: Path) -> None:
    """default= is the version for an account without a pin."""
    with SQLitePinStore(tmp_path / "pins.sqlite3") as pins:
        rendered = render_for_account(ENGINE, pins, "acct_new", EVENT, default="v1")
    assert rendered.version == "v1"


def test_object_nested_past_the_limit_is_too_deep() -> None:
    """A Python object nested past MAX_DEPTH is a MigrationError, never a RecursionError."""
    payload: dict[str, object] = {"object": "refund"}
    for _ in range(3000):
        payload = {"inner": payload}
    with pytest.raises(MigrationError) as info:
        render_event(ENGINE, payload, "v1")
    assert info.value.reason == "too_deep"


def test_integer_too_long_to_write_is_not_encodable() -> None:
    """An int of 5000 digits (past Python's int-to-text limit) is a MigrationError naming
    why, not a raw ValueError."""
    with pytest.raises(MigrationError) as info:
        render_event(ENGINE, {"object": "event", "n": 10**5000}, "v1")
    assert info.value.reason == "not_encodable"
