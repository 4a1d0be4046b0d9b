"""The customer's `account_balance` is renamed `balance` and counted in cents.

It follows the 2019-04-15 change to charge amounts, which missed this
property: the balance is now an integer in the smallest currency unit, and
the shorter name matches the dashboard. Customer creation requests use the
new name and type too. Older versions still see and send
`account_balance` as a decimal string (`"-12.50"`).
"""

from decimal import Context, Decimal, InvalidOperation
from typing import Annotated

from msgspec import Meta

from datever import Change, convert, rename

# Converters run on every request and response: they refuse absurd input before any
# big arithmetic (int(Decimal("1e999000")) alone takes many seconds of CPU).
_DIGITS = 18  # at most 18 digits of cents: every balance fits a signed 64-bit integer
_TOO_MANY_CENTS = 10**_DIGITS
_LONGEST = 40  # characters of a decimal string: the digits, a sign, a point, some zeros
_EXACT = Context(prec=_LONGEST)  # such a string has no more digits: scaling never rounds
# what older versions send and see: the head's balance of at most 12 digits of cents
_DECIMAL = Annotated[str, Meta(pattern=r"^-?[0-9]{1,10}\.[0-9]{2}$")]


def _cents_to_decimal(cents: int) -> str:
    if type(cents) is not int:  # True is an int to Python, not to JSON
        raise ValueError(f"balance must be an integer number of cents, "
                         f"got {type(cents).__name__}")
    if abs(cents) >= _TOO_MANY_CENTS:
        raise ValueError(f"balance has more than {_DIGITS} digits of cents")
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    return f"{sign}{whole}.{fraction:02d}"


def _decimal_to_cents(text: str) -> int:
    if type(text) is not str:
        raise ValueError(f'balance must be a decimal string such as "12.34", '
                         f"got {type(text).__name__}")
    if len(text) > _LONGEST:
        raise ValueError(f"balance is longer than {_LONGEST} characters")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"balance {text!r} is not a decimal number") from None
    if not value.is_finite():
        raise ValueError(f"balance {text!r} is not a finite number")
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int) or not -_LONGEST <= exponent <= _DIGITS:
        raise ValueError(f"balance {text!r} has an exponent out of range")
    if value and value.adjusted() >= _DIGITS - 2:
        raise ValueError(f"balance {text!r} has more than {_DIGITS} digits of cents")
    cents = value.scaleb(2, _EXACT)
    if cents != cents.to_integral_value():
        raise ValueError(f"balance {text!r} has more than two decimal places")
    return int(cents)


change = Change(
    released="2020-11-09",
    resources={
        "customer": [
            rename("account_balance", "balance"),
            convert("balance", down=_cents_to_decimal, up=_decimal_to_cents, lossless=True,
                    old_type=_DECIMAL),
        ],
    },
)
