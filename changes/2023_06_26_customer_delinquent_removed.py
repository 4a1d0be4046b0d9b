"""Customers no longer carry `delinquent`.

The flag was set after one failed invoice payment and never cleared
reliably; dunning state now lives with subscriptions. Older versions still
get `delinquent`, always `false`.
"""

from datever import Change, remove

change = Change(
    released="2023-06-26",
    resources={"customer": [remove("delinquent", False)]},
)
