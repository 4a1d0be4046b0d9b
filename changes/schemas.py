"""The head shapes of the reference payments API, as msgspec Structs.

Response resources are tagged by `object`; request bodies are named in
`requests=`, with the response resource whose operations each shares. Every
version's shapes are derived from these by running the changes backwards;
the loader refuses a change that names a property a resource does not have
at that point of history. `metadata` is a free-form map: user data, never
walked for resources.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from datever import Schemas

#: an amount in cents: at most 999,999.99 in any currency (Stripe's own limit)
Amount = Annotated[int, msgspec.Meta(ge=0, le=99_999_999)]
#: what a customer owes (positive) or is owed (negative), in cents
Balance = Annotated[int, msgspec.Meta(ge=-999_999_999_999, le=999_999_999_999)]
#: a lowercase ISO 4217 code
Currency = Annotated[str, msgspec.Meta(pattern="^[a-z]{3}$")]
#: Unix seconds, from the epoch to the end of the year 9999
Timestamp = Annotated[int, msgspec.Meta(ge=0, le=253_402_300_799)]
#: Unix milliseconds, over the same span
TimestampMs = Annotated[int, msgspec.Meta(ge=0, le=253_402_300_799_999)]


class Shape(msgspec.Struct, forbid_unknown_fields=True):
    """Strict: a payload with a property its version does not have is refused."""


class Address(Shape):
    """A customer's postal address."""

    line1: str | None
    city: str | None
    postal_code: str | None
    country: str | None


class InvoiceSettings(Shape):
    """How a customer's invoices are rendered."""

    footer: str | None


class Customer(Shape, tag_field="object", tag="customer"):
    """A customer."""

    id: str
    email: str | None
    name: str | None
    balance: Balance
    default_currency: Currency | None
    address: Address
    invoice_settings: InvoiceSettings
    default_payment_method: str | None
    tax_exempt: Literal["none", "exempt", "reverse"]
    phone_number: str | None
    created: Timestamp
    metadata: dict[str, str]
    livemode: bool


class Card(Shape):
    """The card of a card payment method."""

    brand: str
    last4: str
    exp_month: int
    exp_year: int


class BankAccount(Shape):
    """The bank account of a debit payment method."""

    bank_name: str
    last4: str
    country: str


class BillingDetails(Shape):
    """Who pays with a payment method."""

    email: str | None
    name: str | None


class PaymentMethod(Shape, tag_field="object", tag="payment_method"):
    """A stored way to pay."""

    id: str
    type: Literal["card", "sepa_debit", "us_bank_account"]
    card: Card | None
    bank_account: BankAccount | None
    billing_details: BillingDetails
    customer: str | None
    created: Timestamp
    metadata: dict[str, str]
    livemode: bool


class Refund(Shape, tag_field="object", tag="refund"):
    """A refund: its charge is expanded when listed on its own, an id inside a charge."""

    id: str
    amount: Amount
    currency: Currency
    charge: str | Charge
    status: Literal["succeeded", "pending", "failed"]
    reason: Literal["duplicate", "suspected_fraud", "customer_request"] | None
    created: Timestamp
    metadata: dict[str, str]


class Outcome(Shape):
    """What the card network and the fraud checks said about a charge."""

    network_status: str | None
    risk_level: str
    reason: str | None
    seller_message: str | None


class ListEnvelope(Shape, tag_field="object", tag="list"):
    """One page of a list of resources."""

    data: list[Charge | Customer | Refund | PaymentMethod | Event]
    has_more: bool
    url: str


class Charge(Shape, tag_field="object", tag="charge"):
    """A charge: its customer and payment method expanded, its refunds listed."""

    id: str
    amount: Amount
    amount_refunded: Amount
    currency: Currency
    status: Literal["succeeded", "pending", "declined", "requires_confirmation"]
    captured: bool
    capture_method: Literal["automatic", "manual"]
    customer: Customer | None
    payment_method: str | PaymentMethod | None
    description: str | None
    statement_descriptor_suffix: str | None
    receipt_email: str | None
    outcome: Outcome
    refunds: ListEnvelope
    created: Timestamp
    metadata: dict[str, str]
    livemode: bool


class EventRequest(Shape):
    """The API request that caused an event."""

    id: str
    idempotency_key: str | None


class EventContext(Shape):
    """What caused an event."""

    request: EventRequest | None


class EventData(Shape):
    """The resource an event is about."""

    object: Charge | Customer | Refund | PaymentMethod


class Event(Shape, tag_field="object", tag="event"):
    """Something that happened, sent to webhooks (`created` in milliseconds)."""

    id: str
    type: str
    created: TimestampMs
    data: EventData
    pending_webhooks: int
    context: EventContext
    livemode: bool


class ChargeCreate(Shape, kw_only=True):
    """The body of a charge creation request."""

    amount: Amount
    currency: Currency
    customer: str | None = None
    payment_method: str | None = None
    description: str | None = None
    receipt_email: str | None = None
    capture_method: Literal["automatic", "manual"] = "automatic"
    statement_descriptor_suffix: str | None = None
    confirm: bool = False
    metadata: dict[str, str] = {}


class CustomerCreateSettings(Shape, kw_only=True):
    """The invoice settings of a customer creation request."""

    footer: str | None = None


class AddressCreate(Shape, kw_only=True):
    """The address a customer creation request sends: any part may be left out."""

    line1: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None


class CustomerCreate(Shape, kw_only=True):
    """The body of a customer creation request."""

    email: str | None = None
    name: str | None = None
    balance: Balance = 0
    default_currency: Currency | None = None
    address: AddressCreate | None = None
    invoice_settings: CustomerCreateSettings | None = None
    default_payment_method: str | None = None
    tax_exempt: Literal["none", "exempt", "reverse"] = "none"
    phone_number: str | None = None
    metadata: dict[str, str] = {}


class RefundCreate(Shape, kw_only=True):
    """The body of a refund creation request."""

    charge: str
    amount: Amount | None = None
    reason: Literal["duplicate", "suspected_fraud", "customer_request"] | None = None
    metadata: dict[str, str] = {}


class CardDetails(Shape, kw_only=True):
    """The card a payment method creation request sends."""

    number: str
    exp_month: int
    exp_year: int
    cvc: str


class BankAccountDetails(Shape, kw_only=True):
    """The bank account a payment method creation request sends."""

    country: str
    account_number: str
    routing_number: str | None = None


class BillingDetailsCreate(Shape, kw_only=True):
    """Who pays with a payment method, as a creation request sends it: either may be left
    out."""

    email: str | None = None
    name: str | None = None


class PaymentMethodCreate(Shape, kw_only=True):
    """The body of a payment method creation request."""

    type: Literal["card", "sepa_debit", "us_bank_account"]
    card: CardDetails | None = None
    bank_account: BankAccountDetails | None = None
    billing_details: BillingDetailsCreate | None = None
    metadata: dict[str, str] = {}


schemas = Schemas(
    [Charge, Customer, Refund, PaymentMethod, Event, ListEnvelope],
    requests={
        "charge.create": ChargeCreate,
        "customer.create": CustomerCreate,
        "refund.create": RefundCreate,
        "payment_method.create": PaymentMethodCreate,
    },
    # what resources.py declares too: an operation on `charge` rewrites `charge.create`
    shares={"charge.create": "charge", "customer.create": "customer",
            "refund.create": "refund", "payment_method.create": "payment_method"},
)
