"""The reproducible demo: a fresh in-memory service, a fixed clock, seeded ids, sample data.

``python -m examples.payments --demo`` serves it; the READMEs' transcripts
come from it, and the documentation tests replay them against it byte for
byte. The sample data: the customer ``cus_katherine`` and her charge
``ch_order1042`` (with the events that created them), and the account
``acct_2020`` pinned to ``2020-05-18`` as if carried over from an older
system.
"""

from __future__ import annotations

import datetime as dt

from examples.payments import resources
from examples.payments.app import PaymentsApp, create_app

NOW = dt.datetime(2026, 11, 22, 5, 11, 22, tzinfo=dt.UTC)
"""The demo's clock: it always reads this moment."""
SEED = 1042
"""The seed of the demo's ids."""
CUSTOMER = "cus_katherine"
CHARGE = "ch_order1042"
LEGACY_ACCOUNT, LEGACY_VERSION = "acct_2020", "2020-05-18"


def clock() -> dt.datetime:
    """The demo's fixed clock."""
    return NOW


def create_demo_app() -> PaymentsApp:
    """The demo service: in-memory storage holding the sample data, its own ``Date`` header."""
    app = create_app(":memory:", ":memory:", clock=clock, seed=SEED, date_header=True)
    service = app.service
    mint = service.mint

    def record(kind: str, obj: resources.Json) -> None:
        service.store.put(obj)
        service.store.put(resources.event(kind, obj, mint.id("req"), None, mint))

    customer = resources.customer({
        "email": "katherine@example.com", "name": "Katherine Johnson", "balance": -1250,
        "default_currency": "eur", "address": {"line1": "1 Main Street", "city": "Berlin",
                                               "postal_code": "10115", "country": "DE"},
        "tax_exempt": "reverse", "phone_number": "+15125551234"}, mint, id=CUSTOMER)
    charge = resources.charge({
        "amount": 1234, "currency": "eur", "customer": CUSTOMER,
        "payment_method": "pm_card_visa", "statement_descriptor_suffix": "ORDER 1042",
        "capture_method": "automatic", "confirm": True},
        lambda kind, id_: customer if id_ == CUSTOMER else None, mint, id=CHARGE)
    with service.store.transaction():
        record("customer.created", customer)
        record("charge.succeeded", charge)
    service.pins.pin_first(LEGACY_ACCOUNT, LEGACY_VERSION)
    return app
