"""List objects no longer carry `count`.

`count` was the number of items in `data`, which clients can count themselves,
and it was routinely mistaken for the total number of matching objects.
Older versions still get it, computed from `data`.
"""

from typing import Any

from datever import Change, remove


def _count(envelope: dict[str, Any]) -> int:
    return len(envelope["data"])


change = Change(
    released="2020-02-03",
    resources={"list": [remove("count", compute=_count)]},
)
