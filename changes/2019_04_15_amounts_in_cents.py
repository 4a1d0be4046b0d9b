"""Amounts are integers in the smallest currency unit instead of decimal strings.

`charge.amount`, `charge.amount_refunded` and `refund.amount` are now integers
counted in cents (`1234` for 12.34), and the `amount` of charge and refund
creation requests is read the same way. Decimal strings tempted clients to
parse money as floats; integers cannot be rounded by accident. Older versions
still see and send strings with exactly two decimal places (`"12.34"`); a
request amount with more decimals is rejected.
"""

from decimal import Context, Decimal, InvalidOperation
from typing import Annotated

from msgspec import Meta

from datever import Change, convert

# Converters run on every request and response: they refuse absurd input before any
# big arithmetic (int(Decimal("1e999000")) alone takes many seconds of CPU).
_DIGITS = 18  # at most 18 digits of cents: every amount fits a signed 64-bit integer
_TOO_MANY_CENTS = 10**_DIGITS
_LONGEST = 40  # characters of a decimal string: the digits, a sign, a point, some zeros
_EXACT = Context(prec=_LONGEST)  # such a string has no more digits: scaling never rounds
# what older versions send and see: the head's 0 to 99999999 cents, as "0.00" to "999999.99"
_DECIMAL = Annotated[str, Meta(pattern=r"^[0-9]{1,6}\.[0-9]{2}$")]


def _cents_to_decimal(cents: int) -> str:
    if type(cents) is not int:  # True is an int to Python, not to JSON
        raise ValueError(f"amount must be an integer number of cents, "
                         f"got {type(cents).__name__}")
    if abs(cents) >= _TOO_MANY_CENTS:
        raise ValueError(f"amount has more than {_DIGITS} digits of cents")
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    return f"{sign}{whole}.{fraction:02d}"


def _decimal_to_cents(text: str) -> int:
    if type(text) is not str:
        raise ValueError(f'amount must be a decimal string such as "12.34", '
                         f"got {type(text).__name__}")
    if len(text) > _LONGEST:
        raise ValueError(f"amount is longer than {_LONGEST} characters")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"amount {text!r} is not a decimal number") from None
    if not value.is_finite():
        raise ValueError(f"amount {text!r} is not a finite number")
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int) or not -_LONGEST <= exponent <= _DIGITS:
        raise ValueError(f"amount {text!r} has an exponent out of range")
    if value and value.adjusted() >= _DIGITS - 2:
        raise ValueError(f"amount {text!r} has more than {_DIGITS} digits of cents")
    cents = value.scaleb(2, _EXACT)
    if cents != cents.to_integral_value():
        raise ValueError(f"amount {text!r} has more than two decimal places")
    return int(cents)


change = Change(
    released="2019-04-15",
    resources={
        # responses: resources are found by their "object" property at any depth;
        # resources.py says which request bodies share these properties
        "charge": [
            convert("amount", down=_cents_to_decimal, up=_decimal_to_cents, lossless=True,
                    old_type=_DECIMAL),
            convert("amount_refunded", down=_cents_to_decimal, up=_decimal_to_cents,
                    lossless=True, old_type=_DECIMAL),
        ],
        "refund": [convert("amount", down=_cents_to_decimal, up=_decimal_to_cents,
                           lossless=True, old_type=_DECIMAL)],
    },
)
