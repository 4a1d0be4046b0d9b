"""Deprecation, sunset and support policies of releases, and the HTTP signals they call for.

Framework-free: :meth:`Lifecycle.signals` says which status, headers and JSON body
to answer with; middleware applies them. :func:`check_policies` checks the plan.
"""

from __future__ import annotations

import calendar
import datetime as dt
import email.utils
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import msgspec
import pendulum

from datever.changes import Change
from datever.errors import VersionError
from datever.versions import Version, dated_name, named_key, preview_of

__all__ = ["Lifecycle", "Policy", "ReleaseLifecycle", "Signals", "Status", "Violation",
           "check_policies", "deprecation_value", "http_date"]

State = Literal["stable", "unstable", "deprecated", "removed"]

_ENCODER = msgspec.json.Encoder()
_JSON = ("Content-Type", "application/json")
_STABLE_CHANNELS = frozenset({"stable", "initial"})
_UNSAFE_URL = re.compile(r"[\x00-\x20<>\"\x7f]")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CHANNEL_WARNINGS = {
    "experimental": "{name} is experimental and may change at any time",
    "beta": "{name} includes beta changes, which may still change before they are released",
    "preview": "{name} is a preview: it may change, and it is removed soon after its successor",
}
_TWELVE_MONTHS = pendulum.duration(months=12)
_ONE_MONTH = pendulum.duration(months=1)
_THREE_MONTHS = pendulum.duration(months=3)


# -- header values and dates -------------------------------------------------


def _utc(when: dt.date) -> dt.datetime:
    """An aware UTC datetime: a date is 00:00 UTC that day, a naive datetime is taken as UTC."""
    if isinstance(when, dt.datetime):
        return when.astimezone(dt.UTC) if when.tzinfo else when.replace(tzinfo=dt.UTC)
    return dt.datetime(when.year, when.month, when.day, tzinfo=dt.UTC)


def deprecation_value(when: dt.date) -> str:
    """The RFC 9745 ``Deprecation`` value, a Structured Field Date: ``@`` + Unix seconds.

    A date stands for 00:00 UTC that day, a naive datetime for UTC;
    ``2023-06-30T23:59:59Z`` gives ``@1688169599``.
    """
    return f"@{calendar.timegm(_utc(when).timetuple())}"


def http_date(when: dt.date) -> str:
    """An IMF-fixdate (RFC 9110; RFC 8594's ``Sunset``): ``Sun, 06 Nov 1994 08:49:37 GMT``.

    A date stands for 00:00 UTC that day, a naive datetime for UTC.
    """
    return email.utils.format_datetime(_utc(when).replace(microsecond=0), usegmt=True)


def _header_text(text: str) -> str:
    """Printable ASCII only, so no CR/LF can split the header."""
    return "".join(c if " " <= c <= "~" else "?" for c in text)


def _day(when: dt.date | None) -> dt.date:
    """The UTC day of ``when``; today when None."""
    if when is None:
        return dt.datetime.now(dt.UTC).date()
    return _utc(when).date() if isinstance(when, dt.datetime) else when


def _pdate(day: dt.date) -> pendulum.Date:
    return pendulum.Date(day.year, day.month, day.day)


def _canonical(name: str) -> str:
    """``v2021-06-07`` and ``2021-06-07`` name one release: keep the bare date."""
    date = dated_name(name)
    return date.isoformat() if date is not None else name


def _release_date(name: str | None) -> dt.date | None:
    """The date a dated version name stands for, else None."""
    return dated_name(name) if name is not None else None


def _natural_key(name: str) -> tuple[int, int, int, int]:
    """The default order: ``vN-previewK`` before ``vN`` before ``vN+1``, then dates."""
    named, date = named_key(name), _release_date(name)
    if named is not None:
        return (0, *named)
    if date is not None:
        return (1, date.toordinal(), 0, 0)
    raise ValueError(f"cannot tell where {name!r} stands among the releases: give "
                     "Lifecycle(order=[...]) with every version name, oldest first")


