"""A successful charge has status `succeeded` instead of `paid`.

`paid` read as if money had already reached the merchant's bank account,
which it had not. The charge status and the matching event type are renamed:
`charge.status` `paid` -> `succeeded` and the event `charge.paid` ->
`charge.succeeded`. Older versions still see `paid` and `charge.paid`.
"""

from datever import Change, map_values

change = Change(
    released="2019-08-05",
    resources={
        "charge": [map_values("status", {"paid": "succeeded"})],
        "event": [map_values("type", {"charge.paid": "charge.succeeded"})],
    },
)
