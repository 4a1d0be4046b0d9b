"""The version of the request being served, for service code that must branch on it.

The middlewares set it for the duration of each request in a
:class:`contextvars.ContextVar`, so it is right in async servers (one context
per task) and threaded ones (one per thread) alike::

    from datever.context import includes

    if includes("2022_05_16_asynchronous_refunds"):
        refund.status = "pending"
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from types import TracebackType

from datever.changes import Change
from datever.errors import DateverError
from datever.versions import Version

__all__ = ["NoVersionError", "current_version", "includes", "using_version"]

_CURRENT: ContextVar[Version] = ContextVar("datever.current_version")


class NoVersionError(DateverError, LookupError):
    """``current_version()`` was called outside a request served through a datever middleware."""


def current_version() -> Version:
    """The resolved version of the request being served.

    Raises NoVersionError outside a request (a background job, a test without
    the middleware): use ``using_version(version)`` there.
    """
    try:
        return _CURRENT.get()
    except LookupError:
        raise NoVersionError(
            "no API version is set: current_version() works while a request passes "
            "through VersioningMiddleware or VersioningWSGIMiddleware; elsewhere, wrap "
            "the code in `with using_version(engine.resolve(...)):`") from None


def includes(change: Change | str) -> bool:
    """Whether the current request's version includes ``change`` (a Change or its id).

    For side-effect changes that cannot be a transform (Stripe's
    ``version.includes``); raises NoVersionError outside a request and
    KeyError for a change the timeline does not have.
    """
    return current_version().includes(change)


class using_version:  # lower case: it reads as a function, `with using_version(v):`
    """Make ``version`` the current version inside a ``with`` block, then restore the previous.

    The middlewares do this for every request; use it in background jobs and
    tests.
    """

    __slots__ = ("_token", "version")

    def __init__(self, version: Version) -> None:
        if not isinstance(version, Version):
            raise TypeError(f"using_version() takes a resolved Version (engine.resolve(...)), "
                            f"not {type(version).__name__}")
        self.version = version
        self._token: Token[Version] | None = None

    def __enter__(self) -> Version:
        """Set the version; the block gets it."""
        self._token = _CURRENT.set(self.version)
        return self.version

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        """Restore the version that was current before the block."""
        if self._token is not None:
            _CURRENT.reset(self._token)
            self._token = None


def _set(version: Version) -> Token[Version]:
    """Set the current version (for the middlewares' hot path); reset with ``_reset``."""
    return _CURRENT.set(version)


def _reset(token: Token[Version]) -> None:
    _CURRENT.reset(token)
