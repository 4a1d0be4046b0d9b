"""A customer's address is one `address` object instead of four flat properties.

`address_line1`, `address_city`, `address_postal_code` and `address_country`
become `address.line1`, `address.city`, `address.postal_code` and
`address.country`, in customers and in customer creation requests, so that
an address can be copied between objects as a whole. Older versions still
see and send the flat properties.
"""

from datever import Change, add, move

_PARTS = ("line1", "city", "postal_code", "country")


# add() first: down then drops the object the moves have emptied, and up
# creates it even for an old request that sends no address at all. An add is
# not shared with request bodies, so customer.create declares its own; a
# body's own operations run before the ones it shares with customer.
change = Change(
    released="2020-05-18",
    resources={
        "customer": [add("address", {}),
                     *(move(f"address_{part}", f"address.{part}") for part in _PARTS)],
        "customer.create": [add("address", {})],
    },
)
