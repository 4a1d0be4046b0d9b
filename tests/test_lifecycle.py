"""Deprecation, sunset, HTTP signals and support policies (datever.lifecycle)."""

from __future__ import annotations

import datetime as dt

import msgspec
import pendulum
import pytest

import datever
from datever import Change, Version, VersionError
from datever.lifecycle import (
    Lifecycle,
    Policy,
    ReleaseLifecycle,
    Signals,
    Violation,
    check_policies,
    deprecation_value,
    http_date,
)
from datever.versions import Timeline

CHANGELOG = "https://api.example.com/changelog"
TODAY = pendulum.date(2024, 11, 24)
date = pendulum.date


def change(id: str, released: str | None = None, stage: str | None = None) -> Change:
    """A one-operation change on ``charge``, released on a date or a name, or at a stage."""
    return Change(released=released, stage=stage, description=f"change {id}",  # type: ignore[arg-type]
                  resources={"charge": [datever.add("x", 1)]}, id=id)


@pytest.fixture
def timeline() -> Timeline:
    """Releases 2019-04-15, 2021-06-07 and 2024-01-01, plus a beta and an experimental change."""
    return Timeline([
        change("c2019", "2019-04-15"), change("c2021", "2021-06-07"),
        change("c2024", "2024-01-01"), change("b1", stage="beta"),
        change("x1", stage="experimental"),
    ])


@pytest.fixture
def named() -> Timeline:
    """Named versions v1, v2-preview1, v2-preview2 and v2."""
    return Timeline([change("p1", "v2-preview1"), change("p2", "v2-preview2"),
                     change("ga2", "v2")])


@pytest.fixture
def lifecycle(timeline: Timeline) -> Lifecycle:
    """v1 removed on 2021-01-01; 2019-04-15 deprecated 2024-01-01, removed 2025-01-01."""
    return Lifecycle({
        "v1": ReleaseLifecycle(date(2019, 4, 15), date(2020, 1, 1), date(2021, 1, 1)),
        "2019-04-15": ReleaseLifecycle(date(2021, 6, 7), date(2024, 1, 1), date(2025, 1, 1)),
    }, changelog_url=CHANGELOG, order=timeline.versions)


def at(timeline: Timeline, text: str, today: dt.date = TODAY) -> Version:
    """The version ``text`` resolves to on ``today``."""
    return timeline.resolve(text, today=today)


def error_body(signals: Signals) -> dict[str, object]:
    """The ``error`` object of a JSON error body."""
    assert signals.body is not None
    decoded = msgspec.json.decode(signals.body)
    assert isinstance(decoded, dict)
    error = decoded["error"]
    assert isinstance(error, dict)
    return error


# -- header values -------------------------------------------------------------


def test_deprecation_value_matches_the_rfc_9745_example() -> None:
    """2023-06-30T23:59:59Z is ``@1688169599``, RFC 9745's own example."""
    assert deprecation_value(dt.datetime(2023, 6, 30, 23, 59, 59, tzinfo=dt.UTC)) == "@1688169599"


def test_deprecation_value_of_a_date_is_its_midnight_utc() -> None:
    """A date stands for 00:00 UTC that day."""
    assert deprecation_value(date(2024, 1, 1)) == "@1704067200"


def test_deprecation_value_converts_other_offsets_to_utc() -> None:
    """An aware datetime in another zone gives the same instant's seconds."""
    plus_two = dt.timezone(dt.timedelta(hours=2))
    assert deprecation_value(dt.datetime(2023, 7, 1, 1, 59, 59, tzinfo=plus_two)) == "@1688169599"


def test_http_date_matches_the_rfc_9110_imf_fixdate_example() -> None:
    """The IMF-fixdate of 1994-11-06T08:49:37Z is ``Sun, 06 Nov 1994 08:49:37 GMT``."""
    assert http_date(dt.datetime(1994, 11, 6, 8, 49, 37, tzinfo=dt.UTC)) == (
        "Sun, 06 Nov 1994 08:49:37 GMT")


def test_http_date_matches_the_rfc_8594_sunset_example_with_the_true_weekday() -> None:
    """RFC 8594's ``Sat, 31 Dec 2018 23:59:59 GMT``: that day was a Monday, the rest is exact."""
    value = http_date(dt.datetime(2018, 12, 31, 23, 59, 59, tzinfo=dt.UTC))
    assert value[5:] == "Sat, 31 Dec 2018 23:59:59 GMT"[5:]
    assert value == "Mon, 31 Dec 2018 23:59:59 GMT"


