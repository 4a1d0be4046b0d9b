"""Refunds no longer carry a `receipt_number`.

Refund receipts are numbered by the merchant's own accounting system now;
the number we generated was never printed anywhere. Older versions still get
the property, always `null`.
"""

from datever import Change, remove

change = Change(
    released="2022-02-28",
    resources={"refund": [remove("receipt_number", None)]},
)
