"""Version selection: which version a request is served at, first match wins.

Explicit (path segment, header, query parameter) > the client's configured pin
> the account's pin > the default. An account with no pin is pinned to the
newest release on its first request, exactly once (the pin store sees to it).
Framework-free: the middleware hands in the path, headers and query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from datever.pins import Pin, PinStore
from datever.versions import Timeline, Version, path_version

__all__ = ["Selection", "VersionSelector"]

Source = Literal["path", "header", "query", "client", "account", "default"]



@dataclass(frozen=True, slots=True)
class Selection:
    """The outcome of selecting a version for one request.

    ``path`` is the request path with a version segment removed; ``defaulted``
    is True when the request named no version and got the default;
    ``pinned`` is the account's pin when the request pinned it just now.
    """

    version: Version
    source: Source
    path: str
    defaulted: bool = False
    pinned: Pin | None = None


class VersionSelector:
    """Selects the version of a request on one timeline.

    ``header`` and ``query`` name where an explicit version may come from
    (None turns one off); ``path`` enables the ``/v2021-06-07/...`` prefix.
    ``default`` is ``"initial"`` (Sanity: ``v1``, with a warning) or
    ``"newest"`` (the newest release). With a ``pins`` store, accounts are
    pinned to the newest release on their first request.
    """

    def __init__(self, timeline: Timeline, *, path: bool = True,
                 header: str | None = "X-API-Version", query: str | None = "api-version",
                 pins: PinStore | None = None,
                 default: Literal["initial", "newest"] = "initial") -> None:
        if default not in ("initial", "newest"):
            raise ValueError(f"default is 'initial' or 'newest', not {default!r}")
        self.timeline = timeline
        self.path = path
        self.header = header.lower() if header else None
        self.query = query
        self.pins = pins
        self.default = default

    @property
    def newest(self) -> str:
        """The name of the newest release (what new accounts are pinned to)."""
        return self.timeline.versions[-1]

    def select(self, path: str, headers: Mapping[str, str] | None = None,
               query: Mapping[str, str] | None = None, *, account: str | None = None,
               client_pin: str | None = None, today: dt.date | None = None) -> Selection:
        """Select and resolve the version of one request; VersionError for a bad one."""
        pinned = None
        if account is not None and self.pins is not None and self.pins.get(account) is None:
            pinned = self.pins.pin_first(account, self.newest)
        explicit = self._explicit(path, headers or {}, query or {})
        if explicit is not None:
            text, source, path = explicit
            return Selection(self.timeline.resolve(text, today=today), source, path,
                             pinned=pinned)
        if client_pin is not None:
            return Selection(self.timeline.resolve(client_pin, today=today), "client", path,
                             pinned=pinned)
        if account is not None and self.pins is not None:
            pin = pinned or self.pins.get(account)
            if pin is not None:
                return Selection(self.timeline.resolve(pin.version, today=today), "account",
                                 path, pinned=pinned)
        text = self.timeline.initial if self.default == "initial" else self.newest
        return Selection(self.timeline.resolve(text, today=today), "default", path,
                         defaulted=True)

    def _explicit(self, path: str, headers: Mapping[str, str],
                  query: Mapping[str, str]) -> tuple[str, Source, str] | None:
        if self.path and path[1:2] == "v":
            # /v2021-06-07/..., /v1/..., /vX/..., /v2-preview1/... as the first segment
            segment, slash, rest = path[1:].partition("/") if path[:1] == "/" else ("", "", "")
            text = path_version(segment)
            if text is not None:
                return text, "path", slash + rest or "/"
        if self.header is not None:
            for name, value in headers.items():
                if name.lower() == self.header:
                    return value.strip(), "header", path
        if self.query is not None and self.query in query:
            return query[self.query], "query", path
        return None

    def upgrade(self, account: str, version: str, *, today: dt.date | None = None) -> Pin:
        """Move an account's pin forward to ``version`` (resolved on the timeline)."""
        if self.pins is None:
            raise ValueError("this selector has no pin store")
        resolved = self.timeline.resolve(version, today=today)
        return self.pins.upgrade(account, resolved.name)

    def rollback(self, account: str) -> Pin:
        """Undo the account's last upgrade, within 72 hours of it."""
        if self.pins is None:
            raise ValueError("this selector has no pin store")
        return self.pins.rollback(account)
