"""The charge's `source` is renamed `payment_method`.

Charges are paid with payment methods (`pm_...`) since those became the only
way to store card and bank details; the old name suggested the legacy card
"sources". Both the charge and the charge creation request use the new name.
"""

from datever import Change, rename

change = Change(
    released="2019-11-11",
    resources={"charge": [rename("source", "payment_method")]},
)
