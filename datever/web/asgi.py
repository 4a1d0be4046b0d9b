"""Pure ASGI middleware: serve every HTTP request at its client's version.

Wrap any ASGI app (Starlette, FastAPI, Litestar, a bare callable), most simply
through the front door (``API("changes", routes=...).asgi(app)``), or by hand::

    app = VersioningMiddleware(app, Versioning(engine, selector, lifecycle=lifecycle,
                                               routes=routes))

It strips the ``/v2021-06-07`` prefix from the path, answers 400/403/410 on
its own, migrates JSON request bodies up and complete JSON responses down, and
adds the lifecycle headers to every response. HTTP-level changes pending for
the version (:mod:`datever.endpoints`) are applied too: a renamed endpoint's
path and renamed query parameters are rewritten before the app sees them
(``path``, ``raw_path``, ``query_string``), an endpoint the version predates
is a 404, a removed one is served by its change's handler, and the response's
2xx status and 4xx/5xx JSON error body are turned back into the old ones.
At the head version nothing is buffered: only the headers are added.
Lifespan and websocket scopes pass through.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, quote

import msgspec

from datever.context import _reset, _set
from datever.pins import PinStoreUnavailable
from datever.selection import AccountPin
from datever.web.groups import GroupedVersioning
from datever.web.versioning import Proceed, RawHeaders, Reply, Versioning, is_json

__all__ = ["ASGIApp", "Message", "Receive", "Scope", "Send", "VersioningMiddleware"]

Scope = MutableMapping[str, Any]
"""An ASGI connection scope (``type``, ``path``, ``headers``...)."""
Message = MutableMapping[str, Any]
"""An ASGI event, received or sent (``http.request``, ``http.response.start``...)."""
Receive = Callable[[], Awaitable[Message]]
"""The awaitable callable an ASGI app receives events with."""
Send = Callable[[Message], Awaitable[None]]
"""The awaitable callable an ASGI app sends events with."""
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
"""An ASGI 3 application."""

_CONTENT_TYPE = b"content-type"
_CONTENT_LENGTH = b"content-length"
_CONTENT_ENCODING = b"content-encoding"
_TRANSFER_ENCODING = b"transfer-encoding"
_IDENTITY = (b"", b"identity")


class VersioningMiddleware:
    """An ASGI middleware that serves each HTTP request at the version its client asked for.

    ``versioning`` holds the engine, selector, lifecycle and routes.
    ``account(scope)`` names the request's account (pinned on its first
    request, and the client whose preview access is checked), e.g. from an
    authenticated header; its pin is awaited before the version is decided, so
    a slow pin store holds up that request alone, never the event loop.
    ``client_pin(scope)`` gives a version configured for the client (an API
    key's pin), which beats the account's pin. Both may return None. The
    resolved version is available to the app through
    :func:`datever.context.current_version` while the request is served.

    When the pin store cannot be reached
    (:class:`~datever.pins.PinStoreUnavailable`), a pin this process still
    holds fresh is served as usual; otherwise a request that names its
    version is served at it (its first pin waits for a later request) and
    one that names none is answered 503 with ``Retry-After``, never at a
    version that may not be the account's.
    """

    def __init__(self, app: ASGIApp, versioning: Versioning | GroupedVersioning, *,
                 account: Callable[[Scope], str | None] | None = None,
                 client_pin: Callable[[Scope], str | None] | None = None) -> None:
        self.app = app
        self.versioning = versioning
        self.account = account
        self.client_pin = client_pin
        self._header = versioning.header
        self._header_bytes = versioning.header.encode("latin-1") if versioning.header else None
        self._query_marker = f"{versioning.query}=".encode() if versioning.query else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection: HTTP requests are versioned, anything else passes."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        version_header = content_type = content_encoding = content_length = None
        chunked = False
        wanted = self._header_bytes
        for name, value in scope["headers"]:
            lower = name.lower()
            if lower == wanted:
                version_header = value
            elif lower == _CONTENT_TYPE:
                content_type = value
            elif lower == _CONTENT_ENCODING:
                content_encoding = value
            elif lower == _CONTENT_LENGTH:
                content_length = value
            elif lower == _TRANSFER_ENCODING:
                chunked = True
        headers = ({self._header: version_header.decode("latin-1")}
                   if version_header is not None and self._header else None)
        query = None
        marker = self._query_marker
        if marker is not None and marker in (raw_query := scope.get("query_string", b"")):
            query = dict(parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True))
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root) and path[len(root):len(root) + 1] == "/":
            path = path[len(root):]  # the version segment follows the mount point
        else:
            root = ""
        account = self.account(scope) if self.account else None
        account_pin = outage = None
        if account is not None:
            try:
                account_pin = await self._account_pin(path, account)
            except PinStoreUnavailable as exc:
                outage = exc
        decision = self.versioning.decide(
            scope["method"], path, headers, query,
            # the store is down: selected as anonymous, so that nothing waits on it again
            account=account if outage is None else None,
            client_pin=self.client_pin(scope) if self.client_pin else None,
            query_string=scope.get("query_string"), account_pin=account_pin)
        if decision is None:  # a path in no feature group
            await self.app(scope, receive, send)
            return
        if outage is not None and _needs_pin(decision):
            await _reply(send, _pins_unavailable(outage, account))
            return
        if isinstance(decision, Reply):
            await _reply(send, decision)
            return
        owner = decision.owner
        assert owner is not None
        if decision.removed is not None:  # an endpoint the app no longer has
            removed_body = await _read_limited(receive, send, owner, decision, content_length)
            if removed_body is not None:
                await _reply(send, owner.serve_removed(decision, removed_body))
            return
        if decision.moved:
            scope = _moved(scope, decision, root)
        elif decision.prefix:
            scope = _without_prefix(scope, decision, root)
        if decision.query_string is not None:
            scope = {**scope, "query_string": decision.query_string.encode("latin-1")}
        # whether the body can be read as JSON matters only when it is to be read
        json_body = ((decision.strict_body or decision.migrate_request)
                     and is_json(content_type)
                     and (content_encoding or b"").strip().lower() in _IDENTITY)
        if (decision.strict_body and not json_body
                and (content_length not in (None, b"0") or chunked)):
            await _reply(send, owner.unsupported(
                decision, _text(content_type), _text(content_encoding)))
            return
        if decision.migrate_request and json_body:
            body = await _read_limited(receive, send, owner, decision, content_length)
            if body is None:  # the client went away, or sent too much (answered 413)
                return
            migrated = owner.up_request(decision, body)
            if isinstance(migrated, Reply):
                await _reply(send, migrated)
                return
            scope = {**scope, "headers": _with_length(scope["headers"], len(migrated),
                                                      drop=_TRANSFER_ENCODING)}
            receive = _replay(migrated, receive)
        if decision.migrate_response and scope["method"] != "HEAD":
            send = _migrating(send, owner, decision)
        else:
            send = _adding_headers(send, decision.raw_headers)
        if decision.undo is not None:
            send = _undoing(send, owner, decision)
        token = _set(decision.version)
        try:
            await self.app(scope, receive, send)
        finally:
            _reset(token)

    async def _account_pin(self, path: str, account: str) -> AccountPin | None:
        """The account's pin, awaited here so that the synchronous decide() never waits
        on the pin store."""
        versioning = self.versioning
        if isinstance(versioning, GroupedVersioning):
            found = versioning.group_of(path)
            if found is None:
                return None
            versioning = found[1]
        return await versioning.selector.alookup(account)

    def __repr__(self) -> str:
        return f"<VersioningMiddleware {self.app!r} {self.versioning!r}>"


def _needs_pin(decision: Reply | Proceed) -> bool:
    """True when the account's pin would have decided the request: it named no version
    (or its preview access, checked as anonymous, was refused)."""
    if isinstance(decision, Reply):
        return decision.status == 403
    return decision.source == "default"


def _pins_unavailable(outage: PinStoreUnavailable, account: str | None) -> Reply:
    """503 with Retry-After: the account's version is its pin, which cannot be read now.

    Serving the default version instead could give a pinned account a shape
    it was never written against; a retry, or naming the version, is safe.
    """
    retry = max(1, math.ceil(outage.retry_after))
    body = msgspec.json.encode({"error": {
        "type": "api_error", "code": "pins_unavailable",
        "message": f"the API version of account {account!r} is its pin, which cannot be "
                   f"read right now: retry after {retry} s, or name the version (path "
                   "prefix, header or query parameter)"}})
    return Reply(503, (("Content-Type", "application/json"), ("Retry-After", str(retry))),
                 body)


def _without_prefix(scope: Scope, decision: Proceed, root: str) -> Scope:
    """A copy of ``scope`` whose path and raw path lost the version prefix.

    Both include the mount point ``root`` (the ASGI ``root_path``) when the
    server puts it there; the prefix is cut right after it.
    """
    changed = {**scope, "path": root + decision.path}
    raw_path = scope.get("raw_path")
    raw_root = root.encode("latin-1", "replace")
    cut = raw_root + decision.prefix.encode("latin-1")
    if isinstance(raw_path, bytes) and raw_path.startswith(cut):
        changed["raw_path"] = raw_root + (raw_path[len(cut):] or b"/")
    return changed


def _moved(scope: Scope, decision: Proceed, root: str) -> Scope:
    """A copy of ``scope`` at the renamed endpoint's path (after the mount point ``root``)."""
    path = root + decision.path
    return {**scope, "path": path, "raw_path": quote(path).encode("latin-1")}


def _undoing(send: Send, versioning: Versioning, decision: Proceed) -> Send:
    """A send that gives an older client its response status and error format.

    The status is mapped on the response start; a 4xx or 5xx JSON response is
    held whole (streamed or not) when the version has an older error format,
    converted, and passed on with its new Content-Length.
    """
    undo = decision.undo
    assert undo is not None
    held: Message | None = None
    chunks: list[bytes] = []

    async def send_undone(message: Message) -> None:
        nonlocal held
        if message["type"] == "http.response.start":
            status = undo.status(message["status"])
            if status != message["status"]:
                message = {**message, "status": status}
            if undo.rewrites_body(status):
                headers = list(message.get("headers", ()))
                if _json_unencoded(headers):
                    held = {**message, "headers": headers}
                    return
            await send(message)
            return
        if held is None or message["type"] != "http.response.body":
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        start, held = held, None
        body = b"".join(chunks)
        result = versioning.undo_error(decision, body)
        if isinstance(result, Reply):
            start = {**start, "status": result.status, "headers": list(result.raw_headers)}
            result = result.body
        elif result is not body:
            start = {**start, "headers": _with_length(start["headers"], len(result))}
        await send(start)
        await send({"type": "http.response.body", "body": result, "more_body": False})

    return send_undone


def _with_length(headers: Iterable[tuple[bytes, bytes]], length: int,
                 drop: bytes = _CONTENT_LENGTH) -> list[tuple[bytes, bytes]]:
    """``headers`` with Content-Length set to ``length`` (and ``drop`` removed)."""
    kept = [(name, value) for name, value in headers
            if (lower := name.lower()) != _CONTENT_LENGTH and lower != drop]
    kept.append((_CONTENT_LENGTH, str(length).encode("latin-1")))
    return kept


async def _reply(send: Send, reply: Reply) -> None:
    await send({"type": "http.response.start", "status": reply.status,
                "headers": list(reply.raw_headers)})
    await send({"type": "http.response.body", "body": reply.body, "more_body": False})


async def _read_limited(receive: Receive, send: Send, owner: Versioning, decision: Proceed,
                        content_length: bytes | None) -> bytes | None:
    """The whole request body, or None when the client disconnects first or the body is
    longer than ``owner.max_body`` (then answered 413, and the rest is never read)."""
    limit = owner.max_body
    if content_length is not None and content_length.strip().isdigit() and int(
            content_length) > limit:
        await _reply(send, owner.too_large(decision))
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            await _reply(send, owner.too_large(decision))
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value is not None else None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives ``body`` in one message, then defers to the server's."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _adding_headers(send: Send, extra: RawHeaders) -> Send:
    """A send that adds ``extra`` to the response start and passes everything else."""
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *extra]}
        await send(message)

    return send_with_headers


