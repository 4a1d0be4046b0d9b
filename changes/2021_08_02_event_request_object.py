"""An event's `request` is an object with the request id and idempotency key.

`request` was the id (`req_...`) of the API request that caused the event.
It is now `{"id": "req_...", "idempotency_key": ...}` so that a webhook
handler can tell its own retries apart. Events not caused by a request keep
`null`. Older versions still get the id string.
"""

from typing import Any

from datever import Change, convert


def _request_id(request: dict[str, Any] | None) -> str | None:
    return request["id"] if request is not None else None


def _request_object(request_id: str | None) -> dict[str, Any] | None:
    if request_id is None:
        return None
    return {"id": request_id, "idempotency_key": None}


change = Change(
    released="2021-08-02",
    resources={
        "event": [convert("request", down=_request_id, up=_request_object, lossless=False,
                          old_type=str | None)],
    },
)
