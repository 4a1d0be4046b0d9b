"""Real servers on loopback ports for the end-to-end tests: uvicorn (ASGI), werkzeug (WSGI)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any, Literal
from wsgiref.types import WSGIApplication

import uvicorn
from werkzeug.serving import WSGIRequestHandler, make_server

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


class QuietHandler(WSGIRequestHandler):
    """werkzeug's request handler without the access log."""

    def log(self, type: str, message: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serving_wsgi(app: WSGIApplication) -> Iterator[str]:
    """Run ``app`` on werkzeug's threaded server on a free loopback port; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="werkzeug-test", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        assert not thread.is_alive(), "werkzeug did not shut down"
