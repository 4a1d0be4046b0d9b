"""Version strings, timelines and resolution (datever.versions)."""

from __future__ import annotations

import pendulum
import pytest

from datever import Change, ChangeError, VersionError, rename
from datever.versions import Timeline, parse_version

ACCEPTED = ("YYYY-MM-DD", "v2021-06-07", "X", "v1")


def change(id: str, *, released: str | None = None, stage: str | None = None,
           side_effects: bool = False) -> Change:
    """A small change on the ``charge`` resource (or a pure side-effect change)."""
    resources = {} if side_effects else {"charge": [rename(f"{id}_old", f"{id}_new")]}
    return Change(released=released, stage=stage, description=f"change {id}",  # type: ignore[arg-type]
                  resources=resources, side_effects=side_effects, id=id)


@pytest.fixture
def timeline() -> Timeline:
    """Releases 2021-01-01, 2021-06-07 (two changes) and 2022-03-01, plus a beta and an X change."""
    return Timeline([
        change("c2022", released="2022-03-01"),
        change("c2021a", released="2021-06-07"),
        change("c2021b", released="2021-06-07"),
        change("c2021", released="2021-01-01"),
        change("beta1", stage="beta"),
        change("exp1", stage="experimental"),
    ])


def ids(changes: tuple[Change, ...]) -> list[str]:
    return [c.id for c in changes]


TODAY = pendulum.date(2023, 5, 10)


# -- parse_version -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "date"),
    [
        ("2021-06-07", "date", pendulum.date(2021, 6, 7)),
        ("v2021-06-07", "date", pendulum.date(2021, 6, 7)),
        ("X", "head", None),
        ("v1", "initial", None),
        ("1", "initial", None),
    ],
)
def test_parse_version_accepts_documented_forms(text: str, kind: str, date: object) -> None:
    """Each documented version form parses to its kind, keeping the text and the date."""
    requested = parse_version(text)
    assert (requested.text, requested.kind, requested.date) == (text, kind, date)


@pytest.mark.parametrize(
    "text",
    ["2021-6-7", "2021-02-30", "v", "latest!", "x", "V1", "2021-06-07 ", ""],
)
def test_parse_version_rejects_malformed_with_accepted_forms(text: str) -> None:
    """A malformed version raises VersionError (reason malformed) listing the accepted forms."""
    with pytest.raises(VersionError) as info:
        parse_version(text)
    assert info.value.reason == "malformed"
    message = str(info.value)
    for form in ACCEPTED:
        assert form in message


@pytest.mark.parametrize("value", [None, 20210607, b"2021-06-07", ["X"]])
def test_parse_version_rejects_non_strings(value: object) -> None:
    """A non-string version raises VersionError listing the accepted forms, not TypeError."""
    with pytest.raises(VersionError) as info:
        parse_version(value)  # type: ignore[arg-type]
    for form in ACCEPTED:
        assert form in str(info.value)


def test_version_error_is_a_value_error() -> None:
    """VersionError can be caught as ValueError by code that knows nothing of datever."""
    with pytest.raises(ValueError, match="not a version"):
        parse_version("latest!")


def test_parse_version_invalid_calendar_date_says_so() -> None:
    """A well-formed but impossible date is reported as not a calendar date."""
    with pytest.raises(VersionError, match="not a calendar date"):
        parse_version("2021-02-30")


def test_parse_version_rejects_trailing_newline() -> None:
    """A date followed by a newline is malformed (a header value must match exactly)."""
    with pytest.raises(VersionError):
        parse_version("2021-06-07\n")


def test_parse_version_rejects_non_ascii_digits() -> None:
    """A date written with non-ASCII digits (fullwidth) is malformed."""
    with pytest.raises(VersionError):
        parse_version("\uff12\uff10\uff12\uff11-06-07")


# -- Timeline.resolve ----------------------------------------------------------


def test_timeline_sorts_changes_and_lists_releases(timeline: Timeline) -> None:
    """Changes are sorted oldest first (unreleased last) and releases are the distinct dates."""
    assert ids(timeline.changes) == ["c2021", "c2021a", "c2021b", "c2022", "beta1", "exp1"]
    assert timeline.releases == (pendulum.date(2021, 1, 1), pendulum.date(2021, 6, 7),
                                 pendulum.date(2022, 3, 1))
    assert timeline.newest == pendulum.date(2022, 3, 1)


