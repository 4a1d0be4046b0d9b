"""An event's `created` is in Unix milliseconds (experimental).

Several events are often created within one second, and webhook consumers
order them by `created`. In the experimental version `created` of events
counts milliseconds; every released version still counts seconds (rounded
down, hence lossy).
"""

from typing import Annotated

from msgspec import Meta

from datever import Change, convert

# what released versions see: Unix seconds, up to the end of the year 9999
_SECONDS = Annotated[int, Meta(ge=0, le=253_402_300_799)]


def _to_seconds(milliseconds: int) -> int:
    return milliseconds // 1000


def _to_milliseconds(seconds: int) -> int:
    return seconds * 1000


change = Change(
    stage="experimental",
    resources={
        "event": [convert("created", down=_to_seconds, up=_to_milliseconds, lossless=False,
                           old_type=_SECONDS)],
    },
)
