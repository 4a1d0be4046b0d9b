"""Charge creation requests must say `confirm: true` to charge at once.

A charge created without `confirm` now waits in `requires_confirmation`, so
that 3-D Secure can run before money moves. Requests of older versions were
always confirmed immediately, so they get `confirm: true`.
"""

from datever import Change, add

change = Change(
    released="2024-07-29",
    resources={"charge.create": [add("confirm", True)]},
)
