"""The charge's boolean `refunded` is removed; compare `amount_refunded` with `amount`.

`refunded` was only true for a full refund, and clients kept reading it as
"has any refund". Older versions still get it, computed as "the whole amount
was refunded".
"""

from typing import Any

from datever import Change, remove


def _fully_refunded(charge: dict[str, Any]) -> bool:
    amount: int = charge["amount"]
    refunded: int = charge["amount_refunded"]
    return amount > 0 and refunded >= amount


change = Change(
    released="2024-04-15",
    resources={"charge": [remove("refunded", compute=_fully_refunded)]},
)
