"""WSGI middleware: serve every request of a WSGI app (Flask, Django) at its client's version.

Most simply through the front door (``app.wsgi_app = API("changes").wsgi(app.wsgi_app)``),
or by hand::

    app.wsgi_app = VersioningWSGIMiddleware(app.wsgi_app, Versioning(engine, selector,
                                                                       routes=routes))

Same behaviour as the ASGI middleware: ``PATH_INFO`` loses its version
prefix, 400/403/410 are answered here, JSON request bodies are migrated up
(``wsgi.input`` and ``CONTENT_LENGTH`` replaced), JSON responses are collected
and migrated down when the version needs it, and every response carries the
lifecycle headers. The app iterable's ``close()`` is always called.
HTTP-level changes pending for the version are applied as in ASGI: renamed
endpoints and query parameters rewrite ``PATH_INFO`` and ``QUERY_STRING``
(and ``REQUEST_URI``/``RAW_URI``), an endpoint the version predates is a 404,
a removed one is served by its change's handler, and 2xx statuses and 4xx/5xx
JSON error bodies are turned back into the old ones.

One difference from ASGI: WSGI does not say whether a body is streamed, so a
JSON response is collected whenever its version needs migrating; stream
``application/x-ndjson`` or ``text/event-stream``, which pass untouched.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from datever.context import _reset, _set
from datever.versions import Version
from datever.web.groups import GroupedVersioning
from datever.web.versioning import Headers, Proceed, Reply, Versioning, is_json

if TYPE_CHECKING:
    from _typeshed import OptExcInfo

__all__ = ["VersioningWSGIMiddleware", "WSGIApplication", "WSGIEnvironment"]

_IDENTITY = ("", "identity")
_END = object()


class VersioningWSGIMiddleware:
    """A WSGI middleware that serves each request at the version its client asked for.

    ``versioning`` holds the engine, selector, lifecycle and routes;
    ``account(environ)`` names the request's account and ``client_pin(environ)``
    a version configured for the client, as for the ASGI middleware. The
    resolved version is available through :func:`datever.context.current_version`
    while the app runs and while its response is iterated.
    """

    def __init__(self, app: WSGIApplication, versioning: Versioning | GroupedVersioning, *,
                 account: Callable[[WSGIEnvironment], str | None] | None = None,
                 client_pin: Callable[[WSGIEnvironment], str | None] | None = None) -> None:
        self.app = app
        self.versioning = versioning
        self.account = account
        self.client_pin = client_pin
        self._header = versioning.header
        self._environ_key = ("HTTP_" + versioning.header.upper().replace("-", "_")
                             if versioning.header else None)
        self._query_marker = f"{versioning.query}=" if versioning.query else None

    def __call__(self, environ: WSGIEnvironment,
                 start_response: StartResponse) -> Iterable[bytes]:
        """Serve one request."""
        value = environ.get(self._environ_key) if self._environ_key else None
        headers = {self._header: value} if value is not None and self._header else None
        query = None
        raw_query = environ.get("QUERY_STRING", "")
        if self._query_marker is not None and self._query_marker in raw_query:
            query = dict(parse_qsl(raw_query, keep_blank_values=True))
        method = environ.get("REQUEST_METHOD", "GET")
        decision = self.versioning.decide(
            method, environ.get("PATH_INFO") or "/", headers, query,
            account=self.account(environ) if self.account else None,
            client_pin=self.client_pin(environ) if self.client_pin else None,
            query_string=raw_query)
        if decision is None:  # a path in no feature group
            return self.app(environ, start_response)
        if isinstance(decision, Reply):
            return _reply(start_response, decision)
        owner = decision.owner
        assert owner is not None
        if decision.removed is not None:  # an endpoint the app no longer has
            body = _read_input(environ, owner.max_body)
            if body is _TOO_LARGE:
                return _reply(start_response, owner.too_large(decision))
            return _reply(start_response, owner.serve_removed(decision, body or b""))
        if decision.moved or decision.query_string is not None:
            environ = _rewritten(environ, decision)
        elif decision.prefix:
            environ = _without_prefix(environ, decision)
        app = (self.app if decision.undo is None
               else _undoing(self.app, owner, decision))
        json_body = (is_json(environ.get("CONTENT_TYPE"))
                     and environ.get("HTTP_CONTENT_ENCODING", "").strip().lower() in _IDENTITY)
        if decision.strict_body and not json_body and _has_body(environ):
            return _reply(start_response, owner.unsupported(
                decision, environ.get("CONTENT_TYPE"), environ.get("HTTP_CONTENT_ENCODING")))
        if decision.migrate_request and json_body:
            body = _read_input(environ, owner.max_body)
            if body is _TOO_LARGE:
                return _reply(start_response, owner.too_large(decision))
            if body is not None:
                migrated = owner.up_request(decision, body)
                if isinstance(migrated, Reply):
                    return _reply(start_response, migrated)
                environ = {**environ, "wsgi.input": io.BytesIO(migrated),
                           "CONTENT_LENGTH": str(len(migrated))}
                environ.pop("HTTP_TRANSFER_ENCODING", None)
        token = _set(decision.version)
        try:
            if decision.migrate_response and method != "HEAD":
                return self._migrating(environ, start_response, decision, owner, app)
            extra = decision.headers

            def start(status: str, headers: list[tuple[str, str]],
                      exc_info: OptExcInfo | None = None) -> Callable[[bytes], object]:
                return start_response(status, [*headers, *extra], exc_info)

            return _Body(app(environ, start), (), decision.version)
        finally:
            _reset(token)

    def _migrating(self, environ: WSGIEnvironment, start_response: StartResponse,
                   decision: Proceed, owner: Versioning,
                   app: WSGIApplication | None = None) -> Iterable[bytes]:
        """Run the app (``app``, by default the wrapped one), holding a JSON response
        back to migrate it down whole."""
        held: list[Any] = []  # [status, headers, exc_info] once a JSON response is held
        written: list[bytes] = []
        passing = False

        def start(status: str, headers: list[tuple[str, str]],
                  exc_info: OptExcInfo | None = None) -> Callable[[bytes], object]:
            nonlocal passing
            if not passing and _json_unencoded(headers):
                held[:] = [status, list(headers), exc_info]
                return written.append
            passing = True
            held.clear()
            return start_response(status, [*headers, *decision.headers], exc_info)

        result = (app or self.app)(environ, start)
        body = _gather(result, held, written, not held and not passing, decision.version)
        if isinstance(body, _Body):
            return body
        status, headers, exc_info = held
        migrated = owner.down_response(decision, body)
        if isinstance(migrated, Reply):
            return _reply(start_response, migrated)
        if migrated is not body:
            headers = _with_length(headers, len(migrated))
        start_response(status, [*headers, *decision.headers], exc_info)
        return [migrated]

    def __repr__(self) -> str:
        return f"<VersioningWSGIMiddleware {self.app!r} {self.versioning!r}>"


class _Body:
    """The app's response iterable, iterated with the request's version current.

    ``close()`` closes the app's iterable, as PEP 3333 asks of middleware.
    """

    __slots__ = ("_first", "_iterator", "_result", "_version")

    def __init__(self, result: Iterable[bytes], first: tuple[bytes, ...], version: Version,
                 *, iterator: Iterator[bytes] | None = None) -> None:
        self._result = result
        self._first = list(first)
        self._iterator = iterator
        self._version = version

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._first:
            return self._first.pop(0)
        if self._iterator is None:
            self._iterator = iter(self._result)
        token = _set(self._version)
        try:
            return next(self._iterator)
        finally:
            _reset(token)

    def close(self) -> None:
        """Close the app's iterable."""
        _close(self._result)


