"""A refund's `charge` may be the expanded charge object instead of its id.

Refunds listed on their own (and refund events) carry the refunded charge
expanded, so that a client can show what was refunded without a second
request; refunds inside a charge's own `refunds` list keep the id. Older
versions always get the id string `ch_...`.
"""

from datever import Change, collapse

change = Change(
    released="2020-08-24",
    resources={"refund": [collapse("charge")]},
)
