"""Each version's OpenAPI 3.1 document: its paths, its shapes and its lifecycle.

The routes describe the head. For a version, the endpoint changes it does not
include are undone newest first: a renamed endpoint goes back to its old path,
an added one disappears, a removed one that a handler still serves comes back.
The components are the version's derived shapes (msgspec's JSON Schema is
JSON Schema 2020-12, which OpenAPI 3.1 uses as is), and the operations of a
deprecated version say so. Each operation names the query parameters its
version's endpoint changes declare and the errors it can be answered with
(:mod:`datever.openapi_errors`). A feature group's document has its paths
under the group's namespace.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from datever.endpoints import TEMPLATE_PARAMETER, EndpointOperation
from datever.openapi_errors import error_responses, error_schema
from datever.versions import Version, path_version, utc_today

if TYPE_CHECKING:
    from datever.api import API, APIGroups
    from datever.changes import Change
    from datever.lifecycle import Lifecycle
    from datever.schemas import Schemas
    from datever.web.routing import Routes

__all__ = ["OPENAPI", "document", "group_openapi", "openapi"]

#: The OpenAPI version of the documents.
OPENAPI = "3.1.0"

_REF = "#/components/schemas/{name}"
_OPERATIONS = frozenset(("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"))
_Key = tuple[str, tuple[str | None, ...]]
Json = dict[str, Any]


@dataclass(slots=True)
class _Endpoint:
    """One endpoint as a version sees it; ``head`` is its path at the head."""

    method: str
    template: str
    request: str | None
    response: str | None
    head: str
    removed_by: Change | None = None
    status: int = 200


def _key(method: str, template: str) -> _Key:
    """Endpoints are one when their methods and literal segments are (names aside)."""
    return method, tuple(None if TEMPLATE_PARAMETER.fullmatch(part) else part
                         for part in template.strip("/").split("/") if part)


def _endpoints_at(version: Version, routes: Routes) -> list[_Endpoint]:
    """The endpoints of ``version``: the routes with its pending endpoint changes undone,
    newest first; a route a change removed comes back, with its resources, while a
    handler serves it. Success is 200 unless a ``change_status`` says otherwise."""
    current = {_key(route.method, route.template): _Endpoint(
        route.method, route.template, route.request, route.response, route.template)
        for route in routes.declared}
    buried: dict[_Key, _Endpoint] = {}
    for change in version.timeline.changes:  # the head lacks what was removed last
        for op in _endpoint_ops(change):
            key = _key(op.details["method"], op.details.get("path", ""))
            if op.kind == "remove_endpoint" and key in current:
                buried[key] = current.pop(key)
            elif op.kind == "add_endpoint" and key in buried:
                current[key] = buried.pop(key)
            elif op.kind == "change_status" and (key in current or key in buried):
                (current.get(key) or buried[key]).status = op.details["new"]
    for change in reversed(version.pending):
        for op in reversed(_endpoint_ops(change)):
            details = op.details
            if op.kind == "rename_endpoint":
                found = current.pop(_key(details["method"], details["new_path"]), None)
                if found is not None:
                    found.template = details["old_path"]
                    current[_key(found.method, found.template)] = found
            elif op.kind == "add_endpoint":
                current.pop(_key(details["method"], details["path"]), None)
            elif op.kind == "change_status":
                found = current.get(_key(details["method"], details["path"]))
                if found is not None and found.status == details["new"]:
                    found.status = details["old"]
            elif op.kind == "remove_endpoint" and details.get("handler") is not None:
                key = _key(details["method"], details["path"])
                found = buried.pop(key, None) or _Endpoint(
                    details["method"], details["path"], None, None, details["path"])
                found.template, found.removed_by = details["path"], change
                current[key] = found
    return list(current.values())


def _endpoint_ops(change: Change) -> list[EndpointOperation]:
    return [op for ops in change.resources.values() for op in ops
            if isinstance(op, EndpointOperation) and "method" in op.details]


def openapi(api: API, version: Version | str, *, today: dt.date | None = None,
            title: str | None = None, base_url: str = "") -> Json:
    """The OpenAPI 3.1 document of ``api`` at ``version``; see :func:`document`.

    ``today`` (default: the API's clock) decides the version's lifecycle state;
    ``title`` defaults to the timeline's name.
    """
    day = today if today is not None else api.versioning._today()
    found = version if isinstance(version, Version) else api.resolve(version, today=day)
    selector, named = api.selector, api.versioning.version_header
    header = named if selector.header and named.lower() == selector.header else selector.header
    name = api.timeline.name
    return document(found, api.routes, schemas=api.schemas, lifecycle=api.lifecycle,
                    title=title or ("API" if name == "default" else name), path=selector.path,
                    header=header, query=selector.query, today=day, base_url=base_url)


def group_openapi(groups: APIGroups, group: str, version: Version | str, *,
                  today: dt.date | None = None, title: str | None = None,
                  base_url: str = "") -> Json:
    """The OpenAPI 3.1 document of the ``group`` namespace of ``groups`` at ``version``.

    It is the group's API document (see :func:`openapi`; ``title`` defaults to
    the namespace) with every path under ``/<group>``, where the middleware serves
    it. The version then goes in the header or the query parameter, since a
    path prefix sits after the namespace (``/compute/v2/estimate``), where no
    OpenAPI server can put it; a group that reads versions from the path alone
    has it in each path instead.
    """
    if group not in groups:
        raise KeyError(f"no group {group!r}: the groups are {', '.join(groups)}")
    api = groups[group]
    found = openapi(api, version, today=today, title=title or group, base_url=base_url)
    selector, name = api.selector, found["info"]["version"]
    prefix = f"/{group}"
    if not (selector.header or selector.query):
        segment = _path_segment(name) if selector.path else None
        if segment is None:
            raise ValueError(f"group {group!r} reads versions from the path alone, where "
                             f"{name} cannot be named: no client can reach it")
        prefix += f"/{segment}"
    paths: Json = {}
    for template, item in found["paths"].items():
        for operation in item.values():
            if "x-datever-head-path" in operation:
                operation["x-datever-head-path"] = f"/{group}{operation['x-datever-head-path']}"
        paths[prefix + template] = item
    found["paths"] = paths
    found["servers"] = [{"url": base_url or "/", "description": (
        f"the {group} group; the version is named in a header or query parameter"
        if prefix == f"/{group}" else f"the {group} group; the version is in each path")}]
    found["info"]["x-datever-group"] = group
    return found


def document(version: Version, routes: Routes, *, schemas: Schemas | None = None,
             lifecycle: Lifecycle | None = None, title: str = "API", path: bool = True,
             header: str | None = "X-API-Version", query: str | None = "api-version",
             today: dt.date | None = None, base_url: str = "") -> Json:
    """The OpenAPI 3.1 document of ``version``, from the parts of an API.

    ``paths`` are the ``routes`` as that version sees them (the endpoint changes
    it lacks undone), their request bodies and success responses referring to
    ``components.schemas``, the version's shapes (``schemas``; without them the
    bodies are unshaped).
    ``servers`` holds the version's path prefix (with ``path``; after
    ``base_url``), and every operation documents the ``header`` and ``query``
    parameter a client may name the version in. ``info`` carries the version
    (``x-datever-version``) and, with a ``lifecycle``, its state on ``today``
    (``x-datever-lifecycle``); a deprecated version's operations are
    ``deprecated`` and carry ``x-datever-sunset`` and ``x-datever-successor``.
    """
    day = today if today is not None else utc_today()
    shapes = (schemas.at(version).json_schema(ref_template=_REF) if schemas is not None
              else None)
    info: Json = {"title": title, "version": version.name,
                  "description": f"{title} as clients on {version.name} ({version.channel}) "
                                 f"see it: {_count(len(version.pending))} behind the head.",
                  "x-datever-version": {
                      "name": version.name, "channel": str(version.channel),
                      "release": version.release.isoformat() if version.release else None,
                      "pending": [change.id for change in version.pending]}}
    marks: Json = {}
    if lifecycle is not None:
        status = lifecycle.status(version, day)
        names = list(version.timeline.versions)
        later = names[names.index(version.name) + 1:] if version.name in names else []
        info["x-datever-lifecycle"] = life = {
            "state": status.state, "deprecated": _iso(status.deprecated_since),
            "sunset": _iso(status.sunset), "successor": later[0] if later else None,
            "oldest_supported": status.oldest_supported, "changelog": status.changelog_url}
        if status.messages:
            info["description"] += " " + " ".join(status.messages)
        if status.state in ("deprecated", "removed"):
            marks = {"deprecated": True, "x-datever-sunset": life["sunset"],
                     "x-datever-successor": life["successor"]}
    parameters = _version_parameters(version, header, query)
    refs = [{"$ref": f"#/components/parameters/{name}"} for name in parameters]
    schemas_out: Json = _sound_defaults(shapes["$defs"]) if shapes else {}
    error = next(name for name in ("Error", "APIError", "DateverError")
                 if name not in schemas_out)
    schemas_out[error] = error_schema(version)
    sunset = lifecycle is not None and lifecycle.status(version, day).sunset is not None
    queries = _query_parameters(version)
    paths: dict[str, Json] = {}
    canonical: dict[_Key, str] = {}
    for endpoint in _endpoints_at(version, routes):
        if endpoint.method not in _OPERATIONS:
            continue  # CONNECT has no place in an OpenAPI path item
        key = _key("", endpoint.template)
        template = canonical.setdefault(key, endpoint.template)
        operation = _operation(endpoint, template, shapes, refs,
                               queries.get(_key(endpoint.method, endpoint.template), {}))
        operation["responses"].update(error_responses(
            version, _REF.format(name=error), request=endpoint.request, sunset=sunset,
            templated="{" in template, shaped=shapes is not None))
        paths.setdefault(template, {})[endpoint.method.lower()] = {**operation, **marks}
    segment = _path_segment(version.name) if path else None
    components: Json = {"schemas": schemas_out}
    if parameters:
        components["parameters"] = parameters
    return {
        "openapi": OPENAPI, "info": info,
        "servers": [{"url": f"{base_url}/{segment}" if segment else base_url or "/",
                     "description": f"{version.name}, named in the path" if segment
                     else "the version is named in a header or query parameter"}],
        "paths": dict(sorted(paths.items())), "components": components}


def _operation(endpoint: _Endpoint, template: str, shapes: Json | None,
               refs: list[Json], queries: dict[str, Json]) -> Json:
    names = [part[1:-1] for part in template.strip("/").split("/")
             if TEMPLATE_PARAMETER.fullmatch(part)]
    operation: Json = {
        "parameters": [{"name": name, "in": "path", "required": True,
                        "schema": {"type": "string"}} for name in names]
        + [queries[name] for name in sorted(queries)] + refs}
    if endpoint.request is not None:
        operation["requestBody"] = {"required": True, "content": {
            "application/json": _media(endpoint, endpoint.request, shapes)}}
    success: Json = {"description": f"the {endpoint.response}" if endpoint.response
                     else "success"}
    if endpoint.response is not None:
        success["content"] = {"application/json": _media(endpoint, endpoint.response, shapes)}
    operation["responses"] = {str(endpoint.status): success}
    if endpoint.template != endpoint.head:
        operation["x-datever-head-path"] = endpoint.head
    if endpoint.removed_by is not None:
        change = endpoint.removed_by
        operation["description"] = (f"Removed in {change.label} ({change.id}); this version "
                                    "is still served by its handler.")
        operation["x-datever-removed"] = {"change": change.id, "release": change.label}
    return operation


def _media(endpoint: _Endpoint, resource: str, shapes: Json | None) -> Json:
    """The media type of ``resource``: its schema, when the shapes describe it."""
    if shapes is None:
        return {}
    schema = shapes["resources"].get(resource)
    if schema is None:
        raise ValueError(f"route {endpoint.method} {endpoint.head}: the shapes describe no "
                         f"resource {resource!r}; add its Struct to the Schemas, or name "
                         f"one of {', '.join(sorted(shapes['resources']))}")
    return {"schema": schema}


_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "boolean": bool, "string": str, "integer": int, "number": (int, float),
    "null": type(None), "object": dict, "array": list}


def _sound_defaults(node: Any) -> Any:
    """``node`` without the defaults its own ``type`` refuses. A derived property can
    keep the head's default under its old type (``capture: boolean`` defaulting to
    ``"automatic"``); OpenAPI validators reject such a schema, and it would mislead."""
    if isinstance(node, list):
        return [_sound_defaults(item) for item in node]
    if not isinstance(node, dict):
        return node
    found = {key: _sound_defaults(value) for key, value in node.items()}
    named = found.get("type")
    kind = _JSON_TYPES.get(named) if isinstance(named, str) else None
    if "default" in found and kind is not None:
        value = found["default"]
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in (
                kind if isinstance(kind, tuple) else (kind,))):
            del found["default"]
    return found


def _query_parameters(version: Version) -> dict[_Key, dict[str, Json]]:
    """The query parameters endpoint changes declared, by endpoint, as ``version`` sees
    them: the changes it includes applied oldest first (an endpoint it sees renamed
    takes its parameters along); of those pending, only a ``rename_param`` counts,
    since the parameter it renames was there before it, under its old name."""
    pending = {id(change) for change in version.pending}
    found: dict[_Key, dict[str, Json]] = {}
    unborn: set[tuple[_Key, str]] = set()  # added after this version
    for change in version.timeline.changes:
        for op in _endpoint_ops(change):
            details = op.details
            if id(change) in pending:
                where = _key(details["method"], details.get("path", ""))
                if op.kind in ("add_param", "add_required_param"):
                    unborn.add((where, details["name"]))
                elif op.kind == "rename_param" and (where, details["old"]) not in unborn:
                    found.setdefault(where, {}).setdefault(
                        details["old"], _query_parameter(
                            details["old"], False, change,
                            f" (called {details['new']!r} from {change.label})"))
                continue
            if op.kind == "rename_endpoint":
                moved = found.pop(_key(details["method"], details["old_path"]), None)
                if moved is not None:
                    found[_key(details["method"], details["new_path"])] = moved
                continue
            params = found.setdefault(_key(details["method"], details.get("path", "")), {})
            if op.kind in ("add_param", "add_required_param"):
                params[details["name"]] = _query_parameter(details["name"],
                                                           details["required"], change)
            elif op.kind == "rename_param":
                old = params.pop(details["old"], None)
                params[details["new"]] = _query_parameter(
                    details["new"], bool(old and old["required"]), change,
                    f" (called {details['old']!r} before {change.label})")
    return found


def _query_parameter(name: str, required: bool, change: Change, note: str = "") -> Json:
    return {"name": name, "in": "query", "required": required,
            "description": f"Declared by {change.id or change.label}{note}.",
            "schema": {"type": "string"}}


def _version_parameters(version: Version, header: str | None, query: str | None) -> Json:
    """The header and query parameter a client names its version in. The only value
    they take here is this document's version: another one is answered in another
    version's shapes (see that version's document)."""
    found: Json = {}
    for name, where in ((header, "header"), (query, "query")):
        if name:
            found[f"Version{where.title()}"] = {
                "name": name, "in": where, "required": False,
                "description": f"The API version; this document describes {version.name}. "
                               "A version in the path prefix comes first.",
                "schema": {"type": "string", "enum": [version.name]},
                "example": version.name}
    return found


def _path_segment(name: str) -> str | None:
    """The path segment naming ``name`` (``v2021-06-07``, ``v1``, ``vX``), or None."""
    return next((segment for segment in (f"v{name}", name)
                 if path_version(segment) == name), None)


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _count(number: int) -> str:
    return f"{number} change" if number == 1 else f"{number} changes"
