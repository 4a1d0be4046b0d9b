"""A declined charge has status `declined` instead of `failed` (beta).

`failed` mixed up declines by the card network with our own errors, which
will get a status of their own. The charge status and the matching event type
are renamed: `charge.status` `failed` -> `declined` and the event
`charge.failed` -> `charge.declined`. Released versions still see `failed`.
"""

from datever import Change, map_values

change = Change(
    stage="beta",
    beta_since="2026-10-05",
    resources={
        "charge": [map_values("status", {"failed": "declined"})],
        "event": [map_values("type", {"charge.failed": "charge.declined"})],
    },
)