def _migrating(send: Send, versioning: Versioning, decision: Proceed) -> Send:
    """A send that migrates a complete JSON response down, and passes anything else.

    The response start is held until the first body message: a single one
    (``more_body`` false) is migrated and Content-Length fixed; a streamed
    response, or one that is not JSON or is content-encoded, passes untouched
    but for the lifecycle headers.
    """
    extra = decision.raw_headers
    held: Message | None = None
    passing = False

    async def send_migrated(message: Message) -> None:
        nonlocal held, passing
        if passing:
            await send(message)
            return
        if message["type"] == "http.response.start":
            headers = message.get("headers", ())
            if not isinstance(headers, list | tuple):  # any iterable: read it once
                message = {**message, "headers": list(headers)}
            if _json_unencoded(message.get("headers", ())):
                held = message
                return
            passing = True
            await send({**message, "headers": [*message.get("headers", ()), *extra]})
            return
        start, held, passing = held, None, True
        if start is None:  # a body before any start: the server will complain, not us
            await send(message)
            return
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            body = message.get("body", b"")
            result = versioning.down_response(decision, body)
            if isinstance(result, Reply):
                await _reply(send, result)
                return
            if result is not body:
                # one new headers list: the new length and the version's headers
                headers = _with_length(start.get("headers", ()), len(result))
                headers += extra
                await send({**start, "headers": headers})
                await send({**message, "body": result})
                return
        await send({**start, "headers": [*start.get("headers", ()), *extra]})
        await send(message)

    return send_migrated


def _json_unencoded(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """True when the response is JSON and not content-encoded (gzip cannot be migrated)."""
    json = False
    for name, value in headers:
        lower = name.lower()
        if lower == _CONTENT_TYPE:
            json = is_json(value)
        elif lower == _CONTENT_ENCODING and value.strip().lower() not in _IDENTITY:
            return False
    return json
