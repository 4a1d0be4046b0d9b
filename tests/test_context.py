"""The current request's version (datever.context): per request, per task, per thread."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from datever import DateverError, Engine
from datever.context import NoVersionError, current_version, includes, using_version
from datever.web.asgi import Message, Receive, Scope, Send, VersioningMiddleware
from datever.web.versioning import Versioning

ENGINE = Engine.from_directory(Path(__file__).parent.parent / "changes")
ASYNC_REFUNDS = "2022_05_16_asynchronous_refunds"  # released 2022-05-16, a side effect


def test_current_version_outside_a_request_says_how_to_set_one() -> None:
    """Outside a request, current_version() raises NoVersionError naming using_version."""
    with pytest.raises(NoVersionError, match="using_version"):
        current_version()


def test_no_version_error_is_a_lookup_error_and_a_datever_error() -> None:
    """NoVersionError can be caught as LookupError or DateverError."""
    assert issubclass(NoVersionError, LookupError)
    assert issubclass(NoVersionError, DateverError)


def test_includes_outside_a_request_raises() -> None:
    """includes() needs a current version too."""
    with pytest.raises(NoVersionError):
        includes(ASYNC_REFUNDS)


def test_using_version_sets_and_restores() -> None:
    """Nested blocks see their own version; leaving one restores the outer."""
    outer, inner = ENGINE.resolve("2021-06-07"), ENGINE.resolve("X")
    with using_version(outer):
        with using_version(inner) as seen:
            assert seen is inner
            assert current_version() is inner
        assert current_version() is outer
    with pytest.raises(NoVersionError):
        current_version()


def test_using_version_restores_after_an_exception() -> None:
    """An exception in the block still restores the previous state."""
    with pytest.raises(RuntimeError), using_version(ENGINE.resolve("v1")):
        raise RuntimeError("boom")
    with pytest.raises(NoVersionError):
        current_version()


def test_using_version_rejects_a_string() -> None:
    """using_version() takes a resolved Version, not a version string."""
    with pytest.raises(TypeError, match=r"engine\.resolve"):
        using_version("2021-06-07")  # type: ignore[arg-type]


@pytest.mark.parametrize(("version", "included"), [("2022-05-15", False),
                                                    ("2022-05-16", True), ("X", True)])
def test_includes_follows_the_release_of_the_change(version: str, included: bool) -> None:
    """A change is included from its release on."""
    with using_version(ENGINE.resolve(version)):
        assert includes(ASYNC_REFUNDS) is included


def test_includes_accepts_the_change_object() -> None:
    """includes() takes a Change as well as its id."""
    with using_version(ENGINE.resolve("v1")):
        assert includes(ENGINE.timeline.change(ASYNC_REFUNDS)) is False


def test_includes_of_an_unknown_change_is_a_key_error() -> None:
    """A change id the timeline does not have raises KeyError."""
    with using_version(ENGINE.resolve("v1")), pytest.raises(KeyError, match="no_such"):
        includes("no_such_change")


def test_asyncio_tasks_each_see_their_own_version() -> None:
    """Concurrent tasks that switch back and forth keep their own versions."""
    async def task(name: str) -> list[str]:
        seen = []
        with using_version(ENGINE.resolve(name)):
            for _ in range(5):
                await asyncio.sleep(0)
                seen.append(current_version().requested)
        return seen

    async def main() -> list[list[str]]:
        return list(await asyncio.gather(task("v1"), task("2021-06-07"), task("X")))

    assert asyncio.run(main()) == [["v1"] * 5, ["2021-06-07"] * 5, ["X"] * 5]


def test_threads_each_see_their_own_version() -> None:
    """A version set in one thread is not seen in another."""
    seen: list[object] = []
    barrier = threading.Barrier(2)

    def other() -> None:
        barrier.wait()
        try:
            seen.append(current_version())
        except NoVersionError as exc:
            seen.append(exc)

    thread = threading.Thread(target=other)
    thread.start()
    with using_version(ENGINE.resolve("v1")):
        barrier.wait()
        thread.join()
    assert isinstance(seen[0], NoVersionError)


def test_middleware_sets_the_version_only_for_the_request() -> None:
    """Inside the app the request's version is current; after the request it is gone."""
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(current_version().name)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        pass

    async def request() -> None:
        scope = {"type": "http", "method": "GET", "path": "/v2021-06-07/charges",
                 "raw_path": b"/v2021-06-07/charges", "query_string": b"", "headers": []}
        await VersioningMiddleware(app, Versioning(ENGINE))(scope, receive, send)
        with pytest.raises(NoVersionError):
            current_version()

    asyncio.run(request())
    assert seen == ["2021-05-10"]
