"""A charge's `customer` is the expanded customer object instead of its id.

Nearly every client fetched the customer right after the charge. `customer`
now holds the full customer object (or `null` for a guest charge). Older
versions still get the id string `cus_...`.
"""

from datever import Change, collapse

change = Change(
    released="2020-08-24",
    resources={"charge": [collapse("customer")]},
)
