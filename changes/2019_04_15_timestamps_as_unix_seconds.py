"""Timestamps are Unix seconds instead of ISO 8601 strings.

The `created` property of charges, customers, refunds, payment methods and
events is now an integer number of seconds since the Unix epoch (UTC).
Integers sort, compare and cross language boundaries without a date parser.
Older versions still see `"2019-04-15T09:30:00Z"`.
"""

import datetime as dt

from datever import Change, convert

# isoformat is twice as fast as strftime and gives the same text for whole seconds from
# year 1000 on; before it, strftime's %Y does not pad to four digits, and a float may
# carry a fraction that strftime drops: those go the strftime way
_FOUR_DIGIT_YEARS = -30610224000  # 1000-01-01T00:00:00Z


def _seconds_to_iso(seconds: int) -> str:
    moment = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    if type(seconds) is int and seconds >= _FOUR_DIGIT_YEARS:
        return moment.isoformat()[:-6] + "Z"  # drop "+00:00"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_to_seconds(text: str) -> int:
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp())


change = Change(
    released="2019-04-15",
    resources={
        resource: [convert("created", down=_seconds_to_iso, up=_iso_to_seconds, lossless=True,
                                    old_type=str)]
        for resource in ("charge", "customer", "refund", "payment_method", "event")
    },
)
