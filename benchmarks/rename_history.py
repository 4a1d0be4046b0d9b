"""One history of renames told to both datever and Cadwyn, and the FastAPI app they serve.

Change ``k`` (1..N, released ``BASE + k days``) renames the response
property ``title_{k-1}`` of ``item`` to ``title_{k}`` and the request
property ``qty_{k-1}`` of ``item.create`` to ``qty_{k}``. For datever it is a
changes directory of real modules; for Cadwyn a :class:`cadwyn.VersionBundle`
built in code, whose converters do the same renames (Cadwyn's ``had(name=)``
renames the field of the old model but leaves the data to converters).
The app has one POST endpoint taking a small body and one GET returning a
list of items; the bare app, the app behind datever and the Cadwyn app share
the same pydantic head models and handlers. Cadwyn and FastAPI are imported
only when an app is built, so the module imports without the ``bench`` extra.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import msgspec

REPO = Path(__file__).resolve().parent.parent
BASE = dt.date(2020, 1, 1)
HEADER = "x-api-version"
ITEM_BYTES = 100  # about one list item encoded, to size list payloads


def released(k: int) -> dt.date:
    """The date of change ``k`` (1-based); ``released(0)`` is the initial version's date."""
    return BASE + dt.timedelta(days=k)


def oldest_version() -> str:
    """What an old client sends: a date before the first release (datever: ``v1``)."""
    return released(0).isoformat()


def head_version(changes: int) -> str:
    """The newest release, which is the head: every change is released."""
    return released(changes).isoformat()


# -- payloads ------------------------------------------------------------------


def create_body(at: int) -> dict[str, Any]:
    """A small ``item.create`` body as written by a client at version index ``at``."""
    return {"name": "Blue widget, large", f"qty_{at}": 3, "note": "leave at the door"}


def item(index: int, at: int) -> dict[str, Any]:
    """One ``item`` as a client at version index ``at`` sees it."""
    return {"object": "item", "id": f"itm_{index:06d}", f"title_{at}": f"Widget {index}",
            "quantity": index % 17, "note": "stock checked weekly"}


def item_list(size: int, at: int) -> dict[str, Any]:
    """A list envelope of about ``size`` encoded bytes of items at version index ``at``."""
    count = max(1, size // ITEM_BYTES)
    return {"object": "list", "data": [item(i, at) for i in range(count)]}


def created(body: dict[str, Any], changes: int) -> dict[str, Any]:
    """What POST /items answers at head for a head-shaped ``body``."""
    return {"object": "item", "id": "itm_new", f"title_{changes}": body["name"],
            "quantity": body[f"qty_{changes}"], "note": body["note"]}


# -- datever: a changes directory -------------------------------------------------

_RESOURCES = '''"""The resources of the rename benchmark: items, create bodies, lists."""

from datever import Resource

item = Resource("item")
item_create = Resource("item.create", request=True)
envelope = Resource("list")
'''


def write_changes(directory: Path, changes: int) -> None:
    """Write ``changes`` dated change modules and their ``resources.py`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "resources.py").write_text(_RESOURCES)
    for k in range(1, changes + 1):
        date = released(k)
        (directory / f"{date:%Y_%m_%d}_rename_{k}.py").write_text(
            f'"""Items call title_{k - 1} title_{k}; create bodies call qty_{k - 1} '
            f'qty_{k}."""\n\nfrom datever import Change, rename\n\nchange = Change(\n'
            f'    released="{date.isoformat()}",\n    resources={{\n'
            f'        "item": [rename("title_{k - 1}", "title_{k}")],\n'
            f'        "item.create": [rename("qty_{k - 1}", "qty_{k}")],\n    }},\n)\n')


# -- the FastAPI app and Cadwyn's bundle -------------------------------------------


class Models:
    """The pydantic head models of the app: ``ItemCreate``, ``Item``, ``ItemList``."""

    def __init__(self, changes: int) -> None:
        from pydantic import create_model

        self.changes = changes
        self.create: Any = create_model(
            "ItemCreate", name=(str, ...), note=(str, ...), **{f"qty_{changes}": (int, ...)})
        self.item: Any = create_model(
            "Item", object=(Literal["item"], "item"), id=(str, ...),
            quantity=(int, ...), note=(str, ...), **{f"title_{changes}": (str, ...)})
        self.list: Any = create_model(
            "ItemList", object=(Literal["list"], "list"), data=(list[self.item], ...))


