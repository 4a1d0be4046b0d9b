"""The engine: resolve a version, compile and cache its pipelines, migrate payloads.

Bytes in and bytes out on the hot path (one msgspec Decoder and Encoder,
built once), Python objects in and out for convenience. The caller's object
is never modified, and a failed migration returns nothing half-done.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec

from datever.changes import Direction, load_changes, load_resources
from datever.errors import MigrationError
from datever.pipeline import Pipeline
from datever.versions import Timeline, Version

__all__ = ["Engine"]


class Engine:
    """Migrates payloads of one timeline between its versions.

    >>> engine = Engine.from_directory("changes")          # doctest: +SKIP
    >>> version = engine.resolve("2021-06-07")              # doctest: +SKIP
    >>> engine.down_json(b'{"object": "charge", ...}', version)  # doctest: +SKIP
    """

    def __init__(self, timeline: Timeline, *, discriminator: str = "object") -> None:
        self.timeline = timeline
        self.discriminator = discriminator
        self._decoder = msgspec.json.Decoder()
        self._encoder = msgspec.json.Encoder()
        self._pipelines: dict[tuple[str, str], Pipeline] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_directory(cls, directory: str | Path = "changes", *, name: str = "default",
                       initial: str = "v1", discriminator: str = "object",
                       versions: Sequence[str] | None = None,
                       aliases: Mapping[str, str] | None = None,
                       preview_access: Callable[[str | None, Version], bool] | None = None,
                       ) -> Engine:
        """Load and validate a changes directory and its resource declarations (see
        :func:`load_changes`).

        The keyword arguments are those of :class:`Timeline`.
        """
        timeline = Timeline(load_changes(directory), name=name, initial=initial,
                            versions=versions, aliases=aliases, preview_access=preview_access,
                            resources=load_resources(directory))
        return cls(timeline, discriminator=discriminator)

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
                                        opaque=self.timeline.resources.opaque)
                    self._pipelines[key] = pipeline
        return pipeline

    # -- bytes in, bytes out --------------------------------------------------

    def down_json(self, data: bytes, version: Version | str, *,
                  resource: str | None = None) -> bytes:
        """Migrate a head-shaped JSON response down to ``version``.

        Resources are found by their discriminator at any depth; ``resource``
        names the root's type when it has none. Returns ``data`` itself when
        nothing in it needs migrating.
        """
        pipeline = self.pipeline(version, "down")
        if pipeline.is_empty or (resource is None and not pipeline.might_touch(data)):
            return data
        return self._run_json(pipeline, data, resource)

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
            raise MigrationError(f"invalid JSON: {exc}", resource=resource) from exc
        return self._encoder.encode(self._run(pipeline, payload, resource))

    def _run(self, pipeline: Pipeline, payload: Any, resource: str | None) -> Any:
        try:
            return pipeline.run(payload, resource)
        except MigrationError as exc:
            where = "down to" if pipeline.direction == "down" else "up from"
            exc.message = f"{where} {pipeline.version}: {exc.message}"
            raise

    # -- Python objects -------------------------------------------------------

    def down(self, payload: Any, version: Version | str, *, resource: str | None = None) -> Any:
        """Migrate a head-shaped response object down to ``version``; returns a new object.

        The argument is never modified; it is returned as is when nothing
        needs migrating.
        """
        pipeline = self.pipeline(version, "down")
        if pipeline.is_empty:
            return payload
        return self._run(pipeline, self._copy(payload, resource), resource)

    def up(self, payload: Any, version: Version | str, *, resource: str) -> Any:
        """Migrate a request object for ``resource`` up from ``version``; returns a new object."""
        pipeline = self.pipeline(version, "up")
        if pipeline.is_empty:
            return payload
        return self._run(pipeline, self._copy(payload, resource), resource)

    def _copy(self, payload: Any, resource: str | None) -> Any:
        try:
            return self._decoder.decode(self._encoder.encode(payload))
        except (TypeError, msgspec.EncodeError) as exc:
            raise MigrationError(f"not a JSON value: {exc}", resource=resource) from exc

    def __repr__(self) -> str:
        return f"<Engine {self.timeline!r}, {len(self._pipelines)} pipelines cached>"
