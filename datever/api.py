"""The front door: one object that serves a changes directory over HTTP.

:class:`API` builds the engine, the version selector, the pin store, the
lifecycle, the routes and the per-request logic from one changes directory
and a few keywords, and wraps an ASGI or WSGI app in one call.
:class:`APIGroups` serves several of them, one per URL namespace (feature
groups). The parts stay available (``api.engine``, ``api.selector``...) and
importable from their modules for those who wire them by hand.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from datever.engine import Engine
from datever.lifecycle import Lifecycle, ReleaseLifecycle
from datever.pins import Pin
from datever.pins_async import AnyPinStore, PinCache
from datever.pins_sql import SQLitePinStore
from datever.schemas import Schemas, VersionSchema
from datever.selection import VersionSelector
from datever.validation import ShapeChecks
from datever.versions import Timeline, Version
from datever.web.groups import GroupedVersioning
from datever.web.routing import Routes, RouteValue
from datever.web.versioning import DEFAULT_MAX_BODY, Versioning
from datever.webhooks import Rendered, render_event, render_for_account

if TYPE_CHECKING:
    from datever.web.asgi import ASGIApp, Scope, VersioningMiddleware
    from datever.web.wsgi import VersioningWSGIMiddleware, WSGIApplication, WSGIEnvironment

__all__ = ["API", "APIGroups"]

RoutesLike = Routes | Mapping[str, RouteValue]
"""A :class:`Routes`, or a mapping of ``"METHOD /template"`` to the request resource or
to ``(request, response)`` (see :meth:`Routes.from_mapping`)."""


class _Serving:
    """``asgi`` and ``wsgi``: an app wrapped in the middleware of ``self.versioning``."""

    versioning: Versioning | GroupedVersioning

    def asgi(self, app: ASGIApp, *, account: Callable[[Scope], str | None] | None = None,
             client_pin: Callable[[Scope], str | None] | None = None
             ) -> VersioningMiddleware:
        """``app`` (Starlette, FastAPI, Litestar...) served at each client's version.

        ``account(scope)`` names the request's account (pinned on its first
        request); ``client_pin(scope)`` a version configured for the client.
        """
        from datever.web.asgi import VersioningMiddleware

        return VersioningMiddleware(app, self.versioning, account=account,
                                    client_pin=client_pin)

    def wsgi(self, app: WSGIApplication, *,
             account: Callable[[WSGIEnvironment], str | None] | None = None,
             client_pin: Callable[[WSGIEnvironment], str | None] | None = None
             ) -> VersioningWSGIMiddleware:
        """``app`` (Flask, Django...) served at each client's version; see :meth:`asgi`."""
        from datever.web.wsgi import VersioningWSGIMiddleware

        return VersioningWSGIMiddleware(app, self.versioning, account=account,
                                        client_pin=client_pin)


