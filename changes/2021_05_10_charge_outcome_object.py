"""A charge's risk and network results are grouped in an `outcome` object.

`risk_level` and `network_status` become `outcome.risk_level` and
`outcome.network_status`; the `outcome` object will gather everything the
card network and the fraud checks said about the charge. Older versions
still see the two flat properties.
"""

from datever import Change, add, move

change = Change(
    released="2021-05-10",
    resources={
        "charge": [
            add("outcome", {}),
            move("risk_level", "outcome.risk_level"),
            move("network_status", "outcome.network_status"),
        ],
    },
)
