"""Head-shape resources: request validation and the objects the service renders.

Everything here knows only the newest shape of the API (what
``changes/_samples.py`` produces). Older clients' requests arrive already
migrated up by the middleware, and these objects are migrated down on the
way out; nothing in this file ever looks at a version.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import secrets
import string
from collections.abc import Callable
from typing import Any

Json = dict[str, Any]

_ALPHABET = string.ascii_letters + string.digits
_CURRENCY = re.compile(r"[a-z]{3}")
_TAX_EXEMPT = ("none", "exempt", "reverse")
_CAPTURE_METHODS = ("automatic", "manual")
_REFUND_REASONS = ("duplicate", "suspected_fraud", "customer_request")
_ADDRESS_PARTS = ("line1", "city", "postal_code", "country")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class BadRequest(Exception):
    """A request the service refuses: ``status``, an error ``kind`` and the ``param`` at fault."""

    def __init__(self, message: str, *, param: str | None = None, status: int = 400,
                 kind: str = "invalid_request_body") -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.status = status
        self.kind = kind

    def body(self) -> Json:
        """The error in the head's error format: ``{"error": {"type", "message", ...}}``."""
        error: Json = {"type": self.kind, "message": self.message}
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}


def _system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Mint:
    """Where new ids and times come from: by default random ids and the system clock.

    ``clock`` returns the current time as an aware datetime; ``seed`` draws
    ids from a seeded generator instead of :mod:`secrets`. With both, a
    fresh service answers the same requests with the same bytes (the
    reproducible examples and the tests rely on it).
    """

    def __init__(self, clock: Callable[[], dt.datetime] | None = None,
                 seed: int | None = None) -> None:
        self.clock = clock if clock is not None else _system_clock
        self._random: random.Random | None = None if seed is None else random.Random(seed)

    def id(self, prefix: str) -> str:
        """A fresh id such as ``ch_3Gk9aQ0wLmZp2R``."""
        choice = self._random.choice if self._random is not None else secrets.choice
        return prefix + "_" + "".join(choice(_ALPHABET) for _ in range(14))

    def now(self) -> dt.datetime:
        """The current time, in UTC."""
        return self.clock().astimezone(dt.UTC)

    def seconds(self) -> int:
        """The current time in Unix seconds (the head's timestamp format)."""
        return int(self.now().timestamp())

    def milliseconds(self) -> int:
        """The current time in Unix milliseconds (events' ``created``)."""
        return (self.now() - _EPOCH) // dt.timedelta(milliseconds=1)

    def today(self) -> dt.date:
        """Today's UTC date (what the version lifecycle counts days from)."""
        return self.now().date()


def list_of(items: list[Json], url: str) -> Json:
    """A list envelope holding one complete page."""
    return {"object": "list", "data": items, "has_more": False, "url": url}


# -- validation of head-shaped request bodies --------------------------------


def _object(body: object, where: str = "the request body") -> Json:
    if not isinstance(body, dict):
        raise BadRequest(f"{where} must be a JSON object")
    return body


