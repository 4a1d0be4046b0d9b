"""Payment method types name the scheme: `sepa` -> `sepa_debit`, `ach` -> `us_bank_account`.

`sepa` and `ach` named networks rather than how the customer pays, and SEPA
credit transfers are coming. Payment methods and their creation requests use
the new type names; `card` is unchanged.
"""

from datever import Change, map_values

_TYPES = {"sepa": "sepa_debit", "ach": "us_bank_account"}

change = Change(
    released="2023-03-20",
    resources={"payment_method": [map_values("type", _TYPES)]},
)
