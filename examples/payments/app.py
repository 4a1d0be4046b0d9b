"""The payments service: a Starlette app written against the head shape, wrapped in datever.

``create_app(db, pins, clock=, seed=)`` builds the whole ASGI app. Requests go through
the middleware of one :class:`datever.API`, which picks each request's version
(``/v2021-06-07/`` prefix, ``X-API-Version`` header, ``api-version`` query,
the account's pin, else ``v1``), migrates request bodies up and responses
down. Webhook previews bypass it: they are rendered at the version the
*account* is pinned to, whatever version the request names. ``/openapi.json``
is the OpenAPI document at the client's version, and ``/docs`` shows it with
Swagger UI, served from the ``drf-spectacular-sidecar`` package's files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import importlib.util
import json
import os
import re
from collections.abc import AsyncIterator, Callable
from email.utils import formatdate
from pathlib import Path
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from datever import API, ReleaseLifecycle, current_version, includes
from datever.web.asgi import ASGIApp, Receive, Scope, Send
from examples.payments import resources
from examples.payments.resources import BadRequest, Json, Mint, list_of
from examples.payments.storage import Pins, Store, open_pins

CHANGES = Path(__file__).resolve().parents[2] / "changes"
CHANGELOG_URL = "https://payments.example.com/changelog"
ASYNC_REFUNDS = "2022_05_16_asynchronous_refunds"  # a side-effect change
_BEARER = re.compile(r"Bearer ([A-Za-z0-9_-]{1,100})")
_SIDECAR = importlib.util.find_spec("drf_spectacular_sidecar")
#: Swagger UI's files, from a package: the docs page loads nothing from the internet
SWAGGER_UI = (Path(_SIDECAR.origin).parent / "static" / "drf_spectacular_sidecar" /
              "swagger-ui-dist" if _SIDECAR is not None and _SIDECAR.origin else None)
_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Payments API {title}</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({{url: {url}, dom_id: "#swagger-ui"}});</script>
</body>
</html>
"""


#: ``v1`` is deprecated since 2024-01-01 and removed on 2027-06-30.
LIFECYCLE = {"v1": ReleaseLifecycle(successor_announced=dt.date(2019, 4, 15),
                                    deprecated=dt.date(2024, 1, 1), sunset=dt.date(2027, 6, 30))}
#: Each endpoint's request resource (its body, migrated up) and response resource (for
#: the OpenAPI documents).
ROUTES = {
    "POST /customers": ("customer.create", "customer"), "GET /customers": (None, "list"),
    "GET /customers/{id}": (None, "customer"),
    "POST /charges": ("charge.create", "charge"), "GET /charges": (None, "list"),
    "GET /charges/{id}": (None, "charge"), "GET /charges/{id}/refunds": (None, "list"),
    "POST /refunds": ("refund.create", "refund"), "GET /refunds/{id}": (None, "refund"),
    "GET /events": (None, "list"),
}


