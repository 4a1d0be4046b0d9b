"""The resources of the reference payments API.

Each response resource lists the request bodies that share its properties:
an operation a change declares on `charge` rewrites `charge.create` bodies
too (except `add`, `remove` and `collapse`, which describe what responses
render). `metadata` is the merchant's own data: whatever it holds, even an
`"object": "charge"`, is never migrated.
"""

from datever import Resource

charge = Resource("charge", requests=("charge.create",), opaque=("metadata",))
customer = Resource("customer", requests=("customer.create",), opaque=("metadata",))
refund = Resource("refund", requests=("refund.create",), opaque=("metadata",))
payment_method = Resource("payment_method", requests=("payment_method.create",),
                          opaque=("metadata",))
event = Resource("event")
list_envelope = Resource("list")
