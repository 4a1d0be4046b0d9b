"""One version grammar: every entry point that reads a version name agrees on the same table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from datever import (
    Change,
    ChangeError,
    Engine,
    PinError,
    ReleaseLifecycle,
    VersionError,
    rename,
)
from datever.groups import FeatureGroups
from datever.lifecycle import Lifecycle
from datever.pins import dated_order
from datever.selection import VersionSelector
from datever.versions import (
    Timeline,
    dated_name,
    file_release,
    named_key,
    parse_version,
    path_version,
    preview_of,
)

FAR = dt.date(9999, 12, 30)

#: (name, what it is, the version it names as a URL path segment)
#: kinds: initial (v1 / 1), head (X), beta, date (YYYY-MM-DD), vdate (vYYYY-MM-DD),
#: named (vN, vN-previewK), preview (vN-previewK)
TABLE: list[tuple[str, frozenset[str], str | None]] = [
    (name, frozenset(kinds.split()), path) for name, kinds, path in [
        ("v1", "initial named", "v1"),
        ("1", "initial", None),
        ("v0", "", None),
        ("v01", "", None),
        ("v2", "named", "v2"),
        ("v10", "named", "v10"),
        ("v999999999", "named", "v999999999"),
        ("v1000000000", "", None),
        ("v2-preview0", "", None),
        ("v2-preview1", "named preview", "v2-preview1"),
        ("v2-preview01", "", None),
        ("v0-preview1", "", None),
        ("v2-Preview1", "", None),
        ("v2-preview", "", None),
        ("V2", "", None),
        ("2021-06-07", "date", None),
        ("v2021-06-07", "vdate", "2021-06-07"),
        ("2024-02-29", "date", None),
        ("2021-02-30", "", None),
        # a date-shaped path segment reaches resolution, which says why it is wrong
        ("v2021-02-30", "", "2021-02-30"),
        ("2023-02-29", "", None),
        ("2021-6-7", "", None),
        ("20210607", "", None),
        ("0000-01-01", "", None),
        ("X", "head", None),
        ("vX", "", "X"),
        ("x", "", None),
        ("beta", "beta", None),
        ("Beta", "", None),
        ("", "", None),
        ("v", "", None),
        ("latest!", "", None),
        ("\u0662\u0660\u0662\u0661-\u0660\u0666-\u0660\u0667", "", None),  # Arabic-Indic
        ("\uff12\uff10\uff12\uff11-\uff10\uff16-\uff10\uff17", "", None),  # fullwidth
        ("v\u0663", "", None),
        ("v2-preview\u0661", "", None),
        ("v1 ", "", None),
        (" v1", "", None),
        ("v1\n", "", None),
        ("2021-06-07\n", "", None),
        ("v" + "9" * 5000, "", None),
        ("v1-preview" + "1" * 5000, "", None),
        ("2021-06-07" * 500, "", None),
    ]
]
IDS = [repr(name)[:24] for name, _, _ in TABLE]
PARSED = {"initial", "head", "date", "vdate"}


def accepts(call: Callable[[], object], error: type[Exception]) -> bool:
    """True when ``call()`` returns; False when it raises ``error`` (anything else fails)."""
    try:
        call()
    except error:
        return False
    return True


@pytest.mark.parametrize(("name", "kinds", "path"), TABLE, ids=IDS)
def test_parse_version_accepts_exactly_the_request_forms(name: str, kinds: frozenset[str],
                                                         path: str | None) -> None:
    """parse_version takes X, v1 / 1 and dates with or without v; VersionError otherwise."""
    assert accepts(lambda: parse_version(name), VersionError) == bool(kinds & PARSED)


@pytest.mark.parametrize(("name", "kinds", "path"), TABLE, ids=IDS)
def test_grammar_functions_agree_with_the_table(name: str, kinds: frozenset[str],
                                                path: str | None) -> None:
    """named_key, preview_of, dated_name and path_version each recognise their forms."""
    assert (named_key(name) is not None) == ("named" in kinds)
    assert (preview_of(name) is not None) == ("preview" in kinds)
    assert (dated_name(name) is not None) == bool(kinds & {"date", "vdate"})
    assert path_version(name) == path


@pytest.mark.parametrize(("name", "kinds", "path"), TABLE, ids=IDS)
def test_change_release_accepts_dates_and_named_versions(name: str, kinds: frozenset[str],
                                                         path: str | None) -> None:
    """Change(released=...) takes a bare date or a named version; ChangeError otherwise."""
    def declare() -> Change:
        return Change(released=name, description="d", id="c",
                      resources={"charge": [rename("a", "b")]})

    assert accepts(declare, ChangeError) == bool(kinds & {"date", "named"})


@pytest.mark.parametrize(("name", "kinds", "path"), TABLE, ids=IDS)
def test_named_timeline_accepts_only_named_versions(name: str, kinds: frozenset[str],
                                                    path: str | None) -> None:
    """A named timeline's versions must be vN or vN-previewK; ChangeError otherwise."""
    assert accepts(
        lambda: Timeline([], initial=name, versions=[name]), ChangeError) == (
        "named" in kinds)