def _close(result: Iterable[bytes]) -> None:
    """Call ``result.close()`` when it has one (PEP 3333)."""
    close = getattr(result, "close", None)
    if close is not None:
        close()


def _without_prefix(environ: WSGIEnvironment, decision: Proceed) -> WSGIEnvironment:
    """A copy of ``environ`` whose PATH_INFO (and raw URI) lost the version prefix."""
    changed = {**environ, "PATH_INFO": decision.path}
    for key in ("REQUEST_URI", "RAW_URI"):
        uri = environ.get(key)
        if isinstance(uri, str) and uri.startswith(decision.prefix):
            changed[key] = uri[len(decision.prefix):] or "/"
    return changed


def _rewritten(environ: WSGIEnvironment, decision: Proceed) -> WSGIEnvironment:
    """A copy of ``environ`` at the request's head-side path and query string."""
    query = (decision.query_string if decision.query_string is not None
             else environ.get("QUERY_STRING", ""))
    changed = {**environ, "PATH_INFO": decision.path, "QUERY_STRING": query}
    uri = quote(decision.path) + (f"?{query}" if query else "")
    for key in ("REQUEST_URI", "RAW_URI"):
        if key in environ:
            changed[key] = uri
    return changed


def _gather(result: Iterable[bytes], held: list[Any], written: list[bytes], prime: bool,
            version: Version) -> _Body | bytes:
    """The app's body, whole, when its ``start`` held the response back; otherwise a
    pass-through iterable. ``prime`` pulls the first chunk so that an app which
    calls start_response on its first iteration has done so before we look."""
    try:
        iterator = iter(result)
        first: Any = _END
        if prime:
            first = next(iterator, _END)
        if not held:
            return _Body(result, () if first is _END else (first,), version, iterator=iterator)
        chunks = [*written, *(() if first is _END else (first,)), *iterator]
    except BaseException:
        _close(result)
        raise
    _close(result)
    return b"".join(chunks)