def test_http_date_of_a_date_is_midnight_gmt() -> None:
    """A sunset date is announced as 00:00:00 GMT that day."""
    assert http_date(date(2025, 1, 1)) == "Wed, 01 Jan 2025 00:00:00 GMT"


# -- ReleaseLifecycle and Lifecycle ----------------------------------------------


def test_sunset_before_deprecation_is_rejected() -> None:
    """A release cannot be removed before it is deprecated."""
    with pytest.raises(ValueError, match="comes before deprecated"):
        ReleaseLifecycle(deprecated=date(2025, 1, 1), sunset=date(2024, 1, 1))


def test_release_dates_must_be_dates() -> None:
    """A string where a date belongs is a TypeError that shows how to write one."""
    with pytest.raises(TypeError, match=r"pendulum\.date"):
        ReleaseLifecycle(sunset="2025-01-01")  # type: ignore[arg-type]


def test_order_must_name_every_release() -> None:
    """An explicit order that leaves out a release with dates is refused."""
    with pytest.raises(ValueError, match="missing: \\['v2'\\]"):
        Lifecycle({"v2": ReleaseLifecycle()}, changelog_url=CHANGELOG, order=["v1"])


def test_names_that_cannot_be_ordered_need_an_explicit_order() -> None:
    """Without order=, a name that is neither vN, vN-previewK nor a date is refused."""
    with pytest.raises(ValueError, match="order="):
        Lifecycle({"legacy": ReleaseLifecycle()}, changelog_url=CHANGELOG)


def test_default_order_puts_previews_before_their_ga_and_dates_last() -> None:
    """Without order=, names go v1, v2-preview1, v2-preview2, v2, then dates."""
    lifecycle = Lifecycle({name: ReleaseLifecycle() for name in
                           ("2021-06-07", "v2", "v2-preview2", "v1", "v2-preview1")},
                          changelog_url=CHANGELOG)
    assert lifecycle.order == ("v1", "v2-preview1", "v2-preview2", "v2", "2021-06-07")


def test_a_leading_v_on_a_dated_key_names_the_same_release(timeline: Timeline) -> None:
    """``v2019-04-15`` in the mapping applies to the 2019-04-15 release."""
    lifecycle = Lifecycle({"v2019-04-15": ReleaseLifecycle(deprecated=date(2024, 1, 1))},
                          changelog_url=CHANGELOG)
    assert lifecycle.status(at(timeline, "2019-05-01"), TODAY).state == "deprecated"


# -- status ----------------------------------------------------------------------


def test_a_release_without_dates_is_stable(lifecycle: Lifecycle, timeline: Timeline) -> None:
    """A release the mapping does not mention is stable and has no sunset."""
    status = lifecycle.status(at(timeline, "2022-01-01"), TODAY)
    assert (status.state, status.sunset, status.days_until_sunset) == ("stable", None, None)


def test_the_experimental_head_is_unstable(lifecycle: Lifecycle, timeline: Timeline) -> None:
    """X is unstable."""
    assert lifecycle.status(at(timeline, "X"), TODAY).state == "unstable"


def test_beta_is_unstable(lifecycle: Lifecycle, timeline: Timeline) -> None:
    """The beta channel is unstable."""
    assert lifecycle.status(at(timeline, "beta"), TODAY).state == "unstable"


def test_a_preview_is_unstable(named: Timeline) -> None:
    """A named preview version is unstable."""
    lifecycle = Lifecycle({}, changelog_url=CHANGELOG, order=named.versions)
    assert lifecycle.status(at(named, "v2-preview2"), TODAY).state == "unstable"


