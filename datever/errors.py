"""The exceptions datever raises: every one says what went wrong and where."""

from __future__ import annotations

from typing import Any

__all__ = [
    "MIGRATION_REASONS", "AccessError", "ChangeError", "DateverError", "MigrationError",
    "VersionError",
]

ACCEPTED_FORMS = (
    "a UTC date YYYY-MM-DD (2021-06-07), the same with a leading v (v2021-06-07), "
    "X for the experimental head, or v1 / 1 for the initial version"
)


#: How many characters of a requested version an error repeats.
SHOWN = 64


class DateverError(Exception):
    """Base class of every error datever raises on purpose."""


class VersionError(DateverError, ValueError):
    """A requested version is malformed, in the future, or otherwise not servable.

    ``reason`` is ``"malformed"``, ``"future"`` or ``"unknown"``; ``accepted``
    lists the version forms the timeline understands. ``requested`` (and the
    message) show at most :data:`SHOWN` characters of what was asked for, so an
    error answered to a client never echoes a megabyte it sent.
    """

    def __init__(self, requested: str, message: str, *, reason: str = "malformed",
                 accepted: str = ACCEPTED_FORMS) -> None:
        if len(requested) > SHOWN:
            shown = requested[:SHOWN] + "…"
            message = message.replace(repr(requested), repr(shown))
            requested = shown
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


#: The closed set of :attr:`MigrationError.reason` codes, for programs that react to them.
MIGRATION_REASONS = frozenset({
    "invalid_json",   # bytes that do not parse as JSON
    "too_deep",       # arrays and objects nested past the engine's MAX_DEPTH
    "not_an_object",  # a named resource (a request body) that is not a JSON object
    "not_json",       # a Python value that is not JSON data (a set key, an object(), ...)
    "not_encodable",  # a migrated payload that cannot be encoded as JSON
    "transform",      # a change's transform raised
    "invalid",        # a payload that does not fit its version's declared shape (Schemas)
})


class MigrationError(DateverError):
    """A payload could not be migrated.

    ``message`` is the bare detail (never prefixed); the other fields say
    where: ``change`` (module id) and ``release``, the ``resource``, ``path``
    (keys and indexes, rendered by :attr:`json_path` as ``$.data[3].customer``),
    ``direction`` (``"up"``, ``"down"`` or None) and ``version`` (the name of
    the version migrated to or from). ``reason`` is one of
    :data:`MIGRATION_REASONS`. ``str()`` composes them all in one stable
    format; ``__cause__`` holds the original exception.
    """

    def __init__(self, message: str, *, change: str | None = None,
                 release: str | None = None, resource: str | None = None,
                 path: list[str | int] | None = None, direction: str | None = None,
                 version: str | None = None, reason: str = "transform") -> None:
        if reason not in MIGRATION_REASONS:
            raise ValueError(f"unknown MigrationError reason {reason!r}")
        self.message = message
        self.change = change
        self.release = release
        self.resource = resource
        self.path: list[str | int] = path if path is not None else []
        self.direction = direction
        self.version = version
        self.reason = reason
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        # keyword-only fields: pickle (multiprocessing, logging handlers) must keep them
        return (_rebuild, (self.message, self.__dict__.copy()))

    @property
    def json_path(self) -> str:
        """The failing location as a JSONPath-like string, ``$`` for the root."""
        parts = ["$"]
        for part in self.path:
            parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
        return "".join(parts)

    def __str__(self) -> str:
        """``<message> (<direction> <version>, at <path>, resource, change, release, reason)``.

        For example ``ValueError: boom (up from v1, at $.data[0], resource
        'charge', change 2021_01_01_x, release 2021-01-01, reason transform)``; parts
        that are not known are left out.
        """
        where = []
        if self.direction is not None:
            where.append(f"{'down to' if self.direction == 'down' else 'up from'} "
                         f"{self.version}" if self.version else self.direction)
        where.append(f"at {self.json_path}")
        if self.resource:
            where.append(f"resource {self.resource!r}")
        if self.change:
            where.append(f"change {self.change}")
        if self.release:
            where.append(f"release {self.release}")
        where.append(f"reason {self.reason}")
        return f"{self.message} ({', '.join(where)})"


def _rebuild(message: str, fields: dict[str, Any]) -> MigrationError:
    error = MigrationError(message, reason=fields.get("reason", "transform"))
    error.__dict__.update(fields)
    return error