def test_resolve_date_equal_to_release(timeline: Timeline) -> None:
    """A date equal to a release resolves to that release, with its later changes pending."""
    version = timeline.resolve("2021-06-07", today=TODAY)
    assert version.name == "2021-06-07"
    assert version.channel == "stable"
    assert version.release == pendulum.date(2021, 6, 7)
    assert ids(version.pending) == ["c2022", "beta1", "exp1"]
    assert version.warning is None


def test_resolve_date_with_v_prefix(timeline: Timeline) -> None:
    """``v2021-06-07`` resolves like ``2021-06-07`` and remembers how it was asked for."""
    version = timeline.resolve("v2021-06-07", today=TODAY)
    assert version.name == "2021-06-07"
    assert version.requested == "v2021-06-07"


def test_resolve_date_between_releases(timeline: Timeline) -> None:
    """A date between two releases resolves to the newest release on or before it."""
    version = timeline.resolve("2021-12-31", today=TODAY)
    assert version.name == "2021-06-07"
    assert version.requested == "2021-12-31"
    assert ids(version.pending) == ["c2022", "beta1", "exp1"]


def test_resolve_day_before_a_release(timeline: Timeline) -> None:
    """The day before a release still resolves to the previous release."""
    version = timeline.resolve("2022-02-28", today=TODAY)
    assert version.name == "2021-06-07"


def test_resolve_date_before_first_release_is_initial(timeline: Timeline) -> None:
    """A date before the first release resolves to the initial version ``v1``, all pending."""
    version = timeline.resolve("2020-12-31", today=TODAY)
    assert version.name == "v1"
    assert version.channel == "initial"
    assert version.release is None
    assert version.pending == timeline.changes


def test_resolve_today_is_newest_release(timeline: Timeline) -> None:
    """Today's date resolves to the newest release, with no warning."""
    version = timeline.resolve(TODAY.isoformat(), today=TODAY)
    assert version.name == "2022-03-01"
    assert version.channel == "stable"
    assert version.warning is None


def test_resolve_tomorrow_accepted_with_warning(timeline: Timeline) -> None:
    """Tomorrow (UTC) is accepted as today's newest release, with a warning."""
    tomorrow = TODAY.add(days=1)
    version = timeline.resolve(tomorrow.isoformat(), today=TODAY)
    assert version.name == "2022-03-01"
    assert version.warning is not None
    assert "tomorrow" in version.warning


def test_resolve_day_after_tomorrow_is_future_error(timeline: Timeline) -> None:
    """The day after tomorrow raises VersionError with reason ``future``."""
    later = TODAY.add(days=2)
    with pytest.raises(VersionError) as info:
        timeline.resolve(later.isoformat(), today=TODAY)
    assert info.value.reason == "future"
    assert info.value.requested == later.isoformat()
    assert "future" in str(info.value)


def test_resolve_malformed_raises_version_error(timeline: Timeline) -> None:
    """Resolving a malformed string raises VersionError with reason ``malformed``."""
    with pytest.raises(VersionError) as info:
        timeline.resolve("2021-6-7", today=TODAY)
    assert info.value.reason == "malformed"


def test_resolve_x_is_head(timeline: Timeline) -> None:
    """``X`` is the head: nothing pending, channel experimental, with a warning."""
    version = timeline.resolve("X", today=TODAY)
    assert version.name == "X"
    assert version.channel == "experimental"
    assert version.pending == ()
    assert version.is_head
    assert version.warning is not None


@pytest.mark.parametrize("text", ["v1", "1"])
def test_resolve_initial_has_all_changes_pending(timeline: Timeline, text: str) -> None:
    """``v1`` (or ``1``) is the initial version: every change of the timeline is pending."""
    version = timeline.resolve(text, today=TODAY)
    assert version.name == "v1"
    assert version.channel == "initial"
    assert version.pending == timeline.changes
    assert not version.is_head


def test_initial_version_name_is_configurable() -> None:
    """A timeline with ``initial="v0"`` names its initial version so."""
    timeline = Timeline([change("a", released="2021-01-01")], initial="v0")
    assert timeline.resolve("2020-01-01", today=TODAY).name == "v0"


def test_newest_release_still_has_unreleased_changes_pending(timeline: Timeline) -> None:
    """The newest release is head minus beta and experimental changes: they stay pending."""
    version = timeline.resolve("2022-03-01", today=TODAY)
    assert ids(version.pending) == ["beta1", "exp1"]
    assert not version.is_head


def test_resolve_same_release_gives_equal_keys(timeline: Timeline) -> None:
    """Two dates of one release resolve to versions with the same cache key."""
    first = timeline.resolve("2021-06-07", today=TODAY)
    second = timeline.resolve("2021-09-09", today=TODAY)
    assert first.key == second.key


