"""An event's `request` moves into a new `context` object.

`context` will describe everything that caused an event (the request today,
automations and scheduled jobs soon); `request` becomes `context.request`.
Older versions still get `request` at the top of the event.
"""

from datever import Change, add, move

change = Change(
    released="2025-09-29",
    resources={"event": [add("context", {}), move("request", "context.request")]},
)
