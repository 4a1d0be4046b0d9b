"""The customer's `account_balance` is renamed `balance` and counted in cents.

It follows the 2019-04-15 change to charge amounts, which missed this
property: the balance is now an integer in the smallest currency unit, and
the shorter name matches the dashboard. Customer creation requests use the
new name and type too. Older versions still see and send
`account_balance` as a decimal string (`"-12.50"`).
"""

from decimal import Decimal

from datever import Change, Operation, convert, rename


def _cents_to_decimal(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    return f"{sign}{whole}.{fraction:02d}"


def _decimal_to_cents(text: str) -> int:
    cents = Decimal(text).scaleb(2)
    if cents != cents.to_integral_value():
        raise ValueError(f"balance {text!r} has more than two decimal places")
    return int(cents)


def _balance() -> list[Operation]:
    return [
        rename("account_balance", "balance"),
        convert("balance", down=_cents_to_decimal, up=_decimal_to_cents, lossless=True),
    ]


change = Change(
    released="2020-11-09",
    resources={"customer": _balance(), "customer.create": _balance()},
)
