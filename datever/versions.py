"""Version strings, timelines of releases, and resolution of one to the other.

A dated request resolves to the newest release on or before it (bisect over
the sorted releases); ``X`` is the head; ``v1`` the initial version.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import pendulum

from datever.errors import ACCEPTED_FORMS, AccessError, ChangeError, VersionError
from datever.resources import UNDECLARED, Resource, Resources

if TYPE_CHECKING:  # datever.changes reads version names with the grammar below
    from datever.changes import Change

__all__ = ["Requested", "Timeline", "Version", "parse_version"]

Channel = Literal["stable", "initial", "experimental", "beta", "preview"]


# -- the version grammar: every module reads version names with these -------------
#
# Digits are ASCII ([0-9], never \d or str.isdigit, which take any script's digits),
# and numbers of named versions have at most nine, so no name is too long to read.

HEAD = "X"
BETA = "beta"
#: the names of the initial version on a timeline that keeps the default ``v1``
INITIAL = ("v1", "1")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_NAMED = re.compile(r"v([1-9][0-9]{0,8})(?:-preview([1-9][0-9]{0,8}))?")
_FILE_RELEASE = re.compile(r"([0-9]{4})_([0-9]{2})_([0-9]{2})_|(v[1-9][0-9]{0,8}(?:_preview"
                           r"[1-9][0-9]{0,8})?)_|(beta|experimental)_")
_SPECIAL = (HEAD, BETA, *INITIAL)


def parse_date(text: str) -> dt.date | None:
    """The calendar date written ``YYYY-MM-DD`` (``2021-06-07``), else None."""
    match = _DATE.fullmatch(text)
    if match is None:
        return None
    try:
        return pendulum.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def is_date_shaped(text: str) -> bool:
    """True for ``YYYY-MM-DD`` in digits, a calendar date or not (``2021-02-30``)."""
    return _DATE.fullmatch(text) is not None


def dated_name(name: str) -> dt.date | None:
    """The release date a dated version name stands for: ``2021-06-07`` or ``v2021-06-07``."""
    return parse_date(name[1:] if name.startswith("v") else name)


def named_key(name: str) -> tuple[int, int, int] | None:
    """The order of a named version (``v2-preview1`` < ``v2-preview2`` < ``v2``), or None.

    Named versions are ``vN`` and ``vN-previewK`` with N, K >= 1 and no leading
    zero. Previews of ``vN`` come after ``vN-1`` and before ``vN``.
    """
    match = _NAMED.fullmatch(name)
    if match is None:
        return None
    major, preview = match.groups()
    return (int(major), 0, int(preview)) if preview else (int(major), 1, 0)


def preview_of(name: str) -> str | None:
    """The version a preview leads to (``v2`` for ``v2-preview1``); None for other names."""
    match = _NAMED.fullmatch(name)
    return f"v{match.group(1)}" if match is not None and match.group(2) else None


def path_version(segment: str) -> str | None:
    """The version a URL path segment names, else None: ``v2021-06-07`` gives
    ``2021-06-07``, ``vX`` gives ``X``, ``v2`` and ``v2-preview1`` themselves.

    Dates are taken by their shape, so ``/v2021-02-30/`` reaches resolution and its
    clear error rather than passing for a route.
    """
    if segment[:1] != "v":  # every version segment starts so; most route segments do not
        return None
    if segment == "v" + HEAD:
        return HEAD
    if segment.startswith("v") and is_date_shaped(segment[1:]):
        return segment[1:]
    return segment if named_key(segment) is not None else None


def file_release(stem: str) -> str | None:
    """The release a change module's file name starts with, else None:
    ``2021_06_07_x`` gives ``2021-06-07``, ``v2_preview1_x`` gives ``v2-preview1``,
    ``beta_x`` and ``experimental_x`` their stage."""
    match = _FILE_RELEASE.match(stem)
    if match is None:
        return None
    year, month, day, named, stage = match.groups()
    if named is not None:
        return named.replace("_", "-")
    return stage if stage is not None else f"{year}-{month}-{day}"


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
    if text == HEAD:
        return Requested(text, "head")
    if text in INITIAL:
        return Requested(text, "initial")
    date = dated_name(text)
    if date is None:
        shaped = is_date_shaped(text[1:] if text.startswith("v") else text)
        raise VersionError(text, f"{text!r} is not a {'calendar date' if shaped else 'version'}")
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
    def unstable(self) -> bool:
        """True on the experimental head, beta and previews: they may change."""
        return self.channel in ("experimental", "beta", "preview")

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

    A timeline is *dated* (changes released on dates; a requested date
    resolves to the newest release on or before it) or *named* (changes
    released in ``v2``, ``v2-preview1``...; names resolve exactly). A named
    timeline may list its ``versions`` explicitly (a GA version with no
    change of its own, say); otherwise they are the initial version and the
    names its changes use. ``aliases`` map extra names to versions
    (``{"playground": "X"}``). ``preview_access(client, version)`` decides
    whether a client may use a preview; without it previews are open.

    ``resources`` declares the resources (:class:`~datever.Resource`): which
    names are request bodies, which share a response resource's operations,
    which properties are opaque. Left out, the timeline takes the
    declarations its changes were loaded with (``changes/resources.py``);
    without any, every resource is a response resource.
    """

    def __init__(self, changes: Sequence[Change], *, name: str = "default",
                 initial: str = "v1", versions: Sequence[str] | None = None,
                 aliases: Mapping[str, str] | None = None,
                 preview_access: Callable[[str | None, Version], bool] | None = None,
                 resources: Resources | Iterable[Resource] | None = None) -> None:
        self.name = name
        self.initial = initial
        self.preview_access = preview_access
        from datever.changes import check_history  # it reads names with the grammar here

        check_history(changes)
        #: the resource declarations every change is checked against (empty: none)
        self.resources: Resources = _declarations(changes, resources)
        for change in changes:
            change.bind(self.resources)
        dated = [c for c in changes if c.released is not None]
        named = [c for c in changes if c.named is not None]
        self.scheme: Literal["dated", "named"] = "named" if named or versions else "dated"
        self.changes: tuple[Change, ...] = tuple(sorted(changes, key=lambda c: c.sort_key))
        #: backward-compatible changes: they apply to every version, old ones included
        self.retroactive = frozenset(c for c in self.changes if _retroactive(c))
        self._migrating = tuple(c for c in self.changes if c not in self.retroactive)
        self._by_id = {change.id: change for change in self.changes}
        self.releases: tuple[dt.date, ...] = tuple(sorted({c.released for c in dated
                                                          if c.released is not None}))
        self.versions: tuple[str, ...] = (
            self._named_versions(named, versions) if self.scheme == "named"
            else (initial, *(release.isoformat() for release in self.releases)))
        self.aliases = dict(aliases or {})
        for alias, target in self.aliases.items():
            if alias in self.versions or alias in _SPECIAL or dated_name(alias):
                raise ValueError(f"alias {alias!r} would hide a version")
            if target in self.aliases:
                raise ValueError(f"alias {alias!r} points to another alias {target!r}")
        self._cache: dict[tuple[str, dt.date], Version] = {}

    def _named_versions(self, named: Sequence[Change],
                        declared: Sequence[str] | None) -> tuple[str, ...]:
        names = list(declared) if declared is not None else sorted(
            {self.initial, *(c.named for c in named if c.named)}, key=_named_order)
        for version in names:
            if named_key(version) is None:
                raise ChangeError(f"{version!r} is not a named version (v2, v2-preview1)")
        if names != sorted(names, key=_named_order) or len(set(names)) != len(names):
            raise ChangeError(f"named versions must be unique and in order: {names}")
        if not names or names[0] != self.initial:
            raise ChangeError(f"the named versions start with the initial {self.initial!r}")
        for change in named:
            if change.named not in names[1:]:
                raise ChangeError(f"{change.id} is released in {change.named!r}, which is not "
                                  f"one of the versions after {self.initial!r}: {names}",
                                  file=change.file)
        return tuple(names)

    def change(self, change_id: str) -> Change:
        """The change with this id (its module name)."""
        try:
            return self._by_id[change_id]
        except KeyError:
            raise KeyError(f"no change {change_id!r} in timeline {self.name!r}") from None

    def version_order(self, name: str) -> int:
        """The position of a version name (oldest first): a pin store's ``order`` for
        this timeline, dated or named (``SQLitePinStore(path, order=timeline.version_order)``)."""
        try:
            return self.versions.index(name)
        except ValueError:
            raise VersionError(name, f"{name!r} is not a version of {self.name!r}",
                               reason="unknown", accepted=self.accepted) from None

    @property
    def newest(self) -> dt.date | None:
        """The newest release date, None when nothing is released yet."""
        return self.releases[-1] if self.releases else None

    @property
    def accepted(self) -> str:
        """The version forms this timeline accepts, for error messages."""
        extra = ", ".join(repr(alias) for alias in self.aliases)
        if self.scheme == "named":
            forms = f"one of {', '.join(self.versions)}, X for the experimental head"
        else:
            forms = ACCEPTED_FORMS
            if self.initial not in INITIAL:
                forms = forms.replace("v1 / 1", repr(self.initial))
        forms += ", or beta for the newest release with the beta changes"
        return f"{forms}; aliases {extra}" if extra else forms

    def resolve(self, text: str, *, today: dt.date | None = None) -> Version:
        """Resolve a version string to a :class:`Version`, or raise VersionError."""
        if not isinstance(text, str):
            raise VersionError(repr(text), f"a version is a string, got {type(text).__name__}",
                               accepted=self.accepted)
        # keyed by the date itself: a plain date (what the middlewares pass) hashes
        # as fast as its text would, without formatting it on every request
        day = today if type(today) is dt.date else (
            _as_date(today) if today is not None else utc_today())
        key = (text, day)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        version = self._resolve(text, self.aliases.get(text, text), day)
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[key] = version
        return version

    def _resolve(self, requested: str, text: str, today: dt.date) -> Version:
        if text == HEAD:
            return Version(self, "X", "experimental", None, (), requested,
                           warning="X is experimental and may change at any time")
        if text == BETA:
            pending = tuple(c for c in self._migrating if c.stage == "experimental")
            return Version(self, "beta", "beta", self.newest, pending, requested,
                           warning="beta includes changes that may still change")
        if text == self.initial or (self.initial in INITIAL and text in INITIAL):
            return self._at_index(0, requested)
        if self.scheme == "named":
            if text not in self.versions:
                raise VersionError(requested, f"{requested!r} is not a version of "
                                   f"{self.name!r}", reason="unknown", accepted=self.accepted)
            return self._at_index(self.versions.index(text), requested)
        try:
            parsed = parse_version(text)
        except VersionError as exc:
            raise VersionError(requested, str(exc).split(" (accepted")[0],
                               accepted=self.accepted) from None
        if parsed.kind == "initial":  # v1 on a timeline whose initial is named otherwise
            raise VersionError(requested, f"{requested!r} is not a version of this timeline",
                               reason="unknown", accepted=self.accepted)
        assert parsed.date is not None
        date, warning = parsed.date, None
        ahead = date.toordinal() - today.toordinal()  # date.max has no tomorrow to compare
        if ahead > 1:
            raise VersionError(requested, f"{requested!r} is in the future "
                               f"(today is {today.isoformat()} UTC)", reason="future",
                               accepted=self.accepted)
        if ahead == 1:
            warning = (f"{requested} is tomorrow in UTC; it is served as today's "
                       "newest release")
        index = bisect.bisect_right(self.releases, date)
        return self._at_index(index, requested, warning=warning)

    def _at_index(self, index: int, requested: str, *, warning: str | None = None) -> Version:
        """The version ``self.versions[index]``: 0 is the initial version."""
        name = self.versions[index]
        if index == 0:
            return Version(self, name, "initial", None, self._migrating, requested, warning)
        if self.scheme == "named":
            order = _named_order(name)
            pending = tuple(c for c in self._migrating
                            if c.named is None or _named_order(c.named) > order)
            channel: Channel = "preview" if "-preview" in name else "stable"
            if channel == "preview" and warning is None:
                warning = f"{name} is a preview and may change or be removed"
            return Version(self, name, channel, None, pending, requested, warning)
        release = self.releases[index - 1]
        pending = tuple(c for c in self._migrating if c.released is None or c.released > release)
        return Version(self, name, "stable", release, pending, requested, warning)

    def check_access(self, version: Version, client: str | None = None) -> None:
        """Raise AccessError when ``client`` may not use ``version`` (a gated preview)."""
        if version.channel != "preview" or self.preview_access is None:
            return
        if not self.preview_access(client, version):
            raise AccessError(version.name, f"{version.name} is a preview; "
                              f"{'client ' + repr(client) if client else 'this client'} "
                              "has no access to it")

    def __repr__(self) -> str:
        count = len(self.versions) - 1
        return f"<Timeline {self.name!r}: {len(self.changes)} changes, {count} releases>"

    def __rich_repr__(self) -> Iterable[tuple[str, object]]:
        yield "name", self.name
        yield "scheme", self.scheme
        yield "changes", len(self.changes)
        yield "versions", list(self.versions)
        if self.aliases:
            yield "aliases", self.aliases


def _declarations(changes: Sequence[Change],
                  given: Resources | Iterable[Resource] | None) -> Resources:
    """The declarations given, else the one set the changes were loaded with."""
    if given is not None:
        return given if isinstance(given, Resources) else Resources(given)
    found = list(dict.fromkeys(change.declarations for change in changes
                               if change.declarations))
    if len(found) > 1:
        raise ChangeError(f"the changes were loaded with different resource declarations "
                          f"({found[0].file} and {found[1].file}); give the timeline one "
                          "set: Timeline(changes, resources=...)")
    return found[0] if found else UNDECLARED


def _retroactive(change: Change) -> bool:
    from datever.classify import change_is_retroactive  # it imports datever.changes

    compatible = change_is_retroactive(change)
    if change.retroactive and not compatible:
        raise ChangeError(f"{change.id} says retroactive=True but it has breaking operations "
                          "(see datever.classify); old versions must not see it",
                          file=change.file)
    return compatible if change.retroactive is None else change.retroactive


def _named_order(name: str) -> tuple[int, int, int]:
    key = named_key(name)
    if key is None:
        raise ChangeError(f"{name!r} is not a named version (v2, v2-preview1)")
    return key
