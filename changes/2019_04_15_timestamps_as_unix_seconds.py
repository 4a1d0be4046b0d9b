"""Timestamps are Unix seconds instead of ISO 8601 strings.

The `created` property of charges, customers, refunds, payment methods and
events is now an integer number of seconds since the Unix epoch (UTC).
Integers sort, compare and cross language boundaries without a date parser.
Older versions still see `"2019-04-15T09:30:00Z"`.
"""

import datetime as dt

from datever import Change, convert


def _seconds_to_iso(seconds: int) -> str:
    moment = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
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