def _undoing(app: WSGIApplication, versioning: Versioning,
             decision: Proceed) -> WSGIApplication:
    """``app`` giving an older client its response status and error format.

    The status is mapped when the app starts its response; a 4xx or 5xx JSON
    response is collected whole when the version has an older error format,
    converted, and given its new Content-Length.
    """
    undo = decision.undo
    assert undo is not None

    def undone(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        held: list[Any] = []  # [status, headers, exc_info] once an error body is held
        written: list[bytes] = []
        started = False

        def start(status: str, headers: list[tuple[str, str]],
                  exc_info: OptExcInfo | None = None) -> Callable[[bytes], object]:
            nonlocal started
            started = True
            code = _status_code(status)
            old = undo.status(code)
            if old != code:
                status = _status_line(old)
            if undo.rewrites_body(old) and _json_unencoded(headers):
                held[:] = [status, list(headers), exc_info]
                return written.append
            held.clear()
            return start_response(status, headers, exc_info)

        result = app(environ, start)
        body = _gather(result, held, written, not started, decision.version)
        if isinstance(body, _Body):
            return body
        status, headers, exc_info = held
        converted = versioning.undo_error(decision, body)
        if isinstance(converted, Reply):
            return _reply(start_response, converted)
        if converted is not body:
            headers = _with_length(headers, len(converted))
        start_response(status, headers, exc_info)
        return [converted]

    return undone


def _status_code(status: str) -> int:
    """The code of a WSGI status line (``"201 Created"`` -> 201); 0 when it has none."""
    try:
        return int(status.partition(" ")[0])
    except ValueError:
        return 0


_TOO_LARGE = b"\0too large"  # a sentinel: compared by identity only


def _has_body(environ: WSGIEnvironment) -> bool:
    """True when the request says it carries a body (a length above 0, or chunks)."""
    length = str(environ.get("CONTENT_LENGTH") or "").strip()
    return (length not in ("", "0")) or "HTTP_TRANSFER_ENCODING" in environ


def _read_input(environ: WSGIEnvironment, limit: int) -> bytes | None:
    """The whole request body; None when its length is unknown (it is left unread);
    ``_TOO_LARGE`` when it is longer than ``limit`` (the rest is left unread)."""
    stream = environ["wsgi.input"]
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    if length > limit:
        return _TOO_LARGE
    if length >= 0:
        return bytes(stream.read(length)) if length else b""
    if environ.get("wsgi.input_terminated"):
        chunks: list[bytes] = []
        size = 0
        while chunk := stream.read(min(65536, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                return _TOO_LARGE
        return b"".join(chunks)
    return None


def _with_length(headers: list[tuple[str, str]], length: int) -> list[tuple[str, str]]:
    kept = [(name, value) for name, value in headers if name.lower() != "content-length"]
    kept.append(("Content-Length", str(length)))
    return kept


def _json_unencoded(headers: Iterable[tuple[str, str]]) -> bool:
    """True when the response is JSON and not content-encoded."""
    json = False
    for name, value in headers:
        lower = name.lower()
        if lower == "content-type":
            json = is_json(value)
        elif lower == "content-encoding" and value.strip().lower() not in _IDENTITY:
            return False
    return json


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _reply(start_response: StartResponse, reply: Reply) -> list[bytes]:
    headers: Headers = (*reply.headers, ("Content-Length", str(len(reply.body))))
    start_response(_status_line(reply.status), list(headers))
    return [reply.body]
