"""A customer has one `name` instead of `first_name` and `last_name`.

Many names do not split into a first and a last part, and customers were
asked to invent one. Customers and customer creation requests carry a single
`name`. Older versions get the name split at its first space (`first_name`
is everything before it, `last_name` the rest); an old request's two parts
are joined with a space.
"""

from typing import Any

from datever import Change, custom


def _split_name(customer: dict[str, Any]) -> None:
    if "name" not in customer:
        return
    first, _, last = (customer.pop("name") or "").partition(" ")
    customer["first_name"] = first or None
    customer["last_name"] = last or None


def _join_name(customer: dict[str, Any]) -> None:
    if "first_name" not in customer and "last_name" not in customer:
        return
    parts = (customer.pop("first_name", None), customer.pop("last_name", None))
    customer["name"] = " ".join(part for part in parts if part) or None


change = Change(
    released="2021-11-15",
    resources={
        "customer": [
            custom(
                down=_split_name,
                up=_join_name,
                description="join 'first_name' and 'last_name' into 'name'",
                touches=("first_name", "last_name", "name"),
                old_types={"first_name": str | None, "last_name": str | None},
            )
        ],
    },
)
