"""Events about saved payment methods are named after payment methods.

`customer.source.created` is now `payment_method.attached` and
`customer.source.deleted` is `payment_method.detached`: the event's object
has been a payment method since 2019, and "deleted" was wrong, the payment
method still exists after it is detached. Older versions get the old names.
"""

from datever import Change, map_values

change = Change(
    released="2023-10-09",
    resources={
        "event": [
            map_values(
                "type",
                {
                    "customer.source.created": "payment_method.attached",
                    "customer.source.deleted": "payment_method.detached",
                },
            )
        ],
    },
)
