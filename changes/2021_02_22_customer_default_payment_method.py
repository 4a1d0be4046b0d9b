"""The customer's default payment method moves out of `invoice_settings`.

`invoice_settings.default_payment_method` is now the top-level
`default_payment_method`: it is used for every charge, not just invoices.
`invoice_settings` keeps its other settings (`footer`). Customer creation
requests take the new place too. Older versions still find it inside
`invoice_settings`.
"""

from datever import Change, move

change = Change(
    released="2021-02-22",
    resources={
        "customer": [move("invoice_settings.default_payment_method", "default_payment_method")],
    },
)