class API(_Serving):
    """A versioned API: its changes directory, how clients name versions, and its HTTP shell.

    >>> api = API("changes", routes={"POST /charges": "charge.create"},
    ...           pins="pins.sqlite3")                             # doctest: +SKIP
    >>> app = api.asgi(starlette_app)                             # doctest: +SKIP

    ``changes`` is the changes directory (or a :class:`Timeline`).
    ``routes`` names each endpoint's request resource and, for the OpenAPI
    documents (:meth:`openapi`), its response resource: a :class:`Routes` or
    a mapping such as ``{"POST /charges": ("charge.create", "charge"),
    "GET /charges/{id}": (None, "charge")}`` (a string value names the
    request resource alone); bodies of endpoints with no request resource
    are never migrated up. ``pins`` is a pin store (sync
    :class:`~datever.pins.PinStore`, async
    :class:`~datever.pins_async.AsyncPinStore`, or both), a
    ``postgresql://`` URL for a :class:`~datever.pins_pg.PostgresPinStore`,
    or a path for a SQLite store (both ordered by this timeline); without
    one, accounts are not pinned. Pins are cached in the process for
    ``pin_ttl`` seconds (a :class:`~datever.pins_async.PinCache`; 0: not
    cached), so a change made by another process shows within that time.
    ``lifecycle`` is a :class:`~datever.lifecycle.Lifecycle`, or a mapping of
    version names to :class:`ReleaseLifecycle` (then ``changelog_url`` is
    required). ``default`` is what a request naming no version gets:
    ``"initial"`` (``v1``, with a warning, as Sanity does) or ``"newest"``.
    Clients name versions in the ``/v2021-06-07/`` path prefix (``path``),
    the ``header`` or the ``query`` parameter (None turns one off).
    ``max_body`` caps the request bodies the middleware reads (413 past it).
    ``clock`` gives today's UTC date (tests and reproducible examples fix
    it). ``schemas`` declares the head shapes (:class:`~datever.Schemas`;
    by default those of the changes directory's ``schemas.py``, if any): every
    change is checked against them, :meth:`schema` gives each version's, and
    every JSON request body for a route's resource is validated against its
    shape at the client's version (a 400 names the property as that client
    knows it). ``check_responses=True`` also checks every JSON response
    against its version's shapes, answering a misfit with a logged 500 (off
    by default; :meth:`check_response` does the same check in tests).
    The remaining keywords are those of :class:`Timeline`.
    """

    def __init__(self, changes: str | os.PathLike[str] | Timeline = "changes", *,
                 routes: RoutesLike | None = None,
                 pins: AnyPinStore | str | os.PathLike[str] | None = None,
                 pin_ttl: float = 5.0,
                 lifecycle: Lifecycle | Mapping[str, ReleaseLifecycle] | None = None,
                 changelog_url: str | None = None,
                 default: Literal["initial", "newest"] = "initial",
                 path: bool = True, header: str | None = "X-API-Version",
                 query: str | None = "api-version",
                 warning_header: str = "X-API-Warning",
                 max_body: int = DEFAULT_MAX_BODY,
                 clock: Callable[[], dt.date] | None = None,
                 name: str = "default", initial: str = "v1",
                 versions: Sequence[str] | None = None,
                 aliases: Mapping[str, str] | None = None,
                 preview_access: Callable[[str | None, Version], bool] | None = None,
                 discriminator: str = "object", schemas: Schemas | None = None,
                 check_responses: bool = False) -> None:
        if isinstance(changes, Timeline):
            self.engine = Engine(changes, discriminator=discriminator)
        else:
            self.engine = Engine.from_directory(
                Path(changes), name=name, initial=initial, versions=versions, aliases=aliases,
                preview_access=preview_access, discriminator=discriminator)
        timeline = self.engine.timeline
        #: the head shapes, from which every version's are derived (None: none declared)
        self.schemas = _schemas(schemas, changes, timeline, discriminator)
        self.engine.schemas = self.schemas
        store = _pin_store(pins, timeline)
        #: the pin store behind its per-process cache (None: accounts are not pinned)
        self.pins = PinCache(store, ttl=pin_ttl) if store is not None else None
        #: finds each request's version: explicit, client pin, account pin, default
        self.selector = VersionSelector(timeline, path=path, header=header, query=query,
                                        pins=self.pins, default=default)
        #: the releases' deprecation and sunset, and the HTTP signals (None: none set)
        self.lifecycle = _lifecycle(lifecycle, changelog_url, timeline,
                                    header or "X-API-Version", warning_header)
        #: each endpoint's request resource
        self.routes = _routes(routes)
        _check_routes(self.routes, timeline)
        #: the per-request logic the middlewares share
        self.versioning: Versioning = Versioning(
            self.engine, self.selector, lifecycle=self.lifecycle, routes=self.routes,
            clock=clock, max_body=max_body, warning_header=warning_header,
            schemas=self.schemas, check_responses=check_responses)

    @property
    def timeline(self) -> Timeline:
        """The timeline of releases and changes."""
        return self.engine.timeline

    # -- versions and payloads -------------------------------------------------

    def resolve(self, version: str, *, today: dt.date | None = None) -> Version:
        """Resolve a version string (``2021-06-07``, ``X``, ``v1``)."""
        return self.engine.resolve(version, today=today)

    def schema(self, version: Version | str, *, today: dt.date | None = None) -> VersionSchema:
        """The shapes of every resource at ``version``: msgspec Struct types and JSON Schema."""
        if self.schemas is None:
            raise _no_schemas()
        return self.schemas.at(self._at(version, today))

    def validate_request(self, body: Any, version: Version | str, *, resource: str,
                         today: dt.date | None = None) -> None:
        """Check a ``resource`` request body (JSON bytes or data) written at ``version``
        against that version's shape, as the middleware does before migrating it up.

        Raises :class:`~datever.MigrationError` (reason ``"invalid"``, the path
        and message in that version's property names) when it does not fit.
        """
        self._checks().request(body, self._at(version, today), resource)

    def check_response(self, payload: Any, version: Version | str, *,
                       resource: str | None = None, today: dt.date | None = None) -> None:
        """Check a response (JSON bytes or data) rendered at ``version`` against that
        version's shapes; raises :class:`~datever.MigrationError` when it does not fit.

        The root is checked when it names a resource by the discriminator, or
        when ``resource`` names its shape; anything else passes unchecked.
        """
        self._checks().response(payload, self._at(version, today), resource=resource)

    def _checks(self) -> ShapeChecks:
        if self.versioning.checks is None:
            raise _no_schemas()
        return self.versioning.checks

    def _at(self, version: Version | str, today: dt.date | None) -> Version:
        return version if isinstance(version, Version) else self.resolve(version, today=today)

    def openapi(self, version: Version | str, *, today: dt.date | None = None,
                title: str | None = None, base_url: str = "") -> dict[str, Any]:
        """The OpenAPI 3.1 document of ``version``: its paths, shapes and lifecycle
        (see :func:`datever.openapi.openapi`)."""
        from datever.openapi import openapi

        return openapi(self, version, today=today, title=title, base_url=base_url)

    def render_event(self, payload: Mapping[str, Any] | Sequence[Any] | bytes,
                     version: Version | str) -> Rendered:
        """A webhook event or stored payload rendered at ``version``."""
        return render_event(self.engine, payload, version)

    def render_for_account(self, account: str,
                           payload: Mapping[str, Any] | Sequence[Any] | bytes) -> Rendered:
        """A payload rendered at ``account``'s pin; an account with none gets the newest
        release (what its first request would pin it to). Rendering never pins."""
        if self.pins is None:
            raise ValueError("render_for_account needs a pin store: API(..., pins=...)")
        return render_for_account(self.engine, self.pins, account, payload)

    def upgrade(self, account: str, version: str, *, today: dt.date | None = None) -> Pin:
        """Move ``account``'s pin forward to ``version``."""
        return self.selector.upgrade(account, version, today=today)

    def rollback(self, account: str) -> Pin:
        """Undo ``account``'s last upgrade, within 72 hours of it."""
        return self.selector.rollback(account)

    def __repr__(self) -> str:
        return (f"<API {self.timeline.name!r}: {len(self.timeline.versions)} releases, "
                f"{len(self.routes)} routes, pins {'on' if self.pins else 'off'}>")


