"""Amounts are integers in the smallest currency unit instead of decimal strings.

`charge.amount`, `charge.amount_refunded` and `refund.amount` are now integers
counted in cents (`1234` for 12.34), and the `amount` of charge and refund
creation requests is read the same way. Decimal strings tempted clients to
parse money as floats; integers cannot be rounded by accident. Older versions
still see and send strings with exactly two decimal places (`"12.34"`); a
request amount with more decimals is rejected.
"""

from decimal import Decimal

from datever import Change, convert


def _cents_to_decimal(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    return f"{sign}{whole}.{fraction:02d}"


def _decimal_to_cents(text: str) -> int:
    cents = Decimal(text).scaleb(2)
    if cents != cents.to_integral_value():
        raise ValueError(f"amount {text!r} has more than two decimal places")
    return int(cents)


change = Change(
    released="2019-04-15",
    resources={
        "charge": [
            convert("amount", down=_cents_to_decimal, up=_decimal_to_cents, lossless=True),
            convert("amount_refunded", down=_cents_to_decimal, up=_decimal_to_cents, lossless=True),
        ],
        "charge.create": [
            convert("amount", down=_cents_to_decimal, up=_decimal_to_cents, lossless=True),
        ],
        "refund": [convert("amount", down=_cents_to_decimal, up=_decimal_to_cents, lossless=True)],
        "refund.create": [
            convert("amount", down=_cents_to_decimal, up=_decimal_to_cents, lossless=True),
        ],
    },
)