# -- values ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReleaseLifecycle:
    """The dates in one release's life, as UTC days; None while undecided.

    ``successor_announced``: when the release replacing it was announced (the
    policies count from it); ``deprecated``: deprecated from this day on (a
    future day announces it ahead); ``sunset``: removed from this day on.
    """

    successor_announced: dt.date | None = None
    deprecated: dt.date | None = None
    sunset: dt.date | None = None

    def __post_init__(self) -> None:
        for name in ("successor_announced", "deprecated", "sunset"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, dt.date):
                raise TypeError(f"{name}={value!r} is not a date; give one such as "
                                "pendulum.date(2025, 1, 1)")
            if isinstance(value, dt.datetime):
                object.__setattr__(self, name, _utc(value).date())
        if self.deprecated and self.sunset and self.sunset < self.deprecated:
            raise ValueError(f"sunset {self.sunset.isoformat()} comes before deprecated "
                             f"{self.deprecated.isoformat()}: deprecate a release no later "
                             "than its removal")


_UNPLANNED = ReleaseLifecycle()


@dataclass(frozen=True, slots=True)
class Status:
    """Where one version stands on one day.

    ``state`` is ``removed`` from the sunset on, ``deprecated`` from the
    deprecation day until then, else ``unstable`` for channels other than
    stable and initial, else ``stable``. ``days_until_sunset`` is negative
    once it passed. ``messages`` are sentences for people (the warnings).
    """

    state: State
    version: str
    channel: str
    deprecated_since: dt.date | None
    sunset: dt.date | None
    days_until_sunset: int | None
    oldest_supported: str | None
    changelog_url: str
    messages: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Signals:
    """What to answer: ``status`` 200 means serve the request and add ``headers``.

    Any other status is the whole answer: ``headers`` and the JSON ``body``.
    A header name may repeat (one ``Link`` per relation, one line per warning).
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes | None = None

    @property
    def proceed(self) -> bool:
        """True when the service should go on and serve the request."""
        return self.status == 200

    def values(self, name: str) -> tuple[str, ...]:
        """Every value of the header ``name`` (any case), in order."""
        return tuple(value for key, value in self.headers if key.lower() == name.lower())


@dataclass(frozen=True, slots=True)
class Violation:
    """A broken support promise: the ``rule``, the version or change id, and what to do."""

    rule: str
    version_or_change: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.version_or_change}: {self.message}"


@dataclass(frozen=True, slots=True)
class Policy:
    """Support promises from the seeds (Cognite, Climatiq), as pendulum durations.

    A GA release is removed no sooner than ``ga_support_after_successor`` after
    its successor is announced; a preview exactly ``preview_removed_after_successor``
    after its successor; a beta change is released within ``beta_promotion``.
    """

    ga_support_after_successor: pendulum.Duration = _TWELVE_MONTHS
    preview_removed_after_successor: pendulum.Duration = _ONE_MONTH
    beta_promotion: pendulum.Duration = _THREE_MONTHS


_DEFAULT_POLICY = Policy()


# -- the lifecycle -----------------------------------------------------------


class Lifecycle:
    """The lifecycle of an API's releases, and the HTTP signals for each request.

    ``releases`` maps version names (``v1``, ``2021-06-07``, ``v2-preview1``;
    ``v2021-06-07`` is ``2021-06-07``) to their dates. ``order`` lists version
    names oldest first and may name releases absent from ``releases`` (say,
    every release of a timeline: they are never sunset); without it the keys
    of ``releases`` go ``vN-previewK``, ``vN``, ``vN+1``, then dates.
    ``oldest_supported``, unless given, is the first non-preview name in that
    order whose sunset has not come.
    """

    def __init__(
        self,
        releases: Mapping[str, ReleaseLifecycle],
        *,
        changelog_url: str,
        deprecation_url: str | None = None,
        sunset_url: str | None = None,
        version_header: str = "X-API-Version",
        warning_header: str = "X-API-Warning",
        oldest_supported: str | None = None,
        order: Sequence[str] | None = None,
    ) -> None:
        self.releases = {_canonical(name): life for name, life in releases.items()}
        if len(self.releases) != len(releases):
            raise ValueError("a release is given twice, with and without its leading v")
        for name, life in self.releases.items():
            if not isinstance(life, ReleaseLifecycle):
                raise TypeError(f"releases[{name!r}] is not a ReleaseLifecycle")
        self.order = (tuple(_canonical(name) for name in order) if order is not None
                      else tuple(sorted(self.releases, key=_natural_key)))
        missing = sorted(set(self.releases) - set(self.order))
        if missing or len(set(self.order)) != len(self.order):
            raise ValueError(f"order must name each version once, oldest first; "
                             f"missing: {missing}")
        for url in (changelog_url, deprecation_url, sunset_url):
            if url is not None and (not url or _UNSAFE_URL.search(url)):
                raise ValueError(f"{url!r} cannot go in a Link header")
        for header in (version_header, warning_header):
            if not _TOKEN.fullmatch(header):
                raise ValueError(f"{header!r} is not an HTTP header name")
        self.changelog_url = changelog_url
        self.deprecation_url = deprecation_url or changelog_url
        self.sunset_url = sunset_url or changelog_url
        self.version_header = version_header
        self.warning_header = warning_header
        self._oldest_supported = _canonical(oldest_supported) if oldest_supported else None
        self._signals: dict[tuple[object, ...], Signals] = {}

    def oldest_supported(self, today: dt.date | None = None) -> str | None:
        """The oldest version clients should move to: as given, or computed for ``today``."""
        day = _day(today)
        return self._oldest_supported or next(
            (name for name in self.order if preview_of(name) is None
             and self._state_at(name, day) != "removed"), None)

    def _state_at(self, name: str, day: dt.date) -> State | None:
        life = self.releases.get(name, _UNPLANNED)
        if life.sunset is not None and life.sunset <= day:
            return "removed"
        if life.deprecated is not None and life.deprecated <= day:
            return "deprecated"
        return None

    def status(self, version: Version, today: dt.date | None = None) -> Status:
        """Where the resolved ``version`` stands on ``today`` (UTC)."""
        name, channel, day = _canonical(version.name), str(version.channel), _day(today)
        life = self.releases.get(name, _UNPLANNED)
        state = self._state_at(name, day) or (
            "stable" if channel in _STABLE_CHANNELS else "unstable")
        days = (_pdate(day).diff(_pdate(life.sunset), False).in_days()
                if life.sunset is not None else None)
        oldest = self.oldest_supported(day)
        messages = [] if state == "removed" else [text for text in (version.warning,) if text]
        # The timeline may already warn about the channel (X does): say it once.
        if (state != "removed" and channel not in _STABLE_CHANNELS
                and channel not in (version.warning or "").lower()):
            template = _CHANNEL_WARNINGS.get(channel, "{name} is {channel} and may change")
            messages.append(template.format(name=name, channel=channel))
        lifecycle = self._lifecycle_message(name, state, life, days, oldest, day)
        return Status(state, name, channel, life.deprecated, life.sunset, days, oldest,
                      self.changelog_url, (*messages, *([lifecycle] if lifecycle else [])))

    def _lifecycle_message(self, name: str, state: State, life: ReleaseLifecycle,
                           days: int | None, oldest: str | None, day: dt.date) -> str | None:
        see = f"see {self.changelog_url}"
        if state == "removed":
            instead = f"; the oldest supported version is {oldest}" if oldest else ""
            return f"{name} was removed on {life.sunset}{instead}; {see}"
        count = "1 day" if days == 1 else f"{days} days"
        removal = [f"removed on {life.sunset} ({count})"] if life.sunset else []
        if state == "deprecated":
            target = self._upgrade_target(name, day) or "a newer version"
            return (" and will be ".join([f"{name} is deprecated since {life.deprecated}",
                                          *removal]) + f"; upgrade to {target}, {see}")
        planned = [f"deprecated on {life.deprecated}"] if life.deprecated else []
        if planned or removal:
            return f"{name} will be {' and '.join(planned + removal)}; {see}"
        return None

    def _upgrade_target(self, name: str, day: dt.date) -> str | None:
        """The next version in order that is neither deprecated nor (for GA) a preview."""
        later = self.order[self.order.index(name) + 1:] if name in self.order else ()
        preview = preview_of(name) is not None
        return next((other for other in later if self._state_at(other, day) is None
                     and (preview or preview_of(other) is None)), None)

    def signals(self, version: Version, today: dt.date | None = None, *,
                defaulted: bool = False) -> Signals:
        """What to answer a request resolved to ``version`` on ``today`` (UTC).

        ``defaulted``: the request named no version and got the default. The
        version header is always sent; ``Deprecation`` and ``Sunset``, each with
        its ``Link`` relation, as soon as those dates are set, future ones
        included (RFC 9745 and 8594 allow it). Each warning is one header line
        of its own, since the sentences contain ``;`` and ``,``. A removed
        version gets 410 and a ``version_removed`` JSON body.
        """
        # Signals only depend on these, and this runs on every request: cache them.
        day = _day(today)
        key = (version.name, version.channel, version.warning, day, defaulted)
        cached = self._signals.get(key)
        if cached is None:
            if len(self._signals) > 4096:
                self._signals.clear()
            cached = self._signals[key] = self._compute_signals(version, day, defaulted)
        return cached

    def _compute_signals(self, version: Version, today: dt.date, defaulted: bool) -> Signals:
        status = self.status(version, today)
        headers = [(self.version_header, _header_text(status.version))]
        if status.deprecated_since is not None:
            headers.append(("Deprecation", deprecation_value(status.deprecated_since)))
        if status.sunset is not None:
            headers.append(("Sunset", http_date(status.sunset)))
        if status.deprecated_since is not None:
            headers.append(("Link", f'<{self.deprecation_url}>; rel="deprecation"; '
                                    'type="text/html"'))
        if status.sunset is not None:
            headers.append(("Link", f'<{self.sunset_url}>; rel="sunset"; type="text/html"'))
        if status.state == "removed":
            return Signals(410, (*headers, _JSON), _ENCODER.encode({"error": {
                "type": "version_removed", "message": status.messages[-1],
                "version": status.version, "sunset": str(status.sunset),
                "oldest_supported": status.oldest_supported, "changelog": self.changelog_url,
            }}))
        warnings = list(status.messages)
        if defaulted:
            warnings.insert(0, f"no API version was requested, so {status.version} was "
                               f"served; name one (e.g. in the {self.version_header} header) "
                               "to keep the shapes your code expects")
        headers += [(self.warning_header, _header_text(text)) for text in warnings]
        return Signals(200, tuple(headers))

    def error_signals(self, error: VersionError) -> Signals:
        """400 ``invalid_version`` for a version that cannot be resolved (malformed,
        future or unknown), listing the accepted forms; no version header, since
        none was resolved."""
        message = str(error).removesuffix(f" (accepted forms: {error.accepted})")
        return Signals(400, (_JSON,), _ENCODER.encode({"error": {
            "type": "invalid_version", "message": message, "reason": error.reason,
            "requested": error.requested, "accepted": error.accepted,
            "changelog": self.changelog_url,
        }}))

    def forbidden_signals(self, version_name: str, reason: str) -> Signals:
        """403 ``version_forbidden`` for a version this client may not use (a preview
        it has no access to); ``reason`` says why, or how to get access."""
        return Signals(403, ((self.version_header, _header_text(version_name)), _JSON),
                       _ENCODER.encode({"error": {
                           "type": "version_forbidden", "version": version_name,
                           "message": f"{version_name} is not available to this client: "
                                      f"{reason}",
                           "reason": reason, "changelog": self.changelog_url,
                       }}))

    def __repr__(self) -> str:
        return f"<Lifecycle of {len(self.releases)} releases, oldest first {list(self.order)}>"


# -- policies ----------------------------------------------------------------


def check_policies(
    lifecycle: Lifecycle,
    *,
    policy: Policy = _DEFAULT_POLICY,
    order: Sequence[str] | None = None,
    beta_changes: Iterable[Change] = (),
    beta_since: Mapping[str, dt.date] | None = None,
    today: dt.date | None = None,
) -> list[Violation]:
    """Check ``lifecycle`` against ``policy``: one Violation per broken promise.

    ``ga_support``: a GA (non-preview) release with a sunset needs a successor
    (the next GA name in ``order``, default ``lifecycle.order``), and that
    sunset comes at least ``ga_support_after_successor`` after the successor
    was announced (``successor_announced``, else a dated successor's date).

    ``preview_removal``: a preview ``B-previewK`` with a successor (a later
    ``B-preview*`` or ``B`` in order, or ``successor_announced`` set) needs
    ``successor_announced`` and a sunset exactly ``preview_removed_after_successor``
    after it: earlier cuts the promised notice, later keeps it past the policy.

    ``beta_promotion``: every beta-stage change of ``beta_changes``, and every
    id of ``beta_since`` not among them, is released within ``beta_promotion``
    of entering beta, as of ``today``. That date is ``beta_since[id]``, else
    the change's ``beta_since`` attribute; a change with neither is reported.
    """
    names = tuple(_canonical(n) for n in order) if order is not None else lifecycle.order
    found = _check_ga(lifecycle, policy, names) + _check_previews(lifecycle, policy, names)
    return found + _check_betas(policy, beta_changes, beta_since or {}, _day(today))


def _check_ga(lifecycle: Lifecycle, policy: Policy, names: Sequence[str]) -> list[Violation]:
    found: list[Violation] = []
    support = policy.ga_support_after_successor.in_words()
    ga = [name for name in names if preview_of(name) is None]
    for name, successor in zip(ga, [*ga[1:], None], strict=False):
        sunset = lifecycle.releases.get(name, _UNPLANNED).sunset
        announced = lifecycle.releases.get(name, _UNPLANNED).successor_announced
        announced = announced or _release_date(successor)
        if sunset is None:
            continue
        if announced is None:
            found.append(Violation("ga_support", name, (
                f"{name} is removed on {sunset} but has no successor: a GA release stays "
                f"{support} after its successor is announced; set successor_announced")))
        elif sunset < (due := _pdate(announced) + policy.ga_support_after_successor):
            found.append(Violation("ga_support", name, (
                f"{name} is removed on {sunset}, less than {support} after its successor "
                f"was announced on {announced}; move the sunset to {due} or later")))
    return found


def _check_previews(lifecycle: Lifecycle, policy: Policy,
                    names: Sequence[str]) -> list[Violation]:
    found: list[Violation] = []
    delay = policy.preview_removed_after_successor.in_words()
    for index, name in enumerate(names):
        if (base := preview_of(name)) is None:
            continue
        successor = next((later for later in names[index + 1:] if later == base
                          or preview_of(later) == base), None)
        life = lifecycle.releases.get(name, _UNPLANNED)
        if life.successor_announced is None:
            if successor is not None:
                found.append(Violation("preview_removal", name, (
                    f"{name} has a successor ({successor}) but no successor_announced "
                    f"date; set it, and a sunset {delay} later")))
            continue
        due = _pdate(life.successor_announced) + policy.preview_removed_after_successor
        after = f"{successor or 'its successor'} came on {life.successor_announced}"
        if life.sunset is None:
            found.append(Violation("preview_removal", name, (
                f"{name} has no sunset, but {after}: remove it on {due}")))
        elif life.sunset != due:
            why = "too early: its users were promised" if life.sunset < due else "too late:"
            found.append(Violation("preview_removal", name, (
                f"{name} is removed on {life.sunset}, {why} {delay} after {after}; "
                f"remove it on {due}")))
    return found


def _check_betas(policy: Policy, beta_changes: Iterable[Change],
                 beta_since: Mapping[str, dt.date], today: dt.date) -> list[Violation]:
    found: list[Violation] = []
    known = {change.id: change for change in beta_changes}
    ids = [key for key, change in known.items() if change.stage == "beta"]
    limit = policy.beta_promotion.in_words()
    for change_id in ids + [key for key in beta_since if key not in known]:
        since = beta_since.get(change_id) or getattr(known.get(change_id), "beta_since", None)
        if not isinstance(since, dt.date):
            found.append(Violation("beta_promotion", change_id, (
                f"{change_id} is in beta since an unknown date; pass beta_since="
                f"{{{change_id!r}: date}} to check it is released within {limit}")))
        elif today > (due := _pdate(_day(since)) + policy.beta_promotion):
            found.append(Violation("beta_promotion", change_id, (
                f"{change_id} has been in beta since {_day(since)}, more than {limit} "
                f"(due {due}); release it or drop it")))
    return found
