"""An event's `created` is in Unix milliseconds (experimental).

Several events are often created within one second, and webhook consumers
order them by `created`. In the experimental version `created` of events
counts milliseconds; every released version still counts seconds (rounded
down, hence lossy).
"""

from datever import Change, convert


def _to_seconds(milliseconds: int) -> int:
    return milliseconds // 1000


def _to_milliseconds(seconds: int) -> int:
    return seconds * 1000


change = Change(
    stage="experimental",
    resources={
        "event": [convert("created", down=_to_seconds, up=_to_milliseconds, lossless=False,
                           old_type=int)],
    },
)
