"""A payment method's billing contact is grouped in `billing_details`.

`billing_email` and `billing_name` become `billing_details.email` and
`billing_details.name`, in payment methods and in their creation requests,
the same object wallets such as Apple Pay hand over. Older versions still
see and send the flat properties.
"""

from datever import Change, add, move

# An add is not shared with request bodies: payment_method.create declares
# its own, which runs before the moves it shares with payment_method.
change = Change(
    released="2022-09-12",
    resources={
        "payment_method": [
            add("billing_details", {}),
            move("billing_email", "billing_details.email"),
            move("billing_name", "billing_details.name"),
        ],
        "payment_method.create": [add("billing_details", {})],
    },
)
