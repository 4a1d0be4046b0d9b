"""What every HTTP integration decides per request, with no web framework in sight.

:class:`Versioning` selects and checks a request's version and says whether to
answer at once (400, 403, 404, 410) or go on, with which headers, which path
and whether bodies need migrating. Routes and the endpoint changes pending for
a version come from :mod:`datever.web.routing`. The ASGI and WSGI middlewares are
thin shells around it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import msgspec

from datever.endpoints import (
    EndpointRequest,
)
from datever.engine import Engine
from datever.errors import AccessError, MigrationError, VersionError
from datever.lifecycle import Lifecycle, Signals
from datever.pipeline import MAX_DEPTH
from datever.selection import AccountPin, Source, VersionSelector
from datever.validation import ShapeChecks
from datever.versions import Version
from datever.web.routing import EndpointRule, EndpointRules, Removed, ResponseUndo, Routes

if TYPE_CHECKING:
    from datever.schemas import Schemas

__all__ = ["EndpointRules", "Proceed", "Removed", "Reply", "ResponseUndo", "Routes",
           "Versioning", "is_json"]

_logger = logging.getLogger("datever")

Headers = tuple[tuple[str, str], ...]
"""HTTP headers as (name, value) pairs; a name may repeat."""
RawHeaders = tuple[tuple[bytes, bytes], ...]
"""The same as ASGI sends them: lower-case names, latin-1 bytes."""

_ENCODER = msgspec.json.Encoder()
_JSON = ("Content-Type", "application/json")
_VERSION_HEADER = "X-API-Version"
_WARNING_HEADER = "X-API-Warning"
_PLAIN_JSON = frozenset((b"application/json", "application/json",
                         b"application/json; charset=utf-8", "application/json; charset=utf-8"))
_DECODER = msgspec.json.Decoder()


def is_json(content_type: str | bytes | None) -> bool:
    """True for ``application/json`` and ``application/*+json``, parameters ignored."""
    if not content_type:
        return False
    if content_type in _PLAIN_JSON:  # the common case, without parsing
        return True
    if isinstance(content_type, bytes):
        content_type = content_type.decode("latin-1")
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/")
                                           and media.endswith("+json"))


def _printable(text: str) -> str:
    """Printable ASCII only, so that no CR or LF can split a header."""
    return "".join(c if " " <= c <= "~" else "?" for c in text)


# -- decisions ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reply:
    """Answer the request at once with this status, headers and JSON body; do not serve it."""

    status: int
    headers: Headers
    body: bytes

    @property
    def raw_headers(self) -> RawHeaders:
        """The headers as ASGI wants them: lower-case latin-1 bytes, Content-Length included."""
        return (*((name.lower().encode("latin-1"), value.encode("latin-1"))
                  for name, value in self.headers),
                (b"content-length", str(len(self.body)).encode("latin-1")))


@dataclass(frozen=True, slots=True)
class _Plan:
    """Everything about a request that depends only on its version, its day and defaulting."""

    headers: Headers
    raw_headers: RawHeaders
    #: the same, with Vary naming the version header (the version did not come from the path)
    vary_headers: Headers
    vary_raw: RawHeaders
    up: bool
    down: bool
    removed: Reply | None
    endpoints: EndpointRules | None
    #: the request resources the up pipeline has steps for
    up_resources: frozenset[str | None]


@dataclass(slots=True)
class Proceed:
    """Serve the request: at ``path`` (without the version prefix), adding ``headers``.

    ``prefix`` is the removed path prefix (``/v2021-06-07``, or ``""``);
    ``resource`` is the route's request resource (None: no route, bodies
    are not migrated up); ``migrate_request`` is True when a JSON body for
    ``resource`` must be read, to be checked against its shape or migrated
    up (:meth:`Versioning.up_request` does both), ``migrate_response`` when
    JSON responses must be migrated down or checked
    (:meth:`Versioning.down_response`). ``raw_headers`` are ``headers`` as
    lower-case latin-1 bytes. Treat it as read-only.

    When HTTP-level changes are pending for the version: ``moved`` is True
    when the path was rewritten (a renamed endpoint; ``path`` is the new one),
    ``query_string`` is the rewritten query string (None: unchanged),
    ``removed`` names a removed endpoint to serve with
    :meth:`Versioning.serve_removed` instead of the app, and ``undo`` says
    what to undo on the response (status, error format).

    ``strict_body`` is True when the route's resource has up steps at this
    version: a body that cannot be read as JSON (another media type, a
    content coding) must then be refused with :meth:`Versioning.unsupported`
    rather than reach head code unmigrated. ``owner`` is the
    :class:`Versioning` that decided, whose methods handle the bodies.
    """

    version: Version
    path: str
    prefix: str
    source: Source
    resource: str | None
    headers: Headers
    raw_headers: RawHeaders
    migrate_request: bool
    migrate_response: bool
    query_string: str | None = None
    moved: bool = False
    removed: Removed | None = None
    undo: ResponseUndo | None = None
    strict_body: bool = False
    owner: Versioning | None = None


#: The default cap on request bodies the middleware reads: 1 MiB, nginx's
#: default ``client_max_body_size``. A bigger body is answered 413.
DEFAULT_MAX_BODY = 1024 * 1024


class Versioning:
    """Per-request version logic shared by the ASGI and WSGI middlewares.

    Built from the ``engine``, the ``selector`` that finds a request's
    version (by default one on the engine's timeline with its defaults), an
    optional ``lifecycle`` (its signals give the headers and the 400/403/410
    answers; without one the version is echoed in ``X-API-Version`` and
    warnings go in ``X-API-Warning``) and the ``routes`` naming request
    resources (without them, request bodies are never migrated). ``clock``
    gives today's UTC date (default: the system clock); tests and
    reproducible examples pass a fixed one. ``max_body`` caps, in bytes, the
    request bodies the middlewares read (to migrate them up, or for a removed
    endpoint's handler): a bigger one is answered 413 unread.
    With ``schemas`` (the head shapes), a JSON request body for a route's
    resource is checked against that resource's shape at the client's
    version before it goes up, at every version (400 naming the property as
    the client knows it); ``check_responses=True`` also checks every JSON
    response against its version's shapes after it is migrated down, and
    answers a misfit with a logged 500 (off by default: it decodes every
    response). Responses whose version could come from the version header carry
    ``Vary`` naming it, so that caches keep one copy per version.
    """

    def __init__(self, engine: Engine, selector: VersionSelector | None = None, *,
                 lifecycle: Lifecycle | None = None, routes: Routes | None = None,
                 clock: Callable[[], dt.date] | None = None,
                 max_body: int = DEFAULT_MAX_BODY, warning_header: str | None = None,
                 schemas: Schemas | None = None, check_responses: bool = False) -> None:
        selector = selector if selector is not None else VersionSelector(engine.timeline)
        if selector.timeline is not engine.timeline:
            raise ValueError("the selector and the engine must share one timeline: build the "
                             "selector from engine.timeline")
        self.engine = engine
        self.selector = selector
        self.lifecycle = lifecycle
        self.routes = routes if routes is not None else Routes()
        self.version_header = lifecycle.version_header if lifecycle else _VERSION_HEADER
        self.warning_header = (lifecycle.warning_header if lifecycle
                               else warning_header or _WARNING_HEADER)
        if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 0:
            raise ValueError(f"max_body is a size in bytes (an int >= 0), not {max_body!r}")
        self.max_body = max_body
        if check_responses and schemas is None:
            raise ValueError("check_responses=True checks responses against the shapes: "
                             "give schemas= too")
        #: checks bodies against each version's shapes (None: no shapes declared)
        self.checks = ShapeChecks(schemas) if schemas is not None else None
        self.check_responses = check_responses
        named = (self.version_header if selector.header
                 and self.version_header.lower() == selector.header else selector.header)
        self._vary: Headers = (("Vary", named),) if named else ()
        self._vary_raw: RawHeaders = tuple((name.lower().encode("latin-1"),
                                            value.encode("latin-1")) for name, value in self._vary)
        self._plans: dict[tuple[Version, bool, dt.date], _Plan] = {}
        self._endpoints: dict[str, EndpointRules | None] = {}
        #: the decisions of requests naming no client, by everything they were decided from
        self._decided: dict[tuple[object, ...], Proceed] = {}
        self._day: tuple[int, dt.date] = (-1, dt.date.min)
        if clock is not None:
            self._today = clock  # type: ignore[method-assign]

    @property
    def header(self) -> str | None:
        """The lower-case request header clients may name their version in (None: off)."""
        return self.selector.header

    @property
    def query(self) -> str | None:
        """The query parameter clients may name their version in (None: off)."""
        return self.selector.query

    def _today(self) -> dt.date:
        """Today in UTC; the date object is made once a day, not once a request."""
        number = int(time.time()) // 86400
        if number != self._day[0]:
            self._day = (number, dt.datetime.now(dt.UTC).date())
        return self._day[1]

    def decide(self, method: str, path: str, headers: Mapping[str, str] | None = None,
               query: Mapping[str, str] | None = None, *, account: str | None = None,
               client_pin: str | None = None, today: dt.date | None = None,
               query_string: str | bytes | None = None,
               account_pin: AccountPin | None = None) -> Reply | Proceed:
        """Select the version of one request, check it, and say what to do.

        ``headers`` need only hold the selector's version header, ``query``
        only its query parameter. ``account`` is pinned on its first request
        (with a pin store) and is the client whose preview access is checked;
        ``account_pin`` is its pin when the caller looked it up already
        (``await versioning.selector.alookup(account)``, as the ASGI
        middleware does: the store is then not called here).
        ``query_string`` is the raw query, for renamed query parameters (and
        the query a removed endpoint's handler sees); without it none are renamed.
        A HEAD request follows the routes and endpoint changes declared for GET.
        A request naming no client (no ``account``, no ``client_pin``) that was
        decided before on the same day, with the same routes, gets the same
        Proceed object again: treat it as read-only.
        """
        day = today if today is not None else self._today()
        memo: tuple[object, ...] | None = None
        if account is None and client_pin is None and account_pin is None:
            # nothing names a client, so the same request on the same day is decided alike
            memo = (method, path, tuple(headers.items()) if headers else None,
                    tuple(query.items()) if query else None, query_string, day,
                    self.routes.revision)
            try:
                decided = self._decided.get(memo)
            except TypeError:  # a value that cannot be a key (a list of query values)
                memo = decided = None
            if decided is not None:
                return decided

        try:
            selection = self.selector.select(path, headers, query, account=account,
                                             client_pin=client_pin, today=day,
                                             account_pin=account_pin)
        except VersionError as exc:  # it may have come from the header: say so
            return _varying(self._invalid(exc), self._vary)
        version = selection.version
        try:
            self.engine.timeline.check_access(version, account)
        except AccessError as exc:
            forbidden = self._forbidden(version, str(exc))
            return forbidden if selection.source == "path" else _varying(forbidden, self._vary)
        key = (version, selection.defaulted, day)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) > 4096:
                self._plans.clear()
            plan = self._plans[key] = self._plan(version, day, selection.defaulted)
        if plan.removed is not None:
            return plan.removed if selection.source == "path" else _varying(plan.removed,
                                                                           self._vary)
        stripped = selection.path
        if selection.source == "path":
            prefix = path[:len(path) - len(stripped)]
            if not path.endswith(stripped):  # "/v2021-06-07" became "/"
                prefix = path
            headers_out, raw_out = plan.headers, plan.raw_headers
        else:
            prefix = ""
            headers_out, raw_out = plan.vary_headers, plan.vary_raw
        rules = plan.endpoints
        if method == "HEAD" and (rules is None or "HEAD" not in rules.methods):
            method = "GET"
        if rules is None:
            resource = self.routes.match(method, stripped)
            return self._remember(memo, Proceed(
                version, stripped, prefix, selection.source, resource, headers_out, raw_out,
                plan.up and resource is not None, plan.down,
                strict_body=resource in plan.up_resources, owner=self))
        walked = rules.walk(method, stripped, query_string)
        if walked.missing is not None:
            return self._missing(version, method, stripped, walked.missing, headers_out)
        resource = self.routes.match(method, walked.path)
        return self._remember(memo, Proceed(
            version, walked.path, prefix, selection.source, resource, headers_out, raw_out,
            plan.up and resource is not None, plan.down,
            query_string=walked.query if walked.requery and isinstance(
                walked.query, str) else None,
            moved=walked.moved, removed=walked.removed, undo=rules.undo(walked),
            strict_body=resource in plan.up_resources, owner=self))

    def _remember(self, memo: tuple[object, ...] | None, proceed: Proceed) -> Proceed:
        """``proceed``, kept under ``memo`` for the requests decided from the same inputs.

        A gated preview is not kept: its access check is the service's to answer
        each time.
        """
        if memo is not None and (proceed.version.channel != "preview"
                                 or self.engine.timeline.preview_access is None):
            if len(self._decided) > 4096:
                self._decided.clear()
            self._decided[memo] = proceed
        return proceed

    def _plan(self, version: Version, day: dt.date, defaulted: bool) -> _Plan:
        signals = (self.lifecycle.signals(version, day, defaulted=defaulted)
                   if self.lifecycle is not None else self._signals(version, defaulted))
        up = self.engine.pipeline(version, "up")
        down = not self.engine.pipeline(version, "down").is_empty
        raw = tuple((name.lower().encode("latin-1"), value.encode("latin-1"))
                    for name, value in signals.headers)
        removed = None
        if not signals.proceed:
            removed = Reply(signals.status, signals.headers, signals.body or b"")
        # with shapes every request body is read to be checked, at the head too
        return _Plan(signals.headers, raw, (*signals.headers, *self._vary),
                     (*raw, *self._vary_raw), not up.is_empty or self.checks is not None,
                     down or self.check_responses, removed,
                     self.endpoint_rules(version), frozenset(up.resources))

    def endpoint_rules(self, version: Version) -> EndpointRules | None:
        """The compiled HTTP-level changes pending for ``version`` (None: none), cached."""
        try:
            return self._endpoints[version.key]
        except KeyError:
            rules = self._endpoints[version.key] = EndpointRules.of(version)
            return rules

    def _missing(self, version: Version, method: str, path: str, rule: EndpointRule,
                 headers: Headers) -> Reply:
        """The 404 of an endpoint that ``version`` predates."""
        return _error(404, headers, {
            "type": "endpoint_not_found", "version": version.name,
            "message": f"{method} {path} does not exist in {version.name}; it was added "
                       f"in {rule.change.label}", "added_in": rule.change.label})
    def _signals(self, version: Version, defaulted: bool) -> Signals:
        """The minimal signals without a lifecycle: the version and its warnings."""
        headers = [(self.version_header, _printable(version.name))]
        if defaulted:
            headers.append((self.warning_header, f"no API version was requested, so "
                            f"{_printable(version.name)} was served; name one (e.g. in the "
                            f"{self.version_header} header)"))
        if version.warning:
            headers.append((self.warning_header, _printable(version.warning)))
        return Signals(200, tuple(headers))

    def _invalid(self, error: VersionError) -> Reply:
        if self.lifecycle is not None:
            signals = self.lifecycle.error_signals(error)
            return Reply(signals.status, signals.headers, signals.body or b"")
        message = str(error).removesuffix(f" (accepted forms: {error.accepted})")
        return _error(400, (), {"type": "invalid_version", "message": message,
                                "reason": error.reason, "requested": error.requested,
                                "accepted": error.accepted})

    def _forbidden(self, version: Version, reason: str) -> Reply:
        if self.lifecycle is not None:
            signals = self.lifecycle.forbidden_signals(version.name, reason)
            return Reply(signals.status, signals.headers, signals.body or b"")
        return _error(403, ((self.version_header, _printable(version.name)),), {
            "type": "version_forbidden", "version": version.name,
            "message": f"{version.name} is not available to this client: {reason}",
            "reason": reason})

    # -- bodies --------------------------------------------------------------

    def too_large(self, proceed: Proceed | None = None) -> Reply:
        """The 413 for a request body longer than ``max_body``."""
        headers = proceed.headers if proceed is not None else ()
        return _error(413, headers, {
            "type": "request_body_too_large", "limit": self.max_body,
            "message": f"the request body is longer than {self.max_body} bytes"})

    def unsupported(self, proceed: Proceed, content_type: str | None,
                    content_encoding: str | None) -> Reply:
        """The 415 for a body that must be migrated up but cannot be read as JSON."""
        if content_encoding and content_encoding.strip().lower() not in ("", "identity"):
            why = f"is content-encoded ({_printable(content_encoding.strip())})"
        else:
            why = f"is {_printable(content_type) if content_type else 'of no declared type'}"
        return _error(415, (*proceed.headers, ("Accept", "application/json")), {
            "type": "unsupported_request_body", "version": proceed.version.name,
            "resource": proceed.resource,
            "message": f"the request body {why}; at {proceed.version.name} it must be "
                       "uncompressed JSON (Content-Type: application/json) to be "
                       "migrated to the current API"})

    def up_request(self, proceed: Proceed, body: bytes) -> bytes | Reply:
        """The request ``body`` migrated up to the head, or a 400 Reply when it cannot be.

        With shapes, the body is first checked against its resource's shape at
        the client's version. An empty body is returned as is; so is one the up
        pipeline cannot touch.
        """
        resource = proceed.resource
        if resource is None or not body or body.isspace():
            return body
        if self.checks is not None:
            try:
                self.checks.request(body, proceed.version, resource)
            except MigrationError as exc:
                return self._rejected(proceed, resource, exc)
        if not proceed.strict_body:  # with steps for the resource itself it goes up anyway
            pipeline = self.engine.pipeline(proceed.version, "up")
            if pipeline.is_empty or (not any(resource in table for table in pipeline.passes)
                                     and not pipeline.might_touch(body)):
                return body
        try:
            return self.engine.up_json(body, proceed.version, resource=resource)
        except MigrationError as exc:
            return self._rejected(proceed, resource, exc)

    def _rejected(self, proceed: Proceed, resource: str, exc: MigrationError) -> Reply:
        """The 400 for a request body its shape or the up pipeline refused, said in the
        client's terms."""
        version = proceed.version.name
        if exc.reason == "invalid_json":
            message = "the request body is not valid JSON: " + exc.message.removeprefix(
                "invalid JSON: ")
        elif exc.reason == "too_deep":
            message = (f"the request body nests objects and arrays deeper than {MAX_DEPTH} "
                       "levels")
        else:
            message = (f"the request body does not fit {resource} at {version}: "
                       f"{exc.message} (at {exc.json_path})")
        return _error(400, proceed.headers, {
            "type": "invalid_request_body", "reason": exc.reason, "message": message,
            "version": version, "resource": resource, "path": exc.json_path,
            "change": exc.change})

    def down_response(self, proceed: Proceed, body: bytes) -> bytes | Reply:
        """The JSON response ``body`` migrated down to the client's version.

        A head response that the transforms cannot handle is a bug of the
        service, not of the client: it is logged, and answered with a 500
        whose body names no internals. So is, with ``check_responses``, a
        response that does not fit its version's shapes once migrated.
        """
        if not body:
            return body
        try:
            migrated = self.engine.down_json(body, proceed.version)
            if self.check_responses and self.checks is not None:
                self.checks.response(migrated, proceed.version)
            return migrated
        except MigrationError as exc:
            _logger.exception("a response does not fit the shapes of %s" if exc.reason
                              == "invalid" else "datever could not migrate a response down "
                              "to %s", proceed.version.name)
            return _error(500, proceed.headers, {
                "type": "response_migration_failed",
                "message": f"the response could not be rendered at {proceed.version.name}",
                "version": proceed.version.name})

    def serve_removed(self, proceed: Proceed, body: bytes) -> Reply:
        """Answer a request for a removed endpoint through its change's handler.

        The handler gets the request body as decoded JSON (None when empty)
        and its ``(status, body)`` is sent as is, with the version's headers.
        A body that is not JSON is a 400; a failing handler a logged 500.
        """
        removed = proceed.removed
        if removed is None:
            raise ValueError("serve_removed() is for a Proceed whose removed is set")
        decoded: Any = None
        if body and not body.isspace():
            try:
                decoded = _DECODER.decode(body)
            except msgspec.DecodeError as exc:
                return _error(400, proceed.headers, {
                    "type": "invalid_request_body", "version": proceed.version.name,
                    "message": f"the request body is not valid JSON: {exc}"})
        query = dict(parse_qsl(removed.query, keep_blank_values=True)) if removed.query else {}
        request = EndpointRequest(removed.method, removed.path, removed.params,
                                  query, decoded, proceed.version)
        try:
            status, answer = removed.handler(request)
            if not isinstance(status, int) or not 100 <= status <= 599:
                raise TypeError(f"the handler returned status {status!r}, not an HTTP status")
            encoded = _ENCODER.encode(answer)
        except Exception:
            _logger.exception("the handler of a removed endpoint (%s) failed at %s",
                              removed.change.id or removed.change.label, proceed.version.name)
            return _error(500, proceed.headers, {
                "type": "removed_endpoint_failed", "version": proceed.version.name,
                "message": f"the endpoint could not be served at {proceed.version.name}"})
        return Reply(status, (*proceed.headers, _JSON), encoded)

    def undo_error(self, proceed: Proceed, body: bytes) -> bytes | Reply:
        """A head JSON error ``body`` in the error format of the client's version.

        A body the ``down`` callables cannot convert is logged and answered with
        a 500 whose Reply carries only its Content-Type (the caller adds the
        version's headers, as for any response).
        """
        undo = proceed.undo
        if undo is None or not undo.errors or not body:
            return body
        try:
            return _ENCODER.encode(undo.error_body(_DECODER.decode(body)))
        except Exception:
            _logger.exception("datever could not convert an error body down to %s",
                              proceed.version.name)
            return _error(500, (), {
                "type": "response_migration_failed", "version": proceed.version.name,
                "message": f"the error could not be rendered at {proceed.version.name}"})

    def __repr__(self) -> str:
        return (f"<Versioning {self.engine.timeline.name!r}, {len(self.routes)} routes, "
                f"lifecycle {'on' if self.lifecycle else 'off'}>")


def _varying(reply: Reply, vary: Headers) -> Reply:
    """``reply`` with ``vary`` added to its headers."""
    return Reply(reply.status, (*reply.headers, *vary), reply.body) if vary else reply


def _error(status: int, headers: Headers, error: dict[str, object]) -> Reply:
    return Reply(status, (*headers, _JSON), _ENCODER.encode({"error": error}))
