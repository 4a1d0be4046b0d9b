"""Version selection: which version a request is served at, first match wins.

Explicit (path segment, header, query parameter) > the client's configured pin
> the account's pin > the default. An account with no pin is pinned to the
newest release on its first request, exactly once (the pin store sees to it).
Framework-free: the middleware hands in the path, headers and query, and an
async middleware the account's pin, looked up beforehand with
:meth:`VersionSelector.alookup` so that selecting never waits on a database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from datever.pins import Pin, PinStore
from datever.pins_async import AnyPinStore, AsyncPinStore, as_async
from datever.versions import Timeline, Version, path_version

__all__ = ["AccountPin", "Selection", "VersionSelector"]

Source = Literal["path", "header", "query", "client", "account", "default"]


@dataclass(frozen=True, slots=True)
class AccountPin:
    """An account's pin as looked up before selection; ``new`` when the lookup made it
    (the account's first request)."""

    pin: Pin
    new: bool = False


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
    pinned to the newest release on their first request. The store may be
    sync (:meth:`select` looks the pin up itself), async, or both: async code
    looks the pin up with :meth:`alookup` and hands it to :meth:`select`.
    """

    def __init__(self, timeline: Timeline, *, path: bool = True,
                 header: str | None = "X-API-Version", query: str | None = "api-version",
                 pins: AnyPinStore | None = None,
                 default: Literal["initial", "newest"] = "initial") -> None:
        if default not in ("initial", "newest"):
            raise ValueError(f"default is 'initial' or 'newest', not {default!r}")
        self.timeline = timeline
        self.path = path
        self.header = header.lower() if header else None
        self.query = query
        self.pins = pins
        self.default = default
        self._async: AsyncPinStore | None = as_async(pins) if pins is not None else None

    @property
    def newest(self) -> str:
        """The name of the newest release (what new accounts are pinned to)."""
        return self.timeline.versions[-1]

    def _sync(self) -> PinStore:
        pins = self.pins
        if pins is None:
            raise ValueError("this selector has no pin store")
        if not callable(getattr(pins, "get", None)):
            raise TypeError(f"{pins!r} is an async pin store: look pins up with alookup() "
                            "and hand them to select(account_pin=...), as the ASGI "
                            "middleware does, or give a sync store")
        return pins  # type: ignore[return-value]  # it has the sync methods

    def lookup(self, account: str) -> AccountPin | None:
        """The account's pin, pinning it to the newest release when it has none
        (None: no pin store)."""
        if self.pins is None:
            return None
        store = self._sync()
        pin = store.get(account)
        if pin is not None:
            return AccountPin(pin)
        return AccountPin(store.pin_first(account, self.newest), new=True)

    async def alookup(self, account: str) -> AccountPin | None:
        """:meth:`lookup` without blocking the event loop: through the store's async
        methods, or its sync ones on worker threads."""
        store = self._async
        if store is None:
            return None
        pin = await store.aget(account)
        if pin is not None:
            return AccountPin(pin)
        return AccountPin(await store.apin_first(account, self.newest), new=True)

    def select(self, path: str, headers: Mapping[str, str] | None = None,
               query: Mapping[str, str] | None = None, *, account: str | None = None,
               client_pin: str | None = None, today: dt.date | None = None,
               account_pin: AccountPin | None = None) -> Selection:
        """Select and resolve the version of one request; VersionError for a bad one.

        ``account_pin`` is the account's pin when the caller looked it up
        already (:meth:`alookup`); otherwise it is looked up here, with the
        store's sync methods.
        """
        if account_pin is None and account is not None and self.pins is not None:
            account_pin = self.lookup(account)
        pinned = account_pin.pin if account_pin is not None and account_pin.new else None
        explicit = self._explicit(path, headers or {}, query or {})
        if explicit is not None:
            text, source, path = explicit
            return Selection(self.timeline.resolve(text, today=today), source, path,
                             pinned=pinned)
        if client_pin is not None:
            return Selection(self.timeline.resolve(client_pin, today=today), "client", path,
                             pinned=pinned)
        if account_pin is not None:
            return Selection(self.timeline.resolve(account_pin.pin.version, today=today),
                             "account", path, pinned=pinned)
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
        store = self._sync()
        resolved = self.timeline.resolve(version, today=today)
        return store.upgrade(account, resolved.name)

    def rollback(self, account: str) -> Pin:
        """Undo the account's last upgrade, within 72 hours of it."""
        return self._sync().rollback(account)
