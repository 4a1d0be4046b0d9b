"""A charge's `refunds` is a paginated list object instead of a plain array.

A charge with many partial refunds produced unbounded responses. `refunds`
now holds the usual list envelope (`{"object": "list", "data": [...],
"has_more": ..., "url": "/v1/charges/<id>/refunds"}`) with the first page of
refunds; the rest are fetched from `url`. Older versions still get the array
(only the first page when `has_more` is true, which is why this is lossy).
"""

from typing import Any, Union

from datever import Change, custom

# In old_types a string names a resource. The array holds what the head's list envelope
# holds (the data of a list may be any response resource), so older versions say so too.
_LISTED = ("refund", "charge", "customer", "payment_method", "event")
_ITEM = Union[_LISTED]  # noqa: UP007 - names, not types: a | b would not build the union


def _list_to_array(charge: dict[str, Any]) -> None:
    refunds = charge.get("refunds")
    if isinstance(refunds, dict):
        charge["refunds"] = refunds["data"]


def _array_to_list(charge: dict[str, Any]) -> None:
    refunds = charge.get("refunds")
    if isinstance(refunds, list):
        charge["refunds"] = {
            "object": "list",
            "data": refunds,
            "has_more": False,
            "url": f"/v1/charges/{charge['id']}/refunds",
        }


change = Change(
    released="2020-02-03",
    resources={
        "charge": [
            custom(
                down=_list_to_array,
                up=_array_to_list,
                description="wrap 'refunds' in a list envelope (older versions get the array)",
                # it moves the nested refunds without reading them, so the
                # order in which they are migrated does not matter here
                touches=("refunds",),
                old_types={"refunds": list[_ITEM]},
            )
        ],
    },
)
