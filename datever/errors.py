"""The exceptions datever raises: every one says what went wrong and where."""

from __future__ import annotations

__all__ = ["AccessError", "ChangeError", "DateverError", "MigrationError", "VersionError"]

ACCEPTED_FORMS = (
    "a UTC date YYYY-MM-DD (2021-06-07), the same with a leading v (v2021-06-07), "
    "X for the experimental head, or v1 / 1 for the initial version"
)


class DateverError(Exception):
    """Base class of every error datever raises on purpose."""


class VersionError(DateverError, ValueError):
    """A requested version is malformed, in the future, or otherwise not servable.

    ``reason`` is ``"malformed"``, ``"future"`` or ``"unknown"``; ``accepted``
    lists the version forms the timeline understands.
    """

    def __init__(self, requested: str, message: str, *, reason: str = "malformed",
                 accepted: str = ACCEPTED_FORMS) -> None:
        self.requested = requested
        self.reason = reason
        self.accepted = accepted
        super().__init__(f"{message} (accepted forms: {accepted})")


class AccessError(DateverError):
    """A client may not use a version (a gated preview); ``version`` names it."""

    def __init__(self, version: str, message: str) -> None:
        self.version = version
        super().__init__(message)


class ChangeError(DateverError):
    """A change module is invalid; raised when it is declared or loaded.

    The message names the file (when known) and says what to fix.
    """

    def __init__(self, message: str, *, file: str | None = None) -> None:
        self.file = file
        self.detail = message
        super().__init__(f"{file}: {message}" if file else message)

    def in_file(self, file: str) -> ChangeError:
        """The same error, now naming the file it came from."""
        return ChangeError(self.detail, file=file)


class MigrationError(DateverError):
    """A payload could not be migrated.

    Names the change (module), its release, the resource and the JSON path
    (a list of keys and indexes, rendered as ``$.data[3].customer``) where it
    failed; ``__cause__`` holds the original exception.
    """

    def __init__(self, message: str, *, change: str | None = None,
                 release: str | None = None, resource: str | None = None,
                 path: list[str | int] | None = None) -> None:
        self.message = message
        self.change = change
        self.release = release
        self.resource = resource
        self.path: list[str | int] = path if path is not None else []
        super().__init__(message)

    @property
    def json_path(self) -> str:
        """The failing location as a JSONPath-like string, ``$`` for the root."""
        parts = ["$"]
        for part in self.path:
            parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
        return "".join(parts)

    def __str__(self) -> str:
        where = [f"at {self.json_path}"]
        if self.resource:
            where.append(f"resource {self.resource!r}")
        if self.change:
            where.append(f"change {self.change}")
        if self.release:
            where.append(f"release {self.release}")
        return f"{self.message} ({', '.join(where)})"
