"""The customer's `phone` is renamed `phone_number`.

It matches `billing_details` and the wording of every other API that
collects phone numbers. Customers and customer creation requests use the new
name.
"""

from datever import Change, rename

change = Change(
    released="2025-09-29",
    resources={"customer": [rename("phone", "phone_number")]},
)