def test_today_may_be_an_aware_datetime(lifecycle: Lifecycle, timeline: Timeline) -> None:
    """2024-12-31T23:00-02:00 is already 2025-01-01 in UTC: the sunset day."""
    evening = dt.datetime(2024, 12, 31, 23, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
    assert lifecycle.status(at(timeline, "2019-05-01"), evening).state == "removed"


def test_stable_the_day_before_deprecation(lifecycle: Lifecycle, timeline: Timeline) -> None:
    """On the day before its deprecation a release is still stable."""
    assert lifecycle.status(at(timeline, "2019-05-01"), date(2023, 12, 31)).state == "stable"


def test_deprecated_from_the_deprecation_day(lifecycle: Lifecycle, timeline: Timeline) -> None:
    """On its deprecation day a release is deprecated."""
    assert lifecycle.status(at(timeline, "2019-05-01"), date(2024, 1, 1)).state == "deprecated"


def test_removed_from_the_sunset_day(lifecycle: Lifecycle, timeline: Timeline) -> None:
    """On its sunset day a release is removed."""
    status = lifecycle.status(at(timeline, "2019-05-01", date(2025, 1, 1)), date(2025, 1, 1))
    assert status.state == "removed"


def test_the_initial_version_can_be_removed(lifecycle: Lifecycle, timeline: Timeline) -> None:
    """The initial version, keyed ``v1``, is removed after its sunset."""
    assert lifecycle.status(at(timeline, "v1"), TODAY).state == "removed"


def test_days_until_sunset_counts_utc_days(lifecycle: Lifecycle, timeline: Timeline) -> None:
    """From 2024-11-24 to a 2025-01-01 sunset is 38 days."""
    assert lifecycle.status(at(timeline, "2019-05-01"), TODAY).days_until_sunset == 38


def test_days_until_sunset_is_negative_once_passed(lifecycle: Lifecycle,
                                                   timeline: Timeline) -> None:
    """v1, sunset 2021-01-01, is 1423 days past it on 2024-11-24."""
    assert lifecycle.status(at(timeline, "v1"), TODAY).days_until_sunset == -1423


def test_oldest_supported_is_the_oldest_not_sunset(lifecycle: Lifecycle,
                                                   timeline: Timeline) -> None:
    """After 2019-04-15's sunset the oldest supported version is the next release."""
    day = date(2025, 1, 1)
    assert lifecycle.status(at(timeline, "v1", day), TODAY).oldest_supported == "2019-04-15"
    assert lifecycle.status(at(timeline, "v1", day), day).oldest_supported == "2021-06-07"


def test_oldest_supported_as_given_wins(timeline: Timeline) -> None:
    """An explicit oldest_supported is reported as is."""
    lifecycle = Lifecycle({"v1": ReleaseLifecycle(sunset=date(2021, 1, 1))},
                          changelog_url=CHANGELOG, oldest_supported="2024-01-01")
    assert lifecycle.status(at(timeline, "v1"), TODAY).oldest_supported == "2024-01-01"


def test_oldest_supported_skips_previews(named: Timeline) -> None:
    """A preview is never the oldest supported version."""
    lifecycle = Lifecycle({"v1": ReleaseLifecycle(sunset=date(2024, 1, 1))},
                          changelog_url=CHANGELOG, order=named.versions)
    assert lifecycle.status(at(named, "v1"), TODAY).oldest_supported == "v2"


def test_deprecation_message_says_when_and_what_to_do(lifecycle: Lifecycle,
                                                      timeline: Timeline) -> None:
    """The sentence names the dates, the days left and the version to upgrade to."""
    assert lifecycle.status(at(timeline, "2019-05-01"), TODAY).messages == (
        "2019-04-15 is deprecated since 2024-01-01 and will be removed on 2025-01-01 "
        f"(38 days); upgrade to 2021-06-07, see {CHANGELOG}",)


def test_a_deprecated_preview_is_told_to_move_to_the_next_preview(named: Timeline) -> None:
    """A deprecated preview's upgrade target is the next preview of the same version."""
    lifecycle = Lifecycle({"v2-preview1": ReleaseLifecycle(deprecated=date(2024, 1, 1))},
                          changelog_url=CHANGELOG, order=named.versions)
    message = lifecycle.status(at(named, "v2-preview1"), TODAY).messages[-1]
    assert "upgrade to v2-preview2," in message


# -- signals -----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["v1", "2019-05-01", "2022-01-01", "X", "beta", "2024-11-25"])
def test_the_version_header_is_always_sent(lifecycle: Lifecycle, timeline: Timeline,
                                           text: str) -> None:
    """Removed, deprecated, stable, unstable and tomorrow's requests all echo the version."""
    version = at(timeline, text)
    assert lifecycle.signals(version, TODAY).values("X-API-Version") == (version.name,)


def test_signals_for_one_version_and_day_are_reused(lifecycle: Lifecycle,
                                                    timeline: Timeline) -> None:
    """The hot path computes a version's signals once per UTC day."""
    version = at(timeline, "2019-05-01")
    assert lifecycle.signals(version, TODAY) is lifecycle.signals(version, TODAY)
    defaulted = lifecycle.signals(version, TODAY, defaulted=True)
    assert lifecycle.signals(version, TODAY) is not defaulted


def test_the_version_header_name_is_configurable(timeline: Timeline) -> None:
    """version_header= renames the echo header."""
    lifecycle = Lifecycle({}, changelog_url=CHANGELOG, version_header="Acme-Version")
    signals = lifecycle.signals(at(timeline, "2022-01-01"), TODAY)
    assert signals.headers == (("Acme-Version", "2021-06-07"),)


def test_a_stable_explicit_request_gets_no_warning(lifecycle: Lifecycle,
                                                   timeline: Timeline) -> None:
    """A stable release named by the client is served with no warning header."""
    signals = lifecycle.signals(at(timeline, "2022-01-01"), TODAY)
    assert (signals.status, signals.values("X-API-Warning")) == (200, ())


def test_a_deprecated_release_is_served_with_rfc_headers(lifecycle: Lifecycle,
                                                         timeline: Timeline) -> None:
    """Deprecation (RFC 9745) and Sunset (RFC 8594) carry the exact formats."""
    signals = lifecycle.signals(at(timeline, "2019-05-01"), TODAY)
    assert signals.status == 200
    assert signals.values("Deprecation") == ("@1704067200",)
    assert signals.values("Sunset") == ("Wed, 01 Jan 2025 00:00:00 GMT",)


def test_link_relations_point_to_the_changelog(lifecycle: Lifecycle,
                                               timeline: Timeline) -> None:
    """Without their own URLs, both relations link the changelog as text/html."""
    assert lifecycle.signals(at(timeline, "2019-05-01"), TODAY).values("Link") == (
        f'<{CHANGELOG}>; rel="deprecation"; type="text/html"',
        f'<{CHANGELOG}>; rel="sunset"; type="text/html"',
    )


def test_link_relations_use_their_own_urls(timeline: Timeline) -> None:
    """deprecation_url and sunset_url replace the changelog in their relations."""
    lifecycle = Lifecycle(
        {"2019-04-15": ReleaseLifecycle(deprecated=date(2024, 1, 1), sunset=date(2025, 1, 1))},
        changelog_url=CHANGELOG, deprecation_url="https://developer.example.com/deprecation",
        sunset_url="http://example.net/sunset")
    assert lifecycle.signals(at(timeline, "2019-05-01"), TODAY).values("Link") == (
        '<https://developer.example.com/deprecation>; rel="deprecation"; type="text/html"',
        '<http://example.net/sunset>; rel="sunset"; type="text/html"',
    )


def test_a_planned_deprecation_is_announced_ahead(lifecycle: Lifecycle,
                                                  timeline: Timeline) -> None:
    """Before its deprecation day a release already sends the future Deprecation date."""
    signals = lifecycle.signals(at(timeline, "2019-05-01", date(2023, 6, 1)), date(2023, 6, 1))
    assert signals.values("Deprecation") == ("@1704067200",)
    assert signals.values("X-API-Warning") == (
        f"2019-04-15 will be deprecated on 2024-01-01 and removed on 2025-01-01 (580 days); "
        f"see {CHANGELOG}",)


def test_a_deprecated_release_carries_a_warning(lifecycle: Lifecycle,
                                                timeline: Timeline) -> None:
    """The deprecation sentence goes out in the warning header."""
    warnings = lifecycle.signals(at(timeline, "2019-05-01"), TODAY).values("X-API-Warning")
    assert warnings == lifecycle.status(at(timeline, "2019-05-01"), TODAY).messages


def test_x_carries_a_warning(lifecycle: Lifecycle, timeline: Timeline) -> None:
    """The experimental head is served with one warning that it may change."""
    assert lifecycle.signals(at(timeline, "X"), TODAY).values("X-API-Warning") == (
        "X is experimental and may change at any time",)


def test_beta_carries_a_warning(lifecycle: Lifecycle, timeline: Timeline) -> None:
    """The beta channel is served with one warning."""
    assert len(lifecycle.signals(at(timeline, "beta"), TODAY).values("X-API-Warning")) == 1


def test_a_preview_carries_a_warning(named: Timeline) -> None:
    """A preview is served with one warning that names it."""
    lifecycle = Lifecycle({}, changelog_url=CHANGELOG, warning_header="Acme-Warning")
    warnings = lifecycle.signals(at(named, "v2-preview1"), TODAY).values("Acme-Warning")
    assert len(warnings) == 1
    assert "v2-preview1" in warnings[0]


def test_tomorrow_carries_a_warning(lifecycle: Lifecycle, timeline: Timeline) -> None:
    """Tomorrow's UTC date is served with the timeline's warning."""
    warnings = lifecycle.signals(at(timeline, "2024-11-25"), TODAY).values("X-API-Warning")
    assert len(warnings) == 1
    assert "tomorrow" in warnings[0]


def test_a_defaulted_request_carries_a_warning(timeline: Timeline) -> None:
    """A request that named no version is told what it got and how to choose."""
    lifecycle = Lifecycle({}, changelog_url=CHANGELOG)
    signals = lifecycle.signals(at(timeline, "v1"), TODAY, defaulted=True)
    assert signals.values("X-API-Warning") == (
        "no API version was requested, so v1 was served; name one (e.g. in the X-API-Version "
        "header) to keep the shapes your code expects",)


def test_a_removed_release_answers_410(lifecycle: Lifecycle, timeline: Timeline) -> None:
    """A request for a removed version is not served."""
    signals = lifecycle.signals(at(timeline, "v1"), TODAY)
    assert (signals.status, signals.proceed) == (410, False)


def test_the_410_body_names_the_version_and_the_way_forward(lifecycle: Lifecycle,
                                                            timeline: Timeline) -> None:
    """The version_removed body names the version, its sunset, the oldest supported one."""
    assert error_body(lifecycle.signals(at(timeline, "v1"), TODAY)) == {
        "type": "version_removed",
        "message": "v1 was removed on 2021-01-01; the oldest supported version is "
                   f"2019-04-15; see {CHANGELOG}",
        "version": "v1",
        "sunset": "2021-01-01",
        "oldest_supported": "2019-04-15",
        "changelog": CHANGELOG,
    }


def test_the_410_keeps_the_version_and_sunset_headers(lifecycle: Lifecycle,
                                                      timeline: Timeline) -> None:
    """A 410 still echoes the version, says when it went, and is JSON."""
    signals = lifecycle.signals(at(timeline, "v1"), TODAY)
    assert signals.values("Sunset") == ("Fri, 01 Jan 2021 00:00:00 GMT",)
    assert signals.values("X-API-Version") == ("v1",)
    assert signals.values("Content-Type") == ("application/json",)


def test_a_malformed_version_answers_400_listing_the_accepted_forms(
        lifecycle: Lifecycle, timeline: Timeline) -> None:
    """``2021-6-7`` gives an invalid_version body that lists the forms the API accepts."""
    with pytest.raises(VersionError) as caught:
        at(timeline, "2021-6-7")
    signals = lifecycle.error_signals(caught.value)
    body = error_body(signals)
    assert signals.status == 400
    assert (body["type"], body["reason"], body["requested"]) == (
        "invalid_version", "malformed", "2021-6-7")
    assert body["accepted"] == caught.value.accepted
    assert "YYYY-MM-DD" in str(body["accepted"])
    assert "accepted forms" not in str(body["message"])


def test_a_future_version_answers_400(lifecycle: Lifecycle, timeline: Timeline) -> None:
    """A date after tomorrow gives 400 with reason future and the accepted forms."""
    with pytest.raises(VersionError) as caught:
        at(timeline, "2024-11-26")
    signals = lifecycle.error_signals(caught.value)
    body = error_body(signals)
    assert (signals.status, body["reason"], body["requested"]) == (400, "future", "2024-11-26")
    assert "YYYY-MM-DD" in str(body["accepted"])


def test_a_forbidden_preview_answers_403(lifecycle: Lifecycle) -> None:
    """A client without access to a preview gets a version_forbidden body."""
    signals = lifecycle.forbidden_signals("v2-preview1", "ask support for preview access")
    assert signals.status == 403
    assert error_body(signals) == {
        "type": "version_forbidden",
        "version": "v2-preview1",
        "message": "v2-preview1 is not available to this client: ask support for preview "
                   "access",
        "reason": "ask support for preview access",
        "changelog": CHANGELOG,
    }


# -- policies -----------------------------------------------------------------------


def ga_lifecycle(named: Timeline, sunset: dt.date) -> Lifecycle:
    """v1, whose successor v2 was announced on 2024-03-01, removed on ``sunset``."""
    return Lifecycle({"v1": ReleaseLifecycle(date(2024, 3, 1), date(2024, 3, 1), sunset),
                      "v2-preview1": ReleaseLifecycle(date(2024, 2, 1), None, date(2024, 3, 1)),
                      "v2-preview2": ReleaseLifecycle(date(2024, 3, 1), None, date(2024, 4, 1))},
                     changelog_url=CHANGELOG, order=named.versions)


def preview_lifecycle(named: Timeline, **preview1: dt.date | None) -> Lifecycle:
    """v2-preview1 with the given dates; v2-preview2 removed a month after v2 (2024-06-01)."""
    return Lifecycle({"v2-preview1": ReleaseLifecycle(**preview1),
                      "v2-preview2": ReleaseLifecycle(date(2024, 6, 1), None, date(2024, 7, 1))},
                     changelog_url=CHANGELOG, order=named.versions)


def rules(violations: list[Violation]) -> list[tuple[str, str]]:
    """(rule, subject) of each violation."""
    return [(v.rule, v.version_or_change) for v in violations]


def test_ga_removed_a_year_after_its_successor_satisfies_the_policy(named: Timeline) -> None:
    """v1 removed exactly 12 months after v2 was announced is fine."""
    assert check_policies(ga_lifecycle(named, date(2025, 3, 1)), today=TODAY) == []


def test_ga_removed_too_soon_after_its_successor_breaks_the_policy(named: Timeline) -> None:
    """v1 removed 11 months after v2 was announced is a ga_support violation."""
    violations = check_policies(ga_lifecycle(named, date(2025, 2, 1)), today=TODAY)
    assert rules(violations) == [("ga_support", "v1")]


def test_a_dated_release_counts_support_from_its_successors_date(timeline: Timeline) -> None:
    """Without successor_announced, 2019-04-15's support runs from the 2021-06-07 release."""
    lifecycle = Lifecycle({"2019-04-15": ReleaseLifecycle(sunset=date(2022, 6, 6))},
                          changelog_url=CHANGELOG, order=timeline.versions)
    assert "move the sunset to 2022-06-07" in check_policies(lifecycle, today=TODAY)[0].message


def test_a_dated_release_removed_a_year_after_its_successor_is_fine(timeline: Timeline) -> None:
    """2019-04-15 removed on 2022-06-07, a year after 2021-06-07, satisfies the policy."""
    lifecycle = Lifecycle({"2019-04-15": ReleaseLifecycle(sunset=date(2022, 6, 7))},
                          changelog_url=CHANGELOG, order=timeline.versions)
    assert check_policies(lifecycle, today=TODAY) == []


def test_removing_the_newest_ga_breaks_the_policy(timeline: Timeline) -> None:
    """A sunset on a GA release with no successor is a violation."""
    lifecycle = Lifecycle({"2024-01-01": ReleaseLifecycle(sunset=date(2026, 1, 1))},
                          changelog_url=CHANGELOG, order=timeline.versions)
    assert rules(check_policies(lifecycle, today=TODAY)) == [("ga_support", "2024-01-01")]


def test_preview_removed_a_month_after_its_successor_satisfies_the_policy(
        named: Timeline) -> None:
    """v2-preview1 removed one month after v2-preview2 came out is fine."""
    lifecycle = preview_lifecycle(named, successor_announced=date(2024, 5, 31),
                                  sunset=date(2024, 6, 30))
    assert check_policies(lifecycle, today=TODAY) == []


def test_preview_without_a_sunset_after_its_successor_breaks_the_policy(
        named: Timeline) -> None:
    """A preview whose successor came but which has no sunset is a violation."""
    lifecycle = preview_lifecycle(named, successor_announced=date(2024, 5, 1))
    violations = check_policies(lifecycle, today=TODAY)
    assert rules(violations) == [("preview_removal", "v2-preview1")]
    assert "remove it on 2024-06-01" in violations[0].message


def test_preview_kept_past_a_month_breaks_the_policy(named: Timeline) -> None:
    """A preview removed two months after its successor is a violation."""
    lifecycle = preview_lifecycle(named, successor_announced=date(2024, 5, 1),
                                  sunset=date(2024, 7, 1))
    assert "too late" in check_policies(lifecycle, today=TODAY)[0].message


def test_preview_removed_before_its_notice_breaks_the_policy(named: Timeline) -> None:
    """A preview removed a week after its successor cuts the promised month of notice."""
    lifecycle = preview_lifecycle(named, successor_announced=date(2024, 5, 1),
                                  sunset=date(2024, 5, 8))
    assert "too early" in check_policies(lifecycle, today=TODAY)[0].message


def test_preview_with_a_successor_needs_its_date(named: Timeline) -> None:
    """A preview followed by another one in order, with no successor_announced, is reported."""
    lifecycle = preview_lifecycle(named)
    assert rules(check_policies(lifecycle, today=TODAY)) == [("preview_removal", "v2-preview1")]


def test_the_last_preview_without_a_successor_needs_nothing(named: Timeline) -> None:
    """Before its GA ships, the newest preview needs no sunset."""
    lifecycle = Lifecycle({}, changelog_url=CHANGELOG, order=("v1", "v2-preview1"))
    assert check_policies(lifecycle, today=TODAY) == []


def test_beta_promoted_in_time_satisfies_the_policy(timeline: Timeline) -> None:
    """A beta change three months old is within the policy."""
    lifecycle = Lifecycle({}, changelog_url=CHANGELOG)
    assert check_policies(lifecycle, beta_changes=timeline.changes,
                          beta_since={"b1": date(2024, 8, 24)}, today=TODAY) == []


def test_beta_kept_too_long_breaks_the_policy(timeline: Timeline) -> None:
    """A beta change in beta for more than three months is a beta_promotion violation."""
    lifecycle = Lifecycle({}, changelog_url=CHANGELOG)
    violations = check_policies(lifecycle, beta_changes=timeline.changes,
                                beta_since={"b1": date(2024, 8, 23)}, today=TODAY)
    assert [str(v) for v in violations] == [
        "beta_promotion: b1: b1 has been in beta since 2024-08-23, more than 3 months "
        "(due 2024-11-23); release it or drop it"]


def test_beta_without_a_known_start_is_reported(timeline: Timeline) -> None:
    """A beta change with no beta_since date cannot be checked, and says so."""
    lifecycle = Lifecycle({}, changelog_url=CHANGELOG)
    violations = check_policies(lifecycle, beta_changes=timeline.changes, today=TODAY)
    assert rules(violations) == [("beta_promotion", "b1")]


def test_released_changes_are_not_held_to_the_beta_policy(timeline: Timeline) -> None:
    """An id in beta_since whose change is released is not checked."""
    lifecycle = Lifecycle({}, changelog_url=CHANGELOG)
    assert check_policies(lifecycle, beta_changes=timeline.changes,
                          beta_since={"c2024": date(2020, 1, 1), "b1": TODAY},
                          today=TODAY) == []


def test_a_change_may_carry_its_beta_since_date() -> None:
    """A Change with a ``beta_since`` attribute needs no mapping."""

    class BetaChange(Change):
        __slots__ = ("beta_since",)
        beta_since: dt.date

    late = BetaChange(stage="beta", description="late", id="late",
                      resources={"charge": [datever.add("x", 1)]})
    late.beta_since = date(2024, 1, 1)
    violations = check_policies(Lifecycle({}, changelog_url=CHANGELOG),
                                beta_changes=[late], today=TODAY)
    assert rules(violations) == [("beta_promotion", "late")]


def test_a_stricter_policy_is_applied(named: Timeline) -> None:
    """Policy(ga_support_after_successor=18 months) flags a 12-month sunset."""
    policy = Policy(ga_support_after_successor=pendulum.duration(months=18))
    assert check_policies(ga_lifecycle(named, date(2025, 3, 1)), policy=policy,
                          today=TODAY) == [Violation(
        "ga_support", "v1", "v1 is removed on 2025-03-01, less than 18 months after its "
        "successor was announced on 2024-03-01; move the sunset to 2025-09-01 or later")]
