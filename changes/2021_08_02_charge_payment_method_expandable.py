"""A charge's `payment_method` is the expanded payment method object instead of its id.

Receipts and dashboards need the card brand and last four digits of every
charge; expanding the payment method saves a request per charge. Older
versions still get the id string `pm_...`.
"""

from datever import Change, collapse

change = Change(
    released="2021-08-02",
    resources={"charge": [collapse("payment_method")]},
)
