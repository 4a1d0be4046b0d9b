"""Version strings, timelines of releases, and resolution of one to the other.

A dated request resolves to the newest release on or before it (bisect over
the sorted releases); ``X`` is the head; ``v1`` the initial version.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import pendulum

from datever.changes import Change
from datever.errors import VersionError

__all__ = ["Requested", "Timeline", "Version", "parse_version"]

Channel = Literal["stable", "initial", "experimental"]

_DATED = re.compile(r"v?([0-9]{4})-([0-9]{2})-([0-9]{2})")
_INITIAL = ("v1", "1")
_HEAD = "X"


@dataclass(frozen=True, slots=True)
class Requested:
    """A syntactically valid version string: a date, the head ``X`` or the initial version."""

    text: str
    kind: Literal["date", "head", "initial"]
    date: dt.date | None = None


def parse_version(text: str) -> Requested:
    """Parse a version string strictly, or raise VersionError listing the accepted forms."""
    if not isinstance(text, str):
        raise VersionError(repr(text), f"a version is a string, got {type(text).__name__}")
    if text == _HEAD:
        return Requested(text, "head")
    if text in _INITIAL:
        return Requested(text, "initial")
    match = _DATED.fullmatch(text)
    if not match:
        raise VersionError(text, f"{text!r} is not a version")
    try:
        date = pendulum.date(*(int(part) for part in match.groups()))
    except ValueError:
        raise VersionError(text, f"{text!r} is not a calendar date") from None
    return Requested(text, "date", date)


def utc_today() -> dt.date:
    """Today's date in UTC."""
    return pendulum.now("UTC").date()


def _as_date(value: dt.date) -> dt.date:
    """A date, from a date or a datetime (taken in UTC when it is aware)."""
    if isinstance(value, dt.datetime):
        return (value.astimezone(dt.UTC) if value.tzinfo else value).date()
    return value


@dataclass(frozen=True, slots=True, eq=False)
class Version:
    """A resolved version: where a request lands on a timeline.

    ``release`` is the release date (None for the initial version and the
    head); ``pending`` are the changes this version does *not* include,
    oldest first: the down pipeline undoes them newest first. ``warning``
    is set for requests that need one (tomorrow's date, the head).
    """

    timeline: Timeline
    name: str
    channel: Channel
    release: dt.date | None
    pending: tuple[Change, ...]
    requested: str
    warning: str | None = None

    @property
    def key(self) -> str:
        """What the pipeline cache is keyed by: equal for versions of one release."""
        return self.name

    @property
    def is_head(self) -> bool:
        """True when nothing needs migrating."""
        return not self.pending

    def includes(self, change: Change | str) -> bool:
        """Whether this version includes ``change`` (a Change or its id): for side effects."""
        found = self.timeline.change(change) if isinstance(change, str) else change
        if found not in self.timeline.changes:
            raise KeyError(f"{found!r} is not a change of this timeline")
        return found not in self.pending

    def __repr__(self) -> str:
        return f"<Version {self.name} ({self.channel}) requested as {self.requested!r}>"

    def __rich_repr__(self) -> Iterable[tuple[str, object]]:
        yield "name", self.name
        yield "channel", self.channel
        yield "requested", self.requested
        yield "pending", len(self.pending)
        if self.warning:
            yield "warning", self.warning


class Timeline:
    """The ordered changes of one API (or one feature group) and their releases.

    ``changes`` may come in any order; they are sorted oldest first. The
    initial version is called ``initial`` (``v1`` by default).
    """

    def __init__(self, changes: Sequence[Change], *, name: str = "default",
                 initial: str = "v1") -> None:
        self.name = name
        self.initial = initial
        self.changes: tuple[Change, ...] = tuple(sorted(changes, key=lambda c: c.sort_key))
        ids = [change.id for change in self.changes]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"change ids must be unique, repeated: {duplicates}")
        self._by_id = {change.id: change for change in self.changes}
        released = [c for c in self.changes if c.released is not None]
        self.releases: tuple[dt.date, ...] = tuple(sorted({c.released for c in released
                                                          if c.released is not None}))
        self._released_count = len(released)
        self._cache: dict[tuple[str, str], Version] = {}

    def change(self, change_id: str) -> Change:
        """The change with this id (its module name)."""
        try:
            return self._by_id[change_id]
        except KeyError:
            raise KeyError(f"no change {change_id!r} in timeline {self.name!r}") from None

    @property
    def newest(self) -> dt.date | None:
        """The newest release date, None when nothing is released yet."""
        return self.releases[-1] if self.releases else None

    def resolve(self, text: str, *, today: dt.date | None = None) -> Version:
        """Resolve a version string to a :class:`Version`, or raise VersionError."""
        if not isinstance(text, str):
            raise VersionError(repr(text), f"a version is a string, got {type(text).__name__}")
        day = _as_date(today) if today is not None else utc_today()
        key = (text, day.isoformat())
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if text == self.initial:
            requested = Requested(text, "initial")
        else:
            requested = parse_version(text)
            if requested.kind == "initial" and self.initial not in _INITIAL:
                raise VersionError(text, f"{text!r} is not a version of this timeline; its "
                                   f"initial version is {self.initial!r}")
        version = self._resolve(requested, day)
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[key] = version
        return version

    def _resolve(self, requested: Requested, today: dt.date) -> Version:
        if requested.kind == "head":
            return Version(self, "X", "experimental", None, (), requested.text,
                           warning="X is experimental and may change at any time")
        if requested.kind == "initial":
            return self.at(None, requested.text)
        assert requested.date is not None
        date, warning = requested.date, None
        tomorrow = today + dt.timedelta(days=1)
        if date > tomorrow:
            raise VersionError(requested.text, f"{requested.text!r} is in the future "
                               f"(today is {today.isoformat()} UTC)", reason="future")
        if date == tomorrow:
            warning = (f"{requested.text} is tomorrow in UTC; it is served as today's "
                       "newest release")
        index = bisect.bisect_right(self.releases, date)
        release = self.releases[index - 1] if index else None
        return self.at(release, requested.text, warning=warning)

    def at(self, release: dt.date | None, requested: str | None = None, *,
           warning: str | None = None) -> Version:
        """The version of one release date (None: the initial version)."""
        if release is None:
            pending = self.changes
            return Version(self, self.initial, "initial", None, pending,
                           requested or self.initial, warning)
        if release not in self.releases:
            raise KeyError(f"{release.isoformat()} is not a release of {self.name!r}")
        count = bisect.bisect_right([c.released for c in self.changes[:self._released_count]
                                     if c.released is not None], release)
        name = release.isoformat()
        return Version(self, name, "stable", release, self.changes[count:],
                       requested or name, warning)

    def __repr__(self) -> str:
        return (f"<Timeline {self.name!r}: {len(self.changes)} changes, "
                f"{len(self.releases)} releases>")