def _authorization(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return bytes(value)
    return None


def account_of(scope: Scope) -> str | None:
    """The account of ``Authorization: Bearer <account>``, or None (anonymous)."""
    header = _authorization(scope)
    match = _BEARER.fullmatch(header.decode("latin-1")) if header else None
    return match.group(1) if match else None


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(msgspec.json.encode(payload), status, headers,
                    media_type="application/json")


def _error(exc: BadRequest) -> Response:
    return _json(exc.body(), exc.status)


def _missing(kind: str, resource_id: str) -> BadRequest:
    return BadRequest(f"no such {kind}: {resource_id!r}", param="id", status=404,
                      kind="resource_missing")


def _in_refund(charge: Json) -> Json:
    """The charge as a refund embeds it: its own refunds list left empty."""
    return {**charge, "refunds": list_of([], charge["refunds"]["url"])}


class Service:
    """The endpoints: head shapes in, head shapes out, SQLite underneath."""

    def __init__(self, api: API, store: Store, pins: Pins, mint: Mint) -> None:
        self.api = api
        self.store = store
        self.pins = pins
        self.mint = mint

    async def _body(self, request: Request) -> object:
        raw = await request.body()
        try:
            return msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            raise BadRequest(f"the request body is not valid JSON: {exc}") from None

    def _get(self, kind: str, resource_id: str) -> Json:
        found = self.store.get(resource_id, kind)
        if found is None:
            raise _missing(kind, resource_id)
        return found

    def _record(self, request: Request, kind: str, obj: Json) -> None:
        """Store ``obj`` and the event announcing it."""
        self.store.put(obj)
        self.store.put(resources.event(kind, obj, request.state.request_id,
                                       request.headers.get("idempotency-key"), self.mint))

    async def create_customer(self, request: Request) -> Response:
        customer = resources.customer(await self._body(request), self.mint)
        with self.store.transaction():
            self._record(request, "customer.created", customer)
        return _json(customer)

    async def create_charge(self, request: Request) -> Response:
        body = await self._body(request)
        with self.store.transaction():
            charge = resources.charge(body, lambda kind, id_: self.store.get(id_, kind),
                                      self.mint)
            kind = "charge.succeeded" if charge["status"] == "succeeded" else "charge.pending"
            self._record(request, kind, charge)
        return _json(charge)

    async def create_refund(self, request: Request) -> Response:
        body, charge_id = resources.refund_request(await self._body(request))
        # the side effect: from 2022-05-16 on a refund is answered before it settles
        pending = includes(ASYNC_REFUNDS)
        with self.store.transaction():
            charge = self.store.get(charge_id, "charge")
            if charge is None:
                raise BadRequest(f"no such charge: {charge_id!r}", param="charge",
                                 kind="resource_missing")
            refund = resources.refund(body, charge, self.mint, pending=pending)
            charge["amount_refunded"] += refund["amount"]
            charge["refunds"]["data"].append(refund)
            self.store.put(charge)
            refund = {**refund, "charge": _in_refund(charge)}
            self._record(request, "refund.created", refund)
        return _json(refund)

    async def get_customer(self, request: Request) -> Response:
        return _json(self._get("customer", request.path_params["id"]))

    async def get_charge(self, request: Request) -> Response:
        return _json(self._get("charge", request.path_params["id"]))

    async def charge_refunds(self, request: Request) -> Response:
        charge = self._get("charge", request.path_params["id"])
        return _json(charge["refunds"])

    async def get_refund(self, request: Request) -> Response:
        refund = self._get("refund", request.path_params["id"])
        current = self.store.get(refund["charge"]["id"], "charge")
        if current is not None:  # the charge as it is now, not when it was refunded
            refund["charge"] = _in_refund(current)
        return _json(refund)

    async def get_account(self, request: Request) -> Response:
        account = account_of(request.scope)
        pin = self.pins.get(account) if account else None
        if account is None or pin is None:
            raise BadRequest("name your account: Authorization: Bearer <account>",
                             status=401, kind="authentication_required")
        return _json({"object": "account", "id": account, "api_version": pin.version,
                      "pinned_at": int(pin.pinned_at.timestamp())})

    async def openapi(self, request: Request) -> Response:
        """The OpenAPI document of the version the middleware resolved for this client."""
        return _json(self.api.openapi(current_version(), title="Payments API"))

    async def docs(self, request: Request) -> Response:
        """Swagger UI showing the client's version's document (named in its URL, so the
        page's own request for it needs no header)."""
        if SWAGGER_UI is None:
            raise BadRequest("the docs page needs the drf-spectacular-sidecar package",
                             status=503, kind="api_error")
        name = current_version().name
        url = json.dumps(f"/openapi.json?api-version={name}")
        return Response(_DOCS_PAGE.format(title=html.escape(name), url=url),
                        media_type="text/html")

    async def preview_webhook(self, request: Request) -> Response:
        """The event as the account's webhook endpoint would receive it: at its pin."""
        account = request.query_params.get("account")
        if not account:
            raise BadRequest("name the receiving account: ?account=<account>",
                             param="account")
        event = self._get("event", request.path_params["event_id"])
        rendered = self.api.render_for_account(account, msgspec.json.encode(event))
        return Response(rendered.body, 200, dict(rendered.headers()))


def _list(service: Service, kind: str, url: str) -> Any:
    async def endpoint(request: Request) -> Response:
        return _json(list_of(service.store.all(kind), url))
    return endpoint


async def _bad_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadRequest)
    return _error(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    kind = "resource_missing" if exc.status_code == 404 else "invalid_request"
    return _json({"error": {"type": kind, "message": f"{request.method} {request.url.path}: "
                            f"{exc.detail}"}}, exc.status_code)


class PaymentsApp:
    """The ASGI app: webhook previews and the docs page's assets unversioned, everything
    else through datever.

    ``mint`` gives new ids and the clock, which the versioning reads too (the
    days to v1's sunset, and its 410 after). With ``date_header`` the app
    sends its own ``Date`` from that clock, for a server told to send none.
    """

    def __init__(self, api: API, store: Store, pins: Pins, mint: Mint, *,
                 date_header: bool = False) -> None:
        self.service = service = Service(api, store, pins, mint)
        self.mint = mint
        self.date_header = date_header
        handlers: Any = {BadRequest: _bad_request, HTTPException: _http_error}

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            yield
            store.close()
            aclose = getattr(pins, "aclose", None)  # PostgreSQL: the async pool too
            await aclose() if aclose is not None else pins.close()

        app = Starlette(lifespan=lifespan, exception_handlers=handlers, routes=[
            Route("/customers", service.create_customer, methods=["POST"]),
            Route("/customers", _list(service, "customer", "/customers"), methods=["GET"]),
            Route("/customers/{id}", service.get_customer),
            Route("/charges", service.create_charge, methods=["POST"]),
            Route("/charges", _list(service, "charge", "/charges"), methods=["GET"]),
            Route("/charges/{id}", service.get_charge),
            Route("/charges/{id}/refunds", service.charge_refunds),
            Route("/refunds", service.create_refund, methods=["POST"]),
            Route("/refunds/{id}", service.get_refund),
            Route("/events", _list(service, "event", "/events")),
            Route("/account", service.get_account),
            Route("/openapi.json", service.openapi),
            Route("/docs", service.docs),
        ])
        self.versioned = api.asgi(app, account=account_of)
        self.webhooks = Starlette(exception_handlers=handlers, routes=[
            Route("/webhooks/preview/{event_id}", service.preview_webhook),
            *([Mount("/docs/assets", StaticFiles(directory=SWAGGER_UI))] if SWAGGER_UI else [])])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.versioned(scope, receive, send)
            return
        header = _authorization(scope)
        if header is not None and account_of(scope) is None:
            await _json({"error": {"type": "authentication_required", "message":
                                   "Authorization must be 'Bearer <account>' (letters, digits,"
                                   " _ and -)"}}, 401)(scope, receive, send)
            return
        scope.setdefault("state", {})["request_id"] = self.mint.id("req")
        unversioned = scope["path"].startswith(("/webhooks/", "/docs/assets/"))
        app: ASGIApp = self.webhooks if unversioned else self.versioned
        first = [(b"date", formatdate(self.mint.now().timestamp(), usegmt=True).encode())
                 ] if self.date_header else []
        await app(scope, receive, _with_headers(send, first, [
            (b"request-id", scope["state"]["request_id"].encode())]))


def _with_headers(send: Send, first: list[tuple[bytes, bytes]],
                  last: list[tuple[bytes, bytes]]) -> Send:
    async def sending(message: Any) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*first, *message.get("headers", ()), *last]}
        await send(message)
    return sending