def test_initial_version_can_be_requested_by_its_configured_name() -> None:
    """With ``initial="v0"``, the version echoed as ``v0`` can be requested as ``v0``."""
    timeline = Timeline([change("a", released="2021-01-01")], initial="v0")
    assert timeline.resolve("v0", today=TODAY).name == "v0"


def test_resolve_of_unhashable_value_raises_version_error(timeline: Timeline) -> None:
    """Resolving a list (e.g. a repeated query parameter) is a VersionError, like parse_version."""
    with pytest.raises(VersionError):
        timeline.resolve(["2021-06-07"], today=TODAY)  # type: ignore[arg-type]


def test_resolve_of_non_string_raises_version_error(timeline: Timeline) -> None:
    """Resolving None is a VersionError that lists the accepted forms."""
    with pytest.raises(VersionError, match="YYYY-MM-DD"):
        timeline.resolve(None, today=TODAY)  # type: ignore[arg-type]


def test_timeline_rejects_duplicate_ids() -> None:
    """Two changes with one id are refused."""
    with pytest.raises(ChangeError, match="unique"):
        Timeline([change("a", released="2021-01-01"), change("a", released="2021-02-01")])


def test_timeline_without_releases_resolves_dates_to_initial() -> None:
    """With only unreleased changes, any past date resolves to the initial version."""
    timeline = Timeline([change("b", stage="beta")])
    assert timeline.newest is None
    version = timeline.resolve("2021-01-01", today=TODAY)
    assert version.name == "v1"
    assert ids(version.pending) == ["b"]


def test_resolve_without_today_uses_utc_today(timeline: Timeline) -> None:
    """Without ``today=``, today's UTC date resolves to the newest release."""
    today = pendulum.now("UTC").date()
    version = timeline.resolve(today.isoformat())
    assert version.name == "2022-03-01"
    assert version.warning is None


def test_resolve_without_today_rejects_far_future(timeline: Timeline) -> None:
    """Without ``today=``, a date a week after today's UTC date is in the future."""
    later = pendulum.now("UTC").date().add(days=7)
    with pytest.raises(VersionError) as info:
        timeline.resolve(later.isoformat())
    assert info.value.reason == "future"


# -- Version.includes ----------------------------------------------------------


@pytest.fixture
def side_effect_timeline() -> Timeline:
    """A timeline whose 2021-06-07 release holds a side-effect change ``fx``."""
    return Timeline([
        change("early", released="2021-01-01"),
        change("fx", released="2021-06-07", side_effects=True),
    ])


def test_includes_side_effect_change_before_release(side_effect_timeline: Timeline) -> None:
    """A version before the release does not include the side-effect change."""
    version = side_effect_timeline.resolve("2021-06-06", today=TODAY)
    fx = side_effect_timeline.change("fx")
    assert version.includes(fx) is False
    assert version.includes("fx") is False


def test_includes_side_effect_change_after_release(side_effect_timeline: Timeline) -> None:
    """A version on or after the release includes the side-effect change."""
    version = side_effect_timeline.resolve("2021-06-07", today=TODAY)
    fx = side_effect_timeline.change("fx")
    assert version.includes(fx) is True
    assert version.includes("fx") is True


def test_includes_on_initial_and_head(side_effect_timeline: Timeline) -> None:
    """The initial version includes no change; the head includes every change."""
    assert side_effect_timeline.resolve("v1", today=TODAY).includes("early") is False
    assert side_effect_timeline.resolve("X", today=TODAY).includes("fx") is True


def test_includes_unknown_id_raises_key_error(side_effect_timeline: Timeline) -> None:
    """Asking about an id the timeline does not hold raises KeyError."""
    version = side_effect_timeline.resolve("2021-06-07", today=TODAY)
    with pytest.raises(KeyError, match="nope"):
        version.includes("nope")


def test_includes_foreign_change_raises_key_error(side_effect_timeline: Timeline) -> None:
    """Asking about a Change object of another timeline raises KeyError."""
    version = side_effect_timeline.resolve("2021-06-07", today=TODAY)
    with pytest.raises(KeyError):
        version.includes(change("fx", released="2021-06-07", side_effects=True))


def test_timeline_change_unknown_id_raises_key_error(side_effect_timeline: Timeline) -> None:
    """``Timeline.change`` of an unknown id raises KeyError naming it."""
    with pytest.raises(KeyError, match="missing"):
        side_effect_timeline.change("missing")