def add_routes(router: Any, models: Models, listing: dict[str, Any]) -> None:
    """POST /items (a small body in, an item out) and GET /items (``listing``) on ``router``."""
    changes = models.changes
    body_model, item_model, list_model = models.create, models.item, models.list

    async def create(body: Any) -> Any:
        return created(body.model_dump(), changes)

    # FastAPI reads the body model off the annotation, which exists only at run time here
    create.__annotations__["body"] = body_model

    async def items() -> Any:
        return listing

    router.add_api_route("/items", create, methods=["POST"], response_model=item_model)
    router.add_api_route("/items", items, methods=["GET"], response_model=list_model)


def bare_app(changes: int, listing: dict[str, Any]) -> Any:
    """The FastAPI app alone: it speaks the head shapes only."""
    from fastapi import FastAPI

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    add_routes(app.router, Models(changes), listing)
    return app


def datever_app(directory: Path, changes: int, listing: dict[str, Any]) -> Any:
    """The same FastAPI app behind datever's middleware, history loaded from ``directory``."""
    from datever import API

    api = API(directory, routes={"POST /items": ("item.create", "item"),
                                 "GET /items": (None, "list")},
              header=HEADER, clock=lambda: released(changes) + dt.timedelta(days=1))
    return api.asgi(bare_app(changes, listing))


def _converters(k: int, models: Models) -> dict[str, Callable[..., Any]]:
    from cadwyn import (
        RequestInfo,
        ResponseInfo,
        convert_request_to_next_version_for,
        convert_response_to_previous_version_for,
    )

    old_qty, new_qty = f"qty_{k - 1}", f"qty_{k}"
    old_title, new_title = f"title_{k - 1}", f"title_{k}"

    def body_up(request: RequestInfo) -> None:
        request.body[new_qty] = request.body.pop(old_qty)

    def item_down(response: ResponseInfo) -> None:
        response.body[old_title] = response.body.pop(new_title)

    def list_down(response: ResponseInfo) -> None:
        # Cadwyn converts the endpoint's response model, not the items nested in it
        for entry in response.body["data"]:
            entry[old_title] = entry.pop(new_title)

    return {"body_up": convert_request_to_next_version_for(models.create)(body_up),
            "item_down": convert_response_to_previous_version_for(models.item)(item_down),
            "list_down": convert_response_to_previous_version_for(models.list)(list_down)}


def cadwyn_bundle(models: Models) -> Any:
    """The same history as a Cadwyn VersionBundle: one VersionChange per change."""
    from cadwyn import HeadVersion, Version, VersionBundle, VersionChange, schema

    versions = []
    for k in range(models.changes, 0, -1):
        body = {"description": f"Items call title_{k - 1} title_{k}; create bodies call "
                               f"qty_{k - 1} qty_{k}.",
                "instructions_to_migrate_to_previous_version": (
                    schema(models.item).field(f"title_{k}").had(name=f"title_{k - 1}"),
                    schema(models.create).field(f"qty_{k}").had(name=f"qty_{k - 1}")),
                **_converters(k, models)}
        versions.append(Version(released(k).isoformat(), type(f"Rename{k}", (VersionChange,),
                                                               body)))
    return VersionBundle(HeadVersion(), *versions, Version(released(0).isoformat()))


def cadwyn_app(changes: int, listing: dict[str, Any]) -> Any:
    """The same endpoints served by Cadwyn, which versions them from the head models."""
    from cadwyn import Cadwyn, VersionedAPIRouter

    models = Models(changes)
    app = Cadwyn(versions=cadwyn_bundle(models), openapi_url=None, docs_url=None,
                 redoc_url=None)
    router = VersionedAPIRouter()
    add_routes(router, models, listing)
    app.generate_and_include_versioned_routers(router)
    return app


def encoded(payload: Any) -> bytes:
    """``payload`` as compact JSON bytes."""
    return msgspec.json.encode(payload)


def head_schemas(changes: int) -> Any:
    """The head shapes of the history after ``changes`` changes, as strict msgspec Structs
    (``item``, its ``list`` envelope and the ``item.create`` body): for datever with
    shapes declared."""
    import datever

    strict = {"forbid_unknown_fields": True}
    item = msgspec.defstruct("Item", [("id", str), (f"title_{changes}", str),
                                      ("quantity", int), ("note", str)],
                             tag_field="object", tag="item", **strict)
    listing = msgspec.defstruct("ItemList", [("data", list[item])],  # type: ignore[valid-type]
                                tag_field="object", tag="list", **strict)
    create = msgspec.defstruct("ItemCreate", [("name", str), (f"qty_{changes}", int),
                                              ("note", str)], **strict)
    return datever.Schemas([item, listing], requests={"item.create": create})