def create_app(db: str | os.PathLike[str] | None = None,
               pins: str | os.PathLike[str] | None = None, *,
               clock: Callable[[], dt.datetime] | None = None, seed: int | None = None,
               date_header: bool = False) -> PaymentsApp:
    """The service on the SQLite file ``db``, its version pins in ``pins``.

    They default to the environment's ``PAYMENTS_DB`` and ``PAYMENTS_PINS``,
    else ``payments.sqlite3`` and ``pins.sqlite3`` in the current directory.
    ``pins`` is a SQLite file, or a ``postgresql://`` URL for a service run as
    several processes; each process keeps pins for ``$PAYMENTS_PIN_TTL``
    seconds (default 5).
    ``clock`` (an aware datetime, default the system clock) times everything
    the service does: created objects, pins, the version lifecycle; ``seed``
    makes the ids reproducible (see :class:`Mint`).
    """
    mint = Mint(clock, seed)
    store = Store(db if db is not None else os.environ.get("PAYMENTS_DB", "payments.sqlite3"))
    pin_store = open_pins(pins if pins is not None
                          else os.environ.get("PAYMENTS_PINS", "pins.sqlite3"), mint.now)
    api = API(CHANGES, routes=ROUTES, pins=pin_store, lifecycle=LIFECYCLE,
              pin_ttl=float(os.environ.get("PAYMENTS_PIN_TTL", "5")),
              changelog_url=CHANGELOG_URL, clock=mint.today)
    return PaymentsApp(api, store, pin_store, mint, date_header=date_header)