class APIGroups(_Serving, Mapping[str, API]):
    """Several APIs in one service, each under its URL namespace (Climatiq's feature groups).

    >>> groups = APIGroups({"compute": API("compute_changes"),
    ...                     "data": API("data_changes")})           # doctest: +SKIP
    >>> app = groups.asgi(app)                                      # doctest: +SKIP

    ``/compute/v2-preview1/estimate`` is served by the ``compute`` API at
    ``v2-preview1``; the app sees ``/compute/estimate``. Each API's routes
    and endpoint changes are written without the namespace (``/estimate``).
    Paths outside every namespace pass through unversioned. The APIs must
    read versions from the same header and query parameter.
    """

    def __init__(self, groups: Mapping[str, API]) -> None:
        for api in groups.values():
            if not isinstance(api, API):
                raise TypeError(f"APIGroups maps namespaces to API objects, got {api!r}")
        self._groups = dict(groups)
        #: the per-request logic of every group, keyed by namespace
        self.versioning = GroupedVersioning(
            {name: api.versioning for name, api in self._groups.items()})

    def __getitem__(self, name: str) -> API:
        return self._groups[name]

    def openapi(self, group: str, version: Version | str, *, today: dt.date | None = None,
                title: str | None = None, base_url: str = "") -> dict[str, Any]:
        """The OpenAPI 3.1 document of the ``group`` namespace at ``version``: that API's
        document with its paths under ``/<group>`` (see
        :func:`datever.openapi.group_openapi`)."""
        from datever.openapi import group_openapi

        return group_openapi(self, group, version, today=today, title=title,
                             base_url=base_url)

    def __iter__(self) -> Iterator[str]:
        return iter(self._groups)

    def __len__(self) -> int:
        return len(self._groups)

    def __repr__(self) -> str:
        return f"<APIGroups {', '.join(self._groups)}>"


