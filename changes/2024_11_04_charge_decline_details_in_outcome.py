"""Decline details move into the charge's `outcome`.

`failure_code` becomes `outcome.reason` and `failure_message` becomes
`outcome.seller_message`, next to the risk and network results they explain
(both stay `null` for charges that were not declined). Older versions still
see the two flat properties.
"""

from datever import Change, move

change = Change(
    released="2024-11-04",
    resources={
        "charge": [
            move("failure_code", "outcome.reason"),
            move("failure_message", "outcome.seller_message"),
        ],
    },
)
