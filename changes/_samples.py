"""Seeded sample payloads of the reference payments API, for tests and benchmarks.

The resource generators return *head* shapes: every change in this directory
applied, beta and experimental ones included, exactly what service code
renders before the engine walks a response down to the client's version.
``request_body`` is the exception: it returns request bodies as a client of
the initial version ``v1`` writes them, ready to be migrated up. The same
``random.Random`` seed always gives the same payloads. The leading
underscore keeps the change loader from reading this file as a change.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from typing import Any

import msgspec

__all__ = [
    "REQUEST_RESOURCES",
    "charge",
    "customer",
    "event",
    "list_of",
    "list_payload",
    "payment_method",
    "refund",
    "request_body",
]

Json = dict[str, Any]

_FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia",
          "Tim", "Hedy", "Linus", "Margaret", "Dennis", "Sophie", "Yukihiro")
_LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson",
         "Perlman", "Berners-Lee", "Lamarr", "Torvalds", "Hamilton", "Ritchie", "Wilson",
         "Matsumoto")
_PLACES = (("Berlin", "10115", "DE"), ("Paris", "75001", "FR"), ("Austin", "78701", "US"),
           ("Leeds", "LS1 4AP", "GB"), ("Osaka", "530-0001", "JP"), ("Porto", "4000-322", "PT"))
_STREETS = ("Main Street", "Rue de Rivoli", "Congress Avenue", "Briggate", "Mido-suji",
            "Rua das Flores")
_CURRENCIES = ("usd", "eur", "gbp")
_BRANDS = ("visa", "mastercard", "amex")
_BANKS = ("Sparkasse", "Caixa Geral", "Chase", "Monzo")
_DESCRIPTIONS = ("Order #{n}", "Subscription renewal", "Invoice {n}", "Gift card", None)
_DECLINES = (("card_declined", "The bank declined the payment."),
             ("insufficient_funds", "The card has insufficient funds."),
             ("expired_card", "The card has expired."))
_REFUND_REASONS = ("duplicate", "suspected_fraud", "customer_request", None)
_FIRST_SECOND = 1_551_398_400  # 2019-03-01T00:00:00Z
_LAST_SECOND = 1_759_190_400  # 2025-09-30T00:00:00Z


def _id(rng: random.Random, prefix: str) -> str:
    return prefix + "_" + "".join(rng.choices(string.ascii_letters + string.digits, k=14))


def _created(rng: random.Random) -> int:
    return rng.randint(_FIRST_SECOND, _LAST_SECOND)


def _metadata(rng: random.Random) -> dict[str, str]:
    count = rng.choice((0, 0, 1, 2))
    return {f"key_{index}": _id(rng, "ref") for index in range(count)}


def _person(rng: random.Random) -> tuple[str, str, str]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    email = f"{first.lower()}.{last.lower()}{rng.randint(1, 999)}@example.com"
    return first, last, email


def _address(rng: random.Random) -> Json:
    city, postal_code, country = rng.choice(_PLACES)
    return {
        "line1": f"{rng.randint(1, 200)} {rng.choice(_STREETS)}",
        "city": city,
        "postal_code": postal_code,
        "country": country,
    }


def list_of(items: list[Any], url: str) -> Json:
    """A list envelope holding ``items`` (one complete page)."""
    return {"object": "list", "data": items, "has_more": False, "url": url}


def customer(rng: random.Random) -> Json:
    """A head-shaped customer."""
    first, last, email = _person(rng)
    return {
        "id": _id(rng, "cus"),
        "object": "customer",
        "email": email,
        "name": rng.choice((f"{first} {last}", f"{first} {last}", first, None)),
        "balance": rng.choice((0, 0, 0, rng.randint(-50_000, -1), rng.randint(1, 50_000))),
        "default_currency": rng.choice((*_CURRENCIES, None)),
        "address": _address(rng),
        "invoice_settings": {"footer": rng.choice((None, "Thank you for your business."))},
        "default_payment_method": rng.choice((_id(rng, "pm"), None)),
        "tax_exempt": rng.choice(("none", "none", "none", "exempt", "reverse")),
        "phone_number": rng.choice((f"+1512555{rng.randint(1000, 9999)}", None)),
        "created": _created(rng),
        "metadata": _metadata(rng),
        "livemode": rng.random() < 0.8,
    }


def payment_method(rng: random.Random, customer_id: str | None = None) -> Json:
    """A head-shaped payment method, attached to ``customer_id`` when given."""
    kind = rng.choice(("card", "card", "card", "sepa_debit", "us_bank_account"))
    first, last, email = _person(rng)
    card = None
    bank_account = None
    if kind == "card":
        card = {
            "brand": rng.choice(_BRANDS),
            "last4": f"{rng.randint(0, 9999):04d}",
            "exp_month": rng.randint(1, 12),
            "exp_year": rng.randint(2025, 2032),
        }
    else:
        bank_account = {
            "bank_name": rng.choice(_BANKS),
            "last4": f"{rng.randint(0, 9999):04d}",
            "country": "US" if kind == "us_bank_account" else rng.choice(("DE", "FR", "PT")),
        }
    return {
        "id": _id(rng, "pm"),
        "object": "payment_method",
        "type": kind,
        "card": card,
        "bank_account": bank_account,
        "billing_details": {"email": email, "name": f"{first} {last}"},
        "customer": customer_id,
        "created": _created(rng),
        "metadata": _metadata(rng),
        "livemode": rng.random() < 0.8,
    }


def _refund(rng: random.Random, charge_id: str, amount: int, currency: str) -> Json:
    return {
        "id": _id(rng, "re"),
        "object": "refund",
        "amount": amount,
        "currency": currency,
        "charge": charge_id,
        "status": rng.choice(("succeeded", "succeeded", "succeeded", "pending", "failed")),
        "reason": rng.choice(_REFUND_REASONS),
        "created": _created(rng),
        "metadata": _metadata(rng),
    }


def charge(rng: random.Random, *, refunds: bool = True) -> Json:
    """A head-shaped charge: customer and payment method expanded, refunds listed.

    ``refunds=False`` gives an empty refunds list (for a charge expanded
    inside a refund).
    """
    charge_id = _id(rng, "ch")
    amount = rng.randint(50, 500_000)
    currency = rng.choice(_CURRENCIES)
    status = rng.choices(("succeeded", "pending", "declined"), weights=(85, 5, 10))[0]
    buyer = customer(rng) if rng.random() < 0.9 else None
    method = payment_method(rng, buyer["id"] if buyer else None)
    refund_list: list[Json] = []
    if refunds and status == "succeeded":
        left = amount
        for _ in range(rng.choice((0, 0, 0, 1, 2))):
            part = rng.choice((left, rng.randint(1, left)))
            refund_list.append(_refund(rng, charge_id, part, currency))
            left -= part
            if not left:
                break
    reason, message = rng.choice(_DECLINES) if status == "declined" else (None, None)
    description = rng.choice(_DESCRIPTIONS)
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_refunded": sum(r["amount"] for r in refund_list if r["status"] != "failed"),
        "currency": currency,
        "status": status,
        "captured": status == "succeeded",
        "capture_method": rng.choice(("automatic", "automatic", "automatic", "manual")),
        "customer": buyer,
        "payment_method": method,
        "description": description.format(n=rng.randint(1000, 99999)) if description else None,
        "statement_descriptor_suffix": rng.choice((None, "ORDER", f"INV{rng.randint(1, 999)}")),
        "receipt_email": buyer["email"] if buyer and rng.random() < 0.7 else None,
        "outcome": {
            "network_status": "declined_by_network" if reason else "approved_by_network",
            "risk_level": rng.choice(("normal", "normal", "normal", "elevated", "highest")),
            "reason": reason,
            "seller_message": message,
        },
        "refunds": list_of(refund_list, f"/v1/charges/{charge_id}/refunds"),
        "created": _created(rng),
        "metadata": _metadata(rng),
        "livemode": rng.random() < 0.8,
    }


def refund(rng: random.Random) -> Json:
    """A head-shaped refund as listed on its own: its charge is expanded."""
    refunded = charge(rng, refunds=False)
    amount = rng.randint(1, refunded["amount"])
    result = _refund(rng, refunded["id"], amount, refunded["currency"])
    result["charge"] = refunded
    return result


def _charge_event_type(obj: Json) -> str:
    if obj["refunds"]["data"]:
        return "charge.refunded"
    return {"succeeded": "charge.succeeded", "pending": "charge.pending",
            "declined": "charge.declined"}[obj["status"]]


_EVENT_OBJECTS: tuple[tuple[Callable[[random.Random], Json], Callable[[Json], str]], ...] = (
    (charge, _charge_event_type),
    (customer, lambda _: "customer.created"),
    (customer, lambda _: "customer.updated"),
    (refund, lambda _: "refund.created"),
    (refund, lambda obj: "refund.updated" if obj["status"] != "pending" else "refund.created"),
    (payment_method, lambda _: "payment_method.attached"),
    (payment_method, lambda _: "payment_method.detached"),
)


def event(rng: random.Random) -> Json:
    """A head-shaped event embedding a charge, customer, refund or payment method."""
    make, type_of = rng.choice(_EVENT_OBJECTS)
    obj = make(rng)
    request = None
    if rng.random() < 0.7:
        key = rng.choice((None, _id(rng, "idem")))
        request = {"id": _id(rng, "req"), "idempotency_key": key}
    return {
        "id": _id(rng, "evt"),
        "object": "event",
        "type": type_of(obj),
        "created": _created(rng) * 1000 + rng.randint(0, 999),
        "data": {"object": obj},
        "pending_webhooks": rng.randint(0, 3),
        "context": {"request": request},
        "livemode": obj.get("livemode", True),
    }


def list_payload(seed: int = 0, size: int = 20_000) -> Json:
    """A list of charges, every sixth item an event, about ``size`` bytes as JSON.

    Items are added until the encoded list reaches ``size`` bytes, so it
    overshoots by less than one item (a charge is 1 to 3 KB). Every resource
    type of the API appears once the payload holds a dozen items or so.
    """
    rng = random.Random(seed)
    url = "/v1/charges"
    items: list[Json] = []
    total = len(msgspec.json.encode(list_of([], url)))
    while total < size:
        item = event(rng) if len(items) % 6 == 5 else charge(rng)
        items.append(item)
        total += len(msgspec.json.encode(item)) + (1 if len(items) > 1 else 0)
    return list_of(items, url)


# -- request bodies of the initial version ----------------------------------


def _decimal(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _charge_create(rng: random.Random) -> Json:
    _, _, email = _person(rng)
    return {
        "amount": _decimal(rng.randint(50, 500_000)),
        "currency": rng.choice(_CURRENCIES).upper(),
        "customer": _id(rng, "cus"),
        "source": _id(rng, "pm"),
        "description": rng.choice(("Order 1042", "Subscription renewal", None)),
        "statement_descriptor": rng.choice(("ORDER 1042", None)),
        "receipt_email": email,
        "capture": rng.random() < 0.8,
        "metadata": _metadata(rng),
    }


def _customer_create(rng: random.Random) -> Json:
    first, last, email = _person(rng)
    address = _address(rng)
    return {
        "email": email,
        "first_name": first,
        "last_name": last,
        "account_balance": rng.choice(("0.00", "-12.50", "100.00")),
        "currency": rng.choice(_CURRENCIES).upper(),
        "address_line1": address["line1"],
        "address_city": address["city"],
        "address_postal_code": address["postal_code"],
        "address_country": address["country"],
        "invoice_settings": {"default_payment_method": _id(rng, "pm"), "footer": None},
        "tax_exempt": rng.random() < 0.2,
        "phone": f"+1512555{rng.randint(1000, 9999)}",
        "metadata": _metadata(rng),
    }


def _refund_create(rng: random.Random) -> Json:
    return {
        "charge": _id(rng, "ch"),
        "amount": _decimal(rng.randint(1, 50_000)),
        "reason": rng.choice(("duplicate", "fraudulent", "requested_by_customer")),
        "metadata": _metadata(rng),
    }


def _payment_method_create(rng: random.Random) -> Json:
    first, last, email = _person(rng)
    kind = rng.choice(("card", "sepa", "ach"))
    body: Json = {"type": kind}
    if kind == "card":
        body["card"] = {"number": "4242424242424242", "exp_month": rng.randint(1, 12),
                        "exp_year": rng.randint(2025, 2032), "cvc": f"{rng.randint(0, 999):03d}"}
    elif kind == "sepa":
        body["bank_account"] = {"country": "DE", "account_number": "DE89370400440532013000"}
    else:
        body["bank_account"] = {"country": "US", "routing_number": "110000000",
                                "account_number": "000123456789"}
    body.update(billing_email=email, billing_name=f"{first} {last}", metadata=_metadata(rng))
    return body


_REQUESTS: dict[str, Callable[[random.Random], Json]] = {
    "charge.create": _charge_create,
    "customer.create": _customer_create,
    "refund.create": _refund_create,
    "payment_method.create": _payment_method_create,
}
#: the request resources ``request_body`` knows
REQUEST_RESOURCES: tuple[str, ...] = tuple(_REQUESTS)


def request_body(resource: str, rng: random.Random) -> Json:
    """A request body for ``resource`` (``"charge.create"``) as a ``v1`` client sends it."""
    try:
        make = _REQUESTS[resource]
    except KeyError:
        raise ValueError(f"no sample request for {resource!r}; "
                         f"known: {', '.join(REQUEST_RESOURCES)}") from None
    return make(rng)
