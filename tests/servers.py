"""A real uvicorn server on a loopback port, for the end-to-end tests."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Literal

import uvicorn

from datever.web.asgi import ASGIApp


@contextlib.contextmanager
def serving(app: ASGIApp, *, root_path: str = "",
            lifespan: Literal["on", "off"] = "on") -> Iterator[str]:
    """Run ``app`` on uvicorn in a thread on a free loopback port; yield its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None,
                            access_log=False, lifespan=lifespan, ws="none", http="h11",
                            root_path=root_path)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        assert time.monotonic() < deadline, "uvicorn took more than 10 s to start"
        time.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        assert not thread.is_alive(), "uvicorn did not shut down"
