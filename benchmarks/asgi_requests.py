"""The requests both libraries must answer alike, and one ASGI call without a server.

Each :class:`Case` is a request of an old or new client of the rename history
(:mod:`benchmarks.rename_history`); :func:`expected` is the answer the
history defines for it; :func:`check_outputs` refuses any other answer.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import msgspec

from benchmarks import rename_history as h
from benchmarks.contenders import BenchmarkError, first_difference


@dataclass(frozen=True)
class Case:
    """One request: its label, method, the version its client names and its body.

    ``bare_body`` is the same body at head: what the bare app, which knows no
    versions, is sent in the same round, so that the difference is versioning.
    """

    label: str
    method: str
    version: str
    body: bytes = b""
    bare_body: bytes = b""

    def bare(self, changes: int) -> Case:
        """The head-shaped request the bare app gets in this case's place."""
        return Case(self.label, self.method, h.head_version(changes), self.bare_body,
                    self.bare_body)


def cases(changes: int, list_bytes: int = 20_000) -> list[Case]:
    """POST at head, POST at the oldest version, GET of the list at the oldest version."""
    head_body = h.encoded(h.create_body(changes))
    size = f"{list_bytes / 1000:g} KB" if list_bytes < 1_000_000 else \
        f"{list_bytes / 1e6:g} MB"
    return [
        Case("POST small body, head", "POST", h.head_version(changes), head_body, head_body),
        Case("POST small body, oldest", "POST", h.oldest_version(),
             h.encoded(h.create_body(0)), head_body),
        Case(f"GET {size} list, oldest", "GET", h.oldest_version()),
    ]


def expected(case: Case, changes: int, listing: dict[str, Any]) -> Any:
    """The answer the history defines for ``case``: head answers walked back by renames."""
    at = changes if case.version == h.head_version(changes) else 0
    if case.method == "POST":
        return _renamed(h.created(h.create_body(changes), changes), changes, at)
    return {"object": "list", "data": [_renamed(entry, changes, at)
                                       for entry in listing["data"]]}


def _renamed(entry: dict[str, Any], changes: int, at: int) -> dict[str, Any]:
    out = dict(entry)
    out[f"title_{at}"] = out.pop(f"title_{changes}")
    return out


async def call(app: Any, case: Case) -> tuple[int, bytes]:
    """One request straight into the ASGI ``app``; its status and body."""
    out: list[bytes] = []
    status = 0
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:  # a second receive waits for a disconnect that never comes during a request
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": case.body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            out.append(message.get("body", b""))

    headers = [(b"host", b"bench"), (b"accept", b"application/json"),
               (h.HEADER.encode(), case.version.encode())]
    if case.body:
        headers += [(b"content-type", b"application/json"),
                    (b"content-length", str(len(case.body)).encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": case.method, "scheme": "http", "path": "/items",
             "raw_path": b"/items", "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}
    await app(scope, receive, send)
    return status, b"".join(out)


def check_outputs(case: Case, outputs: dict[str, tuple[int, bytes]], want: Any) -> None:
    """Raise BenchmarkError unless every contender answered 200 with ``want``.

    Each answer equal to ``want`` makes them equal to each other: the old
    client gets the same body under datever as under Cadwyn.
    """
    for name, (status, body) in outputs.items():
        if status != 200:
            raise BenchmarkError(f"{case.label}: {name} answered {status}: {body[:300]!r}")
        got = msgspec.json.decode(body)
        if got != want:
            raise BenchmarkError(f"{case.label}: {name} gives a wrong answer: "
                                 f"{first_difference(got, want)}")