def _pin_store(pins: AnyPinStore | str | os.PathLike[str] | None,
               timeline: Timeline) -> AnyPinStore | None:
    """The store ``pins`` names: itself, PostgreSQL for a URL, SQLite for a path."""
    if pins is None or not isinstance(pins, str | os.PathLike):
        return pins
    if isinstance(pins, str) and pins.startswith(("postgresql://", "postgres://")):
        from datever.pins_pg import PostgresPinStore

        return PostgresPinStore(pins, order=timeline.version_order)
    return SQLitePinStore(pins, order=timeline.version_order)


def _no_schemas() -> ValueError:
    return ValueError("no head shapes declared: give API(..., schemas=Schemas(...)) or "
                      "write them in the changes directory's schemas.py")


def _routes(routes: RoutesLike | None) -> Routes:
    if routes is None or isinstance(routes, Routes):
        return routes if routes is not None else Routes()
    if not isinstance(routes, Mapping):
        raise TypeError("routes is a Routes or a mapping such as "
                        "{'POST /charges': ('charge.create', 'charge')}")
    return Routes.from_mapping(routes)


def _check_routes(routes: Routes, timeline: Timeline) -> None:
    """With declared resources, every route names a declared request body and response
    resource: a typo would otherwise leave that endpoint's bodies unmigrated, or its
    OpenAPI answers unshaped, silently."""
    declared = timeline.resources
    if not declared:
        return
    for route in routes.declared:
        for side, resource in (("request", route.request), ("response", route.response)):
            if resource is None or (declared.side(resource) == side and resource in declared):
                continue
            closest = declared.closest(resource)
            what = (f"is declared as a {'response' if side == 'request' else 'request'} "
                    "resource" if resource in declared else "is not declared")
            hint = f" (did you mean {closest!r}?)" if closest and closest != resource else ""
            names = "request body" if side == "request" else "response resource"
            raise ValueError(f"route {route.method} {route.template}: {resource!r} {what}; a "
                             f"route names a {names} declared in "
                             f"{declared.file or 'the resources'}{hint}")


def _schemas(schemas: Schemas | None, changes: str | os.PathLike[str] | Timeline,
             timeline: Timeline, discriminator: str) -> Schemas | None:
    """The given head shapes, checked against the timeline, or the directory's own
    (``load_changes`` checked those already)."""
    if schemas is None:
        if isinstance(changes, Timeline):
            return None
        from datever.changes import load_schemas

        return load_schemas(Path(changes))
    if not isinstance(schemas, Schemas):
        raise TypeError(f"schemas is a datever.Schemas, got {schemas!r}")
    if schemas.discriminator != discriminator:
        raise ValueError(f"the schemas find resources by {schemas.discriminator!r}, the API by "
                         f"{discriminator!r}: give both the same discriminator")
    schemas.check(timeline.changes)
    return schemas


def _lifecycle(lifecycle: Lifecycle | Mapping[str, ReleaseLifecycle] | None,
               changelog_url: str | None, timeline: Timeline, version_header: str,
               warning_header: str) -> Lifecycle | None:
    if lifecycle is None or isinstance(lifecycle, Lifecycle):
        if lifecycle is not None and changelog_url is not None:
            raise ValueError("changelog_url goes into the Lifecycle you built; "
                             "give it there, not to API()")
        return lifecycle
    if changelog_url is None:
        raise ValueError("a lifecycle needs changelog_url=: the Deprecation and Sunset "
                         "headers link to it")
    return Lifecycle(lifecycle, changelog_url=changelog_url, order=timeline.versions,
                     version_header=version_header, warning_header=warning_header)
