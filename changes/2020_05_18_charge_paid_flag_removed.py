"""The charge's boolean `paid` is removed; read `status` instead.

`paid` duplicated `status == "succeeded"` and the two disagreed for a few
seconds while a charge settled. Older versions still get `paid`, computed
from `status`.
"""

from typing import Any

from datever import Change, remove


def _paid(charge: dict[str, Any]) -> bool:
    return bool(charge.get("status") == "succeeded")


change = Change(
    released="2020-05-18",
    resources={"charge": [remove("paid", compute=_paid)]},
)
