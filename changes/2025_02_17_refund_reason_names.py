"""Refund reasons `fraudulent` and `requested_by_customer` are renamed.

They are now `suspected_fraud` and `customer_request`. `fraudulent` was read
as a verdict, which card networks dispute; the refund only records the
merchant's suspicion. Refunds and refund creation requests use the new names;
`duplicate` is unchanged.
"""

from datever import Change, map_values

_REASONS = {"fraudulent": "suspected_fraud", "requested_by_customer": "customer_request"}

change = Change(
    released="2025-02-17",
    resources={"refund": [map_values("reason", _REASONS)]},
)