def _only(body: Json, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise BadRequest(f"received unknown parameter: {unknown[0]}", param=unknown[0])


def _text(body: Json, key: str, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{key} must be a non-empty string", param=key)
    return value


def _integer(body: Json, key: str, *, default: int | None = None) -> int:
    value = body.get(key, default)
    if type(value) is not int:
        raise BadRequest(f"{key} must be an integer (an amount in cents)", param=key)
    return value


def _choice(body: Json, key: str, choices: tuple[str, ...], default: str | None) -> str | None:
    value = body.get(key, default)
    if value is None and default is None:
        return None
    if value not in choices:
        raise BadRequest(f"{key} must be one of {', '.join(choices)}", param=key)
    assert isinstance(value, str)
    return value


def _currency(body: Json, key: str, *, required: bool) -> str | None:
    value = _text(body, key, required=required)
    if value is not None and not _CURRENCY.fullmatch(value):
        raise BadRequest(f"{key} must be a lowercase ISO 4217 code such as 'usd'", param=key)
    return value


def _metadata(body: Json) -> dict[str, str]:
    value = body.get("metadata") or {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise BadRequest("metadata must be an object of strings", param="metadata")
    return value


# -- customers -----------------------------------------------------------------

CUSTOMER_CREATE = ("email", "name", "balance", "default_currency", "address",
                   "invoice_settings", "default_payment_method", "tax_exempt", "phone_number",
                   "metadata")


def customer(raw: object, mint: Mint, *, id: str | None = None) -> Json:
    """A new head-shaped customer from a ``customer.create`` body (``id``: default a new one)."""
    body = _object(raw)
    _only(body, CUSTOMER_CREATE)
    address = _object(body.get("address") or {}, "address")
    _only(address, _ADDRESS_PARTS)
    settings = _object(body.get("invoice_settings") or {}, "invoice_settings")
    _only(settings, ("footer",))
    return {
        "id": id or mint.id("cus"),
        "object": "customer",
        "email": _text(body, "email"),
        "name": _text(body, "name"),
        "balance": _integer(body, "balance", default=0),
        "default_currency": _currency(body, "default_currency", required=False),
        "address": {part: _text(address, part) for part in _ADDRESS_PARTS},
        "invoice_settings": {"footer": _text(settings, "footer")},
        "default_payment_method": _text(body, "default_payment_method"),
        "tax_exempt": _choice(body, "tax_exempt", _TAX_EXEMPT, "none"),
        "phone_number": _text(body, "phone_number"),
        "created": mint.seconds(),
        "metadata": _metadata(body),
        "livemode": False,
    }


# -- charges -------------------------------------------------------------------

CHARGE_CREATE = ("amount", "currency", "customer", "payment_method", "description",
                 "receipt_email", "metadata", "capture_method", "statement_descriptor_suffix",
                 "confirm")


def charge(raw: object, find: Callable[[str, str], Json | None], mint: Mint, *,
           id: str | None = None) -> Json:
    """A new head-shaped charge from a ``charge.create`` body (``id``: default a new one).

    ``find(kind, id)`` looks a stored resource up: the customer and payment
    method the body names are expanded from it. The customer must exist; a
    payment method the store does not hold stays its id (this example has
    no endpoint that creates payment methods). A charge is confirmed at once
    only with ``confirm: true``; otherwise it waits in ``requires_confirmation``.
    """
    body = _object(raw)
    _only(body, CHARGE_CREATE)
    customer_id = _text(body, "customer")
    customer = find("customer", customer_id) if customer_id else None
    if customer_id and customer is None:
        raise BadRequest(f"no such customer: {customer_id!r}", param="customer",
                         kind="resource_missing")
    method_id = _text(body, "payment_method")
    payment_method = (find("payment_method", method_id) or method_id) if method_id else None
    amount = _integer(body, "amount")
    if amount <= 0:
        raise BadRequest("amount must be positive", param="amount")
    confirm = body.get("confirm", False)
    if not isinstance(confirm, bool):
        raise BadRequest("confirm must be true or false", param="confirm")
    capture_method = _choice(body, "capture_method", _CAPTURE_METHODS, "automatic")
    charge_id = id or mint.id("ch")
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_refunded": 0,
        "currency": _currency(body, "currency", required=True),
        "status": "succeeded" if confirm else "requires_confirmation",
        "captured": confirm and capture_method == "automatic",
        "capture_method": capture_method,
        "customer": customer,
        "payment_method": payment_method,
        "description": _text(body, "description"),
        "statement_descriptor_suffix": _text(body, "statement_descriptor_suffix"),
        "receipt_email": _text(body, "receipt_email"),
        "outcome": {
            "network_status": "approved_by_network" if confirm else None,
            "risk_level": "normal" if confirm else "not_assessed",
            "reason": None,
            "seller_message": None,  # older versions: failure_message
        },
        "refunds": list_of([], f"/charges/{charge_id}/refunds"),
        "created": mint.seconds(),
        "metadata": _metadata(body),
        "livemode": False,
    }


# -- refunds -------------------------------------------------------------------

REFUND_CREATE = ("charge", "amount", "reason", "metadata")


def refund_request(raw: object) -> tuple[Json, str]:
    """The validated ``refund.create`` body and the id of the charge it refunds."""
    body = _object(raw)
    _only(body, REFUND_CREATE)
    charge_id = _text(body, "charge", required=True)
    assert charge_id is not None
    return body, charge_id


def refund(body: Json, charge: Json, mint: Mint, *, pending: bool) -> Json:
    """A new head-shaped refund of ``charge`` (its ``charge`` is the charge's id).

    ``pending``: the version includes asynchronous refunds, so the refund is
    answered at once, before the card network settles it.
    """
    if charge["status"] != "succeeded":
        raise BadRequest(f"charge {charge['id']} has status {charge['status']}: only a "
                         "succeeded charge can be refunded", param="charge")
    left = charge["amount"] - charge["amount_refunded"]
    amount = _integer(body, "amount", default=left)
    if not 0 < amount <= left:
        raise BadRequest(f"amount must be between 1 and {left}, what is left to refund of "
                         f"charge {charge['id']}", param="amount")
    return {
        "id": mint.id("re"),
        "object": "refund",
        "amount": amount,
        "currency": charge["currency"],
        "charge": charge["id"],
        "status": "pending" if pending else "succeeded",
        "reason": _choice(body, "reason", _REFUND_REASONS, None),
        "created": mint.seconds(),
        "metadata": _metadata(body),
    }


# -- events --------------------------------------------------------------------


def event(kind: str, obj: Json, request_id: str, idempotency_key: str | None,
          mint: Mint) -> Json:
    """A head-shaped event of type ``kind`` embedding ``obj`` (``created`` in milliseconds)."""
    return {
        "id": mint.id("evt"),
        "object": "event",
        "type": kind,
        "created": mint.milliseconds(),
        "data": {"object": obj},
        "pending_webhooks": 0,
        "context": {"request": {"id": request_id, "idempotency_key": idempotency_key}},
        "livemode": False,
    }
