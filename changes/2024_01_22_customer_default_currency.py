"""The customer's `currency` is renamed `default_currency`.

A customer can be charged in any currency; this is only the one used when a
request names none. Customers and customer creation requests use the new
name.
"""

from datever import Change, rename

change = Change(
    released="2024-01-22",
    resources={"customer": [rename("currency", "default_currency")]},
)
