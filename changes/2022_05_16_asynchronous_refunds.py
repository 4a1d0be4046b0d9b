"""Refunds are asynchronous: creating a refund returns it with status `pending`.

Creating a refund used to block until the card network confirmed it, which
took up to 30 seconds. From this version the request returns at once with
`status: "pending"` and a `refund.updated` event follows when the refund
settles. This is a side effect, not a transform: for older versions the
refund service keeps waiting for the final status before it answers
(service code checks `version.includes(...)` for this change).
"""

from datever import Change

change = Change(released="2022-05-16", side_effects=True)
