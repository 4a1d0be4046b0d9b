"""The middlewares in front of FastAPI and Litestar (ASGI) and Django (WSGI), on real servers."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx
import msgspec
import pytest
from fastapi import FastAPI, Request
from litestar import Litestar, get, post
from litestar import Request as LitestarRequest

from datever import Engine
from datever.web.asgi import VersioningMiddleware
from datever.web.versioning import Routes, Versioning
from datever.web.wsgi import VersioningWSGIMiddleware
from tests.reference import CHANGES, load_samples
from tests.servers import serving

ENGINE = Engine.from_directory(CHANGES)
CHARGE = load_samples().charge(random.Random(11))
V1_BODY = load_samples().request_body("charge.create", random.Random(11))


def versioning() -> Versioning:
    """The reference API with POST /charges naming charge.create."""
    routes = Routes()
    routes.add("POST", "/charges", "charge.create")
    return Versioning(ENGINE, routes=routes)


def check_versions(http: httpx.Client) -> None:
    """The same GET at v1, 2021-06-07 and the head, and a v1 POST body migrated up."""
    for version in ("v1", "2021-06-07", "X"):
        response = http.get("/charges/ch_1", headers={"X-API-Version": version})
        assert response.status_code == 200
        assert response.headers["X-API-Version"] == ENGINE.resolve(version).name
        assert response.json() == ENGINE.down(CHARGE, version)
    echoed = http.post("/v1/charges", json=V1_BODY).json()
    assert echoed == ENGINE.up(V1_BODY, "v1", resource="charge.create")


def test_fastapi_app_behind_the_asgi_middleware() -> None:
    """A FastAPI app gets head-shaped requests and serves every version."""
    app = FastAPI()

    @app.get("/charges/{charge_id}")
    def retrieve(charge_id: str) -> dict[str, Any]:
        return CHARGE

    @app.post("/charges")
    async def create(request: Request) -> Any:
        return await request.json()

    with serving(VersioningMiddleware(app, versioning())) as url, \
            httpx.Client(base_url=url) as http:
        check_versions(http)


def test_litestar_app_behind_the_asgi_middleware() -> None:
    """A Litestar app gets head-shaped requests and serves every version."""

    @get("/charges/{charge_id:str}", sync_to_thread=False)
    def retrieve() -> dict[str, Any]:
        return CHARGE

    @post("/charges", status_code=200)
    async def create(request: LitestarRequest[Any, Any, Any]) -> Any:
        return await request.json()

    app = Litestar([retrieve, create])
    with serving(VersioningMiddleware(app, versioning())) as url, \
            httpx.Client(base_url=url) as http:
        check_versions(http)


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr."""


@pytest.fixture(scope="module")
def django_url() -> Iterator[str]:
    """A Django project of two views behind the WSGI middleware on wsgiref."""
    from django.conf import settings

    if not settings.configured:
        settings.configure(DEBUG=False, ALLOWED_HOSTS=["127.0.0.1"], ROOT_URLCONF=__name__,
                           SECRET_KEY="tests", MIDDLEWARE=[], INSTALLED_APPS=[])
    import django
    from django.core.wsgi import get_wsgi_application

    django.setup()
    server = make_server("127.0.0.1", 0, VersioningWSGIMiddleware(
        get_wsgi_application(), versioning()), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def _django_urls() -> list[Any]:
    from django.http import HttpRequest, HttpResponse, JsonResponse
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    def retrieve(request: HttpRequest, charge_id: str) -> JsonResponse:
        return JsonResponse(CHARGE)

    @csrf_exempt
    def create(request: HttpRequest) -> HttpResponse:
        return HttpResponse(msgspec.json.encode(msgspec.json.decode(request.body)),
                            content_type="application/json")

    return [path("charges/<str:charge_id>", retrieve), path("charges", create)]


def __getattr__(name: str) -> Any:
    """Django reads ``urlpatterns`` from this module (ROOT_URLCONF), lazily."""
    if name == "urlpatterns":
        return _django_urls()
    raise AttributeError(name)


def test_django_app_behind_the_wsgi_middleware(django_url: str) -> None:
    """A Django project gets head-shaped requests and serves every version."""
    with httpx.Client(base_url=django_url) as http:
        check_versions(http)
