"""The engine: resolve a version, compile and cache its pipelines, migrate payloads.

Bytes in and bytes out on the hot path (one msgspec Decoder and Encoder,
built once), Python objects in and out for convenience. The caller's object
is never modified, and a failed migration returns nothing half-done.

Bad input never escapes as anything but a :class:`MigrationError`, whose
``reason`` says what was wrong. Payloads nested deeper than ``MAX_DEPTH``
(64: ten times a real API payload's nesting, far below Python's recursion
limit whatever the caller's stack) are refused with reason ``"too_deep"``.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from datever.changes import Direction, load_changes, load_resources
from datever.errors import MigrationError
from datever.interpreter import reference_run
from datever.pipeline import MAX_DEPTH, Pipeline, is_flat, located, too_deep
from datever.versions import Timeline, Version

if TYPE_CHECKING:
    from datever.schemas import Schemas

__all__ = ["MAX_DEPTH", "Engine"]


class Engine:
    """Migrates payloads of one timeline between its versions.

    >>> engine = Engine.from_directory("changes")          # doctest: +SKIP
    >>> version = engine.resolve("2021-06-07")              # doctest: +SKIP
    >>> engine.down_json(b'{"object": "charge", ...}', version)  # doctest: +SKIP
    """

    def __init__(self, timeline: Timeline, *, discriminator: str = "object",
                 schemas: Schemas | None = None) -> None:
        self.timeline = timeline
        self.discriminator = discriminator
        #: the head shapes: pipelines compiled with them walk only where resources can
        #: occur (set before the first pipeline is compiled)
        self.schemas = schemas
        self._decoder = msgspec.json.Decoder()
        self._encoder = msgspec.json.Encoder()
        self._pipelines: dict[tuple[str, str], Pipeline] = {}
        self._lock = threading.Lock()
        # the last Version object asked for down and its pipeline: a service passing the same
        # resolved Version on every call skips the lookup (one entry: never grows)
        self._last_down: tuple[Version | None, Pipeline | None] = (None, None)

    @classmethod
    def from_directory(cls, directory: str | Path = "changes", *, name: str = "default",
                       initial: str = "v1", discriminator: str = "object",
                       versions: Sequence[str] | None = None,
                       aliases: Mapping[str, str] | None = None,
                       preview_access: Callable[[str | None, Version], bool] | None = None,
                       schemas: Schemas | None = None) -> Engine:
        """Load and validate a changes directory and its resource declarations (see
        :func:`load_changes`).

        ``schemas`` are the head shapes; the other keyword arguments are those of
        :class:`Timeline`.
        """
        timeline = Timeline(load_changes(directory), name=name, initial=initial,
                            versions=versions, aliases=aliases, preview_access=preview_access,
                            resources=load_resources(directory))
        return cls(timeline, discriminator=discriminator, schemas=schemas)

    # -- versions and pipelines -----------------------------------------------

    def resolve(self, version: str, *, today: dt.date | None = None) -> Version:
        """Resolve a version string (``2021-06-07``, ``X``, ``v1``) on this timeline."""
        return self.timeline.resolve(version, today=today)

    def _version(self, version: Version | str) -> Version:
        return version if isinstance(version, Version) else self.resolve(version)

    def pipeline(self, version: Version | str, direction: Direction) -> Pipeline:
        """The compiled pipeline of ``version`` in ``direction`` (``"down"`` or ``"up"``).

        Pipelines are cached: versions that resolve to one release share one.
        """
        if direction not in ("down", "up"):
            raise ValueError(f"direction is 'down' or 'up', not {direction!r}")
        resolved = self._version(version)
        key = (resolved.key, direction)
        pipeline = self._pipelines.get(key)
        if pipeline is None:
            with self._lock:
                pipeline = self._pipelines.get(key)
                if pipeline is None:
                    pipeline = Pipeline(resolved.name, direction, resolved.pending,
                                        discriminator=self.discriminator,
                                        timeline=self.timeline.name,
                                        opaque=self.timeline.resources.opaque,
                                        schemas=self.schemas)
                    self._pipelines[key] = pipeline
        return pipeline

    # -- bytes in, bytes out --------------------------------------------------

    def down_json(self, data: bytes, version: Version | str, *,
                  resource: str | None = None) -> bytes:
        """Migrate a head-shaped JSON response down to ``version``.

        Resources are found by their discriminator at any depth; ``resource``
        names the root's type when it has none. Returns ``data`` itself when
        nothing in it needs migrating (then it is neither decoded nor checked).
        """
        last, pipeline = self._last_down
        if last is not version or pipeline is None:
            pipeline = self.pipeline(version, "down")
            if isinstance(version, Version):
                self._last_down = (version, pipeline)
        if not pipeline.passes:
            return data
        if resource is None:
            # is_flat inlined: on a small payload every call shows
            if pipeline.flat_functions and type(data) is bytes \
                    and data.find(b"{", 1) < 0 and data.find(b"[") < 0:
                return self._down_flat(pipeline, data)
            try:
                if not pipeline.might_touch(data):
                    return data
            except TypeError as exc:
                raise self._not_bytes(pipeline, data, resource) from exc
        return self._run_json(pipeline, data, resource)

    def _down_flat(self, pipeline: Pipeline, data: bytes) -> bytes:
        """``down_json`` of an object of scalars (small responses): decoded first, since only
        its own type matters, and scanned only when that type is not touched.

        The outcome is the scan-first path's in every case: a touched type's name is in
        the bytes (or spelled with an escape), so the scan would have said "walk".
        """
        try:
            payload = self._decoder.decode(data)
        except Exception:  # what the scan-first path makes of it: untouched, or its error
            payload = None
        if type(payload) is dict:
            name = payload.get(self.discriminator)
            function = pipeline.flat_functions.get(name) if type(name) is str else None
            if function is not None:
                try:
                    result = function(payload)
                except Exception as exc:
                    error = located(exc, str(name))
                    error.__cause__ = exc
                    result = _recovered(pipeline, error, None,
                                        lambda: self._decoder.decode(data))
                try:
                    return self._encoder.encode(result)
                except Exception:
                    return self._encode(pipeline, result, None)  # raises the located error
        if not pipeline.might_touch(data):
            return data
        return self._run_json(pipeline, data, None)

    def up_json(self, data: bytes, version: Version | str, *, resource: str) -> bytes:
        """Migrate a JSON request body for ``resource`` (``charge.create``) up from ``version``."""
        pipeline = self.pipeline(version, "up")
        if pipeline.is_empty:
            return data
        return self._run_json(pipeline, data, resource)

    def _run_json(self, pipeline: Pipeline, data: bytes, resource: str | None) -> bytes:
        try:
            payload = self._decoder.decode(data)
        except msgspec.DecodeError as exc:
            raise _error(pipeline, f"invalid JSON: {exc}", resource, "invalid_json") from exc
        except RecursionError:
            raise _stamped(too_deep(resource), pipeline) from None
        except TypeError as exc:
            raise self._not_bytes(pipeline, data, resource) from exc
        walk = pipeline.walk
        if pipeline.walk_flat is not None and type(payload) is dict and type(data) is bytes \
                and is_flat(data):
            walk = pipeline.walk_flat  # a small flat object: no value needs looking at
        try:
            result = walk(payload, resource)
        except Exception as exc:
            result = _recovered(pipeline, exc, resource, lambda: self._decoder.decode(data))
        return self._encode(pipeline, result, resource)

    def _encode(self, pipeline: Pipeline, result: Any, resource: str | None) -> bytes:
        try:
            return self._encoder.encode(result)
        except Exception as exc:  # a value JSON cannot hold: an int past 4300 digits, a set key
            raise _error(pipeline, f"the migrated payload cannot be encoded as JSON: "
                         f"{type(exc).__name__}: {exc}", resource, "not_encodable") from exc

    @staticmethod
    def _not_bytes(pipeline: Pipeline, data: object, resource: str | None) -> MigrationError:
        return _error(pipeline, f"expected JSON bytes, got {type(data).__name__}", resource,
                      "not_json")

    def _run(self, pipeline: Pipeline, payload: Any, resource: str | None,
             original: Callable[[], Any]) -> Any:
        """Run ``pipeline`` on ``payload`` (a fresh object), or raise a located MigrationError.

        A failing transform is replayed by the reference interpreter on
        ``original()`` (a fresh copy of the input): when it fails elsewhere,
        its error is raised, so both always blame the same change and place.
        """
        try:
            return pipeline.walk(payload, resource)
        except Exception as exc:
            return _recovered(pipeline, exc, resource, original)

    # -- Python objects -------------------------------------------------------

    def down(self, payload: Any, version: Version | str, *, resource: str | None = None) -> Any:
        """Migrate a head-shaped response object down to ``version``; returns a new object.

        The argument is never modified; it is returned as is when nothing
        needs migrating.
        """
        pipeline = self.pipeline(version, "down")
        if pipeline.is_empty:
            return payload
        return self._run(pipeline, self._copy(pipeline, payload, resource), resource,
                         lambda: self._copy(pipeline, payload, resource))

    def up(self, payload: Any, version: Version | str, *, resource: str) -> Any:
        """Migrate a request object for ``resource`` up from ``version``; returns a new object."""
        pipeline = self.pipeline(version, "up")
        if pipeline.is_empty:
            return payload
        return self._run(pipeline, self._copy(pipeline, payload, resource), resource,
                         lambda: self._copy(pipeline, payload, resource))

    def _copy(self, pipeline: Pipeline, payload: Any, resource: str | None) -> Any:
        """A fresh copy of ``payload`` as JSON data (what its bytes would decode to)."""
        try:
            return self._decoder.decode(self._encoder.encode(payload))
        except RecursionError:
            raise _stamped(too_deep(resource), pipeline) from None
        except Exception as exc:  # msgspec's TypeError, EncodeError, ValueError (huge ints)
            raise _error(pipeline, f"not a JSON value: {exc}", resource, "not_json") from exc

    def __repr__(self) -> str:
        return f"<Engine {self.timeline!r}, {len(self._pipelines)} pipelines cached>"


def _recovered(pipeline: Pipeline, exc: Exception, resource: str | None,
               original: Callable[[], Any]) -> Any:
    """After ``pipeline`` raised ``exc``: the reference interpreter's result, or the
    located MigrationError to raise (see :meth:`Engine._run`)."""
    if not isinstance(exc, MigrationError):  # not raised by a transform: a walk cut short
        raise _error(pipeline, f"{type(exc).__name__}: {exc}", resource,
                     "transform") from exc
    error: MigrationError | None = exc
    if exc.reason == "transform":
        error, result = _replayed(pipeline, original(), resource, exc)
        if error is None:
            return result
    assert error is not None
    raise _stamped(error, pipeline) from error.__cause__


def _error(pipeline: Pipeline, message: str, resource: str | None,
           reason: str) -> MigrationError:
    return MigrationError(message, resource=resource, reason=reason,
                          direction=pipeline.direction, version=pipeline.version)


def _stamped(error: MigrationError, pipeline: Pipeline) -> MigrationError:
    """``error``, now saying which way and which version the migration went."""
    error.direction = pipeline.direction
    error.version = pipeline.version
    return error


def _replayed(pipeline: Pipeline, original: Any, resource: str | None,
              compiled: MigrationError) -> tuple[MigrationError | None, Any]:
    """What the reference interpreter makes of ``original`` after a compiled failure:
    ``(error, None)``, or ``(None, result)`` when it succeeds.

    The compiled pipeline runs all of one resource's changes together, the
    interpreter one change over the whole payload at a time: with two faults
    in a payload they can meet different ones first, and a nested resource the
    compiled walk migrates first may be one an older change would have
    collapsed to its id before anything failed on it. The interpreter is the
    definition, so its outcome wins: its result when it succeeds, its error
    when it blames another place; the compiled error (whose traceback shows
    the generated line) is kept when they agree.
    """
    try:
        result = reference_run(original, pipeline.changes, pipeline.direction,
                               discriminator=pipeline.discriminator, resource=resource)
    except MigrationError as reference:
        where = (reference.change, reference.resource, reference.path, reference.reason)
        if where != (compiled.change, compiled.resource, compiled.path, compiled.reason):
            return reference, None
        return compiled, None
    except Exception:  # the interpreter cannot do better than the compiled error
        return compiled, None
    return None, result
    return compiled