@pytest.mark.parametrize(("name", "kinds", "path"), TABLE, ids=IDS)
def test_dated_timeline_resolves_the_request_forms_and_beta(name: str, kinds: frozenset[str],
                                                           path: str | None) -> None:
    """A dated timeline resolves what parse_version takes, and beta; VersionError otherwise."""
    timeline = Timeline([Change(released="2021-06-07", description="d", id="c",
                                resources={"charge": [rename("a", "b")]})])
    assert accepts(
        lambda: timeline.resolve(name, today=FAR), VersionError) == bool(
        kinds & (PARSED | {"beta"}))


@pytest.mark.parametrize(("name", "kinds", "path"), TABLE, ids=IDS)
def test_lifecycle_orders_named_and_dated_names(name: str, kinds: frozenset[str],
                                                path: str | None) -> None:
    """Without order=, a Lifecycle places named versions and dates, and refuses the rest."""
    def plan() -> Lifecycle:
        return Lifecycle({name: ReleaseLifecycle()}, changelog_url="https://example.com")

    assert accepts(plan, ValueError) == bool(kinds & {"named", "date", "vdate"})


@pytest.mark.parametrize(("name", "kinds", "path"), TABLE, ids=IDS)
def test_dated_pin_order_accepts_the_initial_version_and_dates(
        name: str, kinds: frozenset[str], path: str | None) -> None:
    """dated_order takes v1 / 1 and dates with or without v; PinError otherwise."""
    expected = bool(kinds & {"initial", "date", "vdate"})
    assert accepts(lambda: dated_order(name), PinError) == expected


@pytest.mark.parametrize(("name", "kinds", "path"), TABLE, ids=IDS)
def test_path_segments_agree_in_selection_and_feature_groups(
        name: str, kinds: frozenset[str], path: str | None) -> None:
    """The version selector and feature groups read the same versions from a path segment."""
    timeline = Timeline([])
    selector = VersionSelector(timeline, header=None, query=None)
    segment = name.replace("/", "")
    if "\n" in segment or " " in segment or not segment:
        return  # not a path segment at all
    try:
        selection = selector.select(f"/{segment}/charges", today=FAR)
        got = selection.version.requested if selection.source == "path" else None
    except VersionError as error:  # taken as a version, which the timeline does not know
        got = error.requested
    assert got == path
    route = FeatureGroups({"g": Engine(timeline)}).route(f"/g/{segment}/charges")
    assert route.version == path


def test_file_names_carry_the_same_releases() -> None:
    """A change module's file name starts with a date, a named version or a stage."""
    assert file_release("2021_06_07_amount") == "2021-06-07"
    assert file_release("v2_preview1_amount") == "v2-preview1"
    assert file_release("v2_amount") == "v2"
    assert file_release("beta_amount") == "beta"
    assert file_release("experimental_amount") == "experimental"
    for stem in ("v0_amount", "v01_amount", "v2-preview1_x", "2021_6_7_x", "amount",
                 "_samples", "\u0662\u0660\u0662\u0661_06_07_x"):
        assert file_release(stem) is None, stem


@pytest.mark.parametrize(("name", "reported"), [
    ("v1_summary.txt", True), ("2021_06_07_summary.json", True), ("beta_summary.txt", True),
    ("v0_summary.txt", False), ("v01_summary.txt", False), ("2021_6_7_summary.txt", False),
])
def test_check_reads_file_names_with_the_same_grammar(tmp_path: Path, name: str,
                                                      reported: bool) -> None:
    """`datever check` flags a non-Python file named like a change module exactly when
    the loader's grammar would read a release from its name (v0 and v01 are none)."""
    from datever.check import collect_problems

    (tmp_path / name).write_text("")
    kinds = [problem.kind for problem in collect_problems(tmp_path)]
    assert ("unreachable" in kinds) is reported
