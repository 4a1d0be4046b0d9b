"""Version selection: explicit > client pin > account pin > default, and first-request pins."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest

from datever import (
    Change,
    MemoryPinStore,
    PinError,
    SQLitePinStore,
    VersionError,
    add,
    rename,
)
from datever.selection import VersionSelector
from datever.versions import Timeline

TODAY = dt.date(2024, 6, 1)


def timeline() -> Timeline:
    """Releases on 2020-01-01, 2021-01-01 and 2022-01-01."""
    return Timeline([
        Change(released=f"{year}-01-01", description=str(year), id=f"c{year}",
               resources={"charge": [add(f"p{year}", 0)]})
        for year in (2020, 2021, 2022)
    ])


def test_path_segment_is_explicit_and_stripped() -> None:
    """/v2021-06-07/charges selects 2021-01-01 and the app sees /charges."""
    selection = VersionSelector(timeline()).select("/v2021-06-07/charges", today=TODAY)
    assert (selection.version.name, selection.source, selection.path) == (
        "2021-01-01", "path", "/charges")


@pytest.mark.parametrize(("path", "name", "rest"), [
    ("/vX/charges", "X", "/charges"),
    ("/v1/charges/ch_1", "v1", "/charges/ch_1"),
    ("/v2020-05-05", "2020-01-01", "/"),
])
def test_path_forms(path: str, name: str, rest: str) -> None:
    """X, v1 and a bare version segment are recognised in the path."""
    selection = VersionSelector(timeline()).select(path, today=TODAY)
    assert (selection.version.name, selection.path) == (name, rest)


def test_path_without_version_segment_is_not_explicit() -> None:
    """/versions/... is not a version segment."""
    selection = VersionSelector(timeline()).select("/versions/x", today=TODAY)
    assert selection.source == "default"
    assert selection.path == "/versions/x"


def test_header_is_case_insensitive() -> None:
    """The version header is found whatever its case."""
    selection = VersionSelector(timeline()).select(
        "/charges", {"x-api-VERSION": "2020-06-01"}, today=TODAY)
    assert (selection.version.name, selection.source) == ("2020-01-01", "header")


def test_header_name_is_configurable() -> None:
    """Cognite-style `version: beta` header."""
    selection = VersionSelector(timeline(), header="version").select(
        "/x", {"Version": "beta"}, today=TODAY)
    assert selection.version.channel == "beta"


def test_query_parameter() -> None:
    """?api-version=... selects the version when path and header do not."""
    selection = VersionSelector(timeline()).select(
        "/charges", {}, {"api-version": "2021-02-02"}, today=TODAY)
    assert (selection.version.name, selection.source) == ("2021-01-01", "query")


def test_path_beats_header_beats_query() -> None:
    """Explicit sources are taken in order: path, header, query."""
    selector = VersionSelector(timeline())
    headers, query = {"X-API-Version": "2021-01-01"}, {"api-version": "2020-01-01"}
    assert selector.select("/v2022-01-01/x", headers, query, today=TODAY).source == "path"
    assert selector.select("/x", headers, query, today=TODAY).source == "header"


def test_explicit_beats_client_pin_beats_account_pin() -> None:
    """A client pin wins over the account pin and loses to an explicit version."""
    pins = MemoryPinStore()
    pins.pin_first("acct", "2020-01-01")
    selector = VersionSelector(timeline(), pins=pins)
    assert selector.select("/x", account="acct", client_pin="2021-01-01",
                           today=TODAY).source == "client"
    assert selector.select("/x", account="acct", today=TODAY).version.name == "2020-01-01"
    assert selector.select("/v2022-01-01/x", account="acct", client_pin="2021-01-01",
                           today=TODAY).source == "path"


def test_default_is_the_initial_version_flagged_defaulted() -> None:
    """A request naming no version, with no account, gets v1 and is flagged."""
    selection = VersionSelector(timeline()).select("/x", today=TODAY)
    assert (selection.version.name, selection.defaulted) == ("v1", True)


def test_default_may_be_the_newest_release() -> None:
    """default='newest' serves the newest release instead."""
    selection = VersionSelector(timeline(), default="newest").select("/x", today=TODAY)
    assert selection.version.name == "2022-01-01"


def test_first_request_pins_the_account_to_the_newest_release() -> None:
    """An account with no pin is pinned to the newest release and served at it."""
    pins = MemoryPinStore()
    selection = VersionSelector(timeline(), pins=pins).select("/x", account="new", today=TODAY)
    assert selection.pinned is not None
    assert (selection.version.name, selection.source) == ("2022-01-01", "account")
    assert pins.get("new") == selection.pinned


def test_first_request_with_explicit_version_still_pins_the_newest() -> None:
    """The first request pins the account even when it names a version."""
    pins = MemoryPinStore()
    selection = VersionSelector(timeline(), pins=pins).select(
        "/v2020-01-01/x", account="new", today=TODAY)
    assert selection.version.name == "2020-01-01"
    pin = pins.get("new")
    assert pin is not None
    assert pin.version == "2022-01-01"


def test_second_request_does_not_pin_again() -> None:
    """Only the first request reports a new pin."""
    selector = VersionSelector(timeline(), pins=MemoryPinStore())
    assert selector.select("/x", account="a", today=TODAY).pinned is not None
    assert selector.select("/x", account="a", today=TODAY).pinned is None


def test_concurrent_first_requests_pin_once(tmp_path: Path) -> None:
    """Sixteen threads' first requests for one account on SQLite agree on one pin."""
    with SQLitePinStore(tmp_path / "pins.sqlite3") as pins:
        selector = VersionSelector(timeline(), pins=pins)
        barrier = threading.Barrier(16)
        names: list[str] = []

        def first_request() -> None:
            barrier.wait()
            names.append(selector.select("/x", account="acct", today=TODAY).version.name)

        threads = [threading.Thread(target=first_request) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert names == ["2022-01-01"] * 16
        assert len(pins) == 1


def test_upgrade_and_rollback_through_the_selector() -> None:
    """upgrade resolves the version text; rollback restores the previous pin."""
    pins = MemoryPinStore()
    pins.pin_first("acct", "2020-01-01")
    selector = VersionSelector(timeline(), pins=pins)
    assert selector.upgrade("acct", "2021-06-30", today=TODAY).version == "2021-01-01"
    assert selector.rollback("acct").version == "2020-01-01"
    with pytest.raises(PinError):
        selector.upgrade("acct", "v1", today=TODAY)


def test_malformed_explicit_version_is_a_version_error() -> None:
    """A bad header value is a VersionError, for the middleware's 400."""
    with pytest.raises(VersionError):
        VersionSelector(timeline()).select("/x", {"X-API-Version": "2021-6-7"}, today=TODAY)


def test_named_version_in_the_path_keeps_its_v() -> None:
    """/v2-preview1/... on a named timeline selects v2-preview1."""
    named = Timeline([Change(released="v2-preview1", description="p", id="p",
                             resources={"e": [add("a", 1)]})])
    selection = VersionSelector(named).select("/v2-preview1/estimate", today=TODAY)
    assert (selection.version.name, selection.path) == ("v2-preview1", "/estimate")


def test_named_timeline_pins_use_the_timeline_order() -> None:
    """Pins of a named timeline order versions by the timeline: v2-preview1 < v2."""
    named = Timeline([
        Change(released="v2-preview1", description="p", id="p",
               resources={"e": [rename("a", "b")]}),
        Change(released="v2", description="g", id="g", resources={"e": [rename("c", "d")]}),
    ])
    pins = MemoryPinStore(order=named.version_order)
    selector = VersionSelector(named, pins=pins)
    assert selector.select("/x", account="acct", today=TODAY).version.name == "v2"
    pins.delete("acct")
    pins.pin_first("acct", "v2-preview1")
    assert selector.upgrade("acct", "v2", today=TODAY).version == "v2"
    with pytest.raises(PinError):
        selector.upgrade("acct", "v1", today=TODAY)
