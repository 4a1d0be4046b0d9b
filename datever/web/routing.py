"""Where a request goes: the request resource of each route, and the HTTP-level
changes (:mod:`datever.endpoints`) a version still has to undo.

:class:`Routes` names the request and response resources of each endpoint. The endpoint
changes pending for a version are compiled once into :class:`EndpointRules`:
walked oldest first, they rewrite an old client's request up (path, query
string), answer 404 for an endpoint its version does not have, or route it to
a removed endpoint's handler; the response side (2xx status, error format) is
undone newest first by :class:`ResponseUndo`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from datever.changes import Change
from datever.endpoints import (
    METHODS,
    TEMPLATE_PARAMETER,
    EndpointHandler,
    EndpointOperation,
    ErrorDown,
)
from datever.versions import Version

__all__ = ["EndpointRule", "EndpointRules", "Removed", "ResponseUndo", "Route", "RouteValue",
           "Routes"]

_NO_PARAMS: Mapping[str, str] = MappingProxyType({})


# -- routes ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Route:
    """One declared endpoint: its ``request`` body's resource and the ``response``
    resource its success answers with (None where it has none, or says none)."""

    method: str
    template: str
    request: str | None = None
    response: str | None = None


RouteValue = str | tuple[str | None, str | None]
"""What a route maps to in :meth:`Routes.from_mapping`: the request resource, or
``(request, response)`` with None for the side that has none."""


class Routes:
    """Which request resource (``charge.create``) each endpoint's body is, and which
    resource (``charge``) it answers with.

    >>> routes = Routes()
    >>> routes.add("POST", "/charges", "charge.create", response="charge")
    >>> routes.add("POST", "/charges/{id}/refunds", "refund.create")
    >>> routes.add("GET", "/charges/{id}", response="charge")
    >>> routes.match("POST", "/charges/ch_1/refunds")
    'refund.create'

    Templates are matched segment by segment: a ``{name}`` segment matches
    any one non-empty segment, every other segment itself. A template with no
    parameter is a dict lookup; among templates the first added wins. A
    trailing slash is ignored on both sides. Paths are those the service sees,
    without the version prefix. Only routes naming a request resource are
    matched (their bodies are migrated up); response resources describe the
    API (each version's OpenAPI document).
    """

    def __init__(self) -> None:
        self._static: dict[tuple[str, str], str] = {}
        self._templates: dict[tuple[str, int], list[tuple[tuple[str | None, ...], str]]] = {}
        self._shapes: set[tuple[str, tuple[str | None, ...]]] = set()
        self._declared: list[Route] = []
        #: counts the routes added: what was decided under an older count may be stale
        self.revision = 0

    @classmethod
    def from_mapping(cls, routes: Mapping[str, RouteValue]) -> Routes:
        """Routes from ``{"METHOD /template": value}``: the value is the request resource
        (``"charge.create"``) or ``(request, response)``, such as ``("charge.create",
        "charge")`` or ``(None, "charge")`` for a GET."""
        built = cls()
        for endpoint, value in routes.items():
            method, _, template = str(endpoint).strip().partition(" ")
            if not template.strip():
                raise ValueError(f"route {endpoint!r}: write it as 'METHOD /template', "
                                 "e.g. 'POST /charges'")
            if isinstance(value, str):
                built.add(method, template.strip(), value)
            elif isinstance(value, tuple) and len(value) == 2:
                built.add(method, template.strip(), value[0], response=value[1])
            else:
                raise ValueError(f"route {endpoint!r}: {value!r} is neither a request resource "
                                 "('charge.create') nor a pair (request, response) such as "
                                 "('charge.create', 'charge') or (None, 'charge')")
        return built

    def add(self, method: str, template: str, resource: str | None = None, *,
            response: str | None = None) -> None:
        """Declare that the body of ``method template`` is the request resource
        ``resource``, and that it answers with the resource ``response``."""
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise ValueError(f"method {method!r} is not one of {', '.join(sorted(METHODS))}")
        if not isinstance(template, str) or not template.startswith("/") or any(
                c in template for c in "?# \t"):
            raise ValueError(f"template {template!r} must be a path such as '/charges/{{id}}', "
                             "starting with '/', without a query")
        for what, name in (("resource", resource), ("response", response)):
            if name is not None and (not isinstance(name, str) or not name):
                raise ValueError(f"{what} {name!r} must name a resource, such as "
                                 f"{'charge.create' if what == 'resource' else 'charge'!r}")
        if resource is None and response is None:
            raise ValueError(f"route {method} {template} names no resource: give the request "
                             "resource, response=, or both")
        method = method.upper()
        segments = _segments(template)
        compiled: list[str | None] = []
        for segment in segments:
            parameter = TEMPLATE_PARAMETER.fullmatch(segment)
            if parameter is None and ("{" in segment or "}" in segment):
                raise ValueError(f"template {template!r}: a parameter is a whole segment "
                                 f"such as '{{id}}', not {segment!r}")
            compiled.append(None if parameter else segment)
        shape = tuple(compiled)
        if (method, shape) in self._shapes:
            raise ValueError(f"{method} {template} is already routed (a template with "
                             "the same literal segments exists)")
        self._shapes.add((method, shape))
        self._declared.append(Route(method, template, resource, response))
        self.revision += 1
        if resource is None:
            return
        if None not in shape:
            self._static[(method, "/" + "/".join(segments))] = resource
        else:
            self._templates.setdefault((method, len(shape)), []).append((shape, resource))

    def match(self, method: str, path: str) -> str | None:
        """The request resource of ``method path``, or None when no route matches."""
        found = self._static.get((method, path))
        if found is not None or not self._templates:
            return found
        segments = _segments(path)
        if len(path) > 1 and path.endswith("/"):
            found = self._static.get((method, "/" + "/".join(segments)))
            if found is not None:
                return found
        for shape, resource in self._templates.get((method, len(segments)), ()):
            for wanted, segment in zip(shape, segments, strict=True):
                if (wanted is None and not segment) or (wanted is not None and
                                                        wanted != segment):
                    break
            else:
                return resource
        return None

    @property
    def declared(self) -> tuple[Route, ...]:
        """Every route, in the order added, with its request and response resources."""
        return tuple(self._declared)

    def __iter__(self) -> Iterator[tuple[str, str, str]]:
        """Every route naming a request resource, as (method, template, resource), in the
        order added."""
        return iter([(route.method, route.template, route.request)
                     for route in self._declared if route.request is not None])

    def __len__(self) -> int:
        """The number of declared routes."""
        return len(self._declared)

    def __repr__(self) -> str:
        return f"<Routes {len(self._declared)} routes>"


def _segments(path: str) -> list[str]:
    """``/charges/ch_1/`` -> ``['charges', 'ch_1']``; ``/`` -> ``[]``."""
    stripped = path.strip("/")
    return stripped.split("/") if stripped else []


# -- endpoint changes ----------------------------------------------------------

_REQUEST_KINDS = frozenset(("rename_endpoint", "rename_param", "add_endpoint",
                            "remove_endpoint", "change_status"))


@dataclass(frozen=True, slots=True)
class EndpointRule:
    """One pending endpoint operation, in the order the walk meets it (oldest first)."""

    order: int
    kind: str
    change: Change
    method: str
    template: str
    details: Mapping[str, Any]
    target: tuple[tuple[str, bool], ...] = ()  # rename_endpoint: (text, is parameter)


_Template = tuple[tuple[str | None, ...], tuple[str, ...], EndpointRule]
"""A template's segments (None where a parameter goes), its parameter names, its rule."""


@dataclass(frozen=True, slots=True)
class Removed:
    """A removed endpoint that an older version still reaches through its ``handler``.

    ``method`` is the request's method, ``params`` the values of the
    template's ``{name}`` segments, ``path`` and ``query`` the request's path
    and raw query string as the handler sees them, ``change`` the change that
    removed the endpoint.
    """

    handler: EndpointHandler
    method: str
    params: Mapping[str, str]
    path: str
    query: str
    change: Change


@dataclass(frozen=True, slots=True)
class ResponseUndo:
    """What to undo on a response for an older version, newest change first.

    ``statuses`` are (head status, old status) pairs of ``change_status``
    declarations on the served endpoint; ``errors`` the ``down`` callables of
    ``change_error_format`` declarations, applied to 4xx and 5xx JSON bodies.
    """

    statuses: tuple[tuple[int, int], ...]
    errors: tuple[ErrorDown, ...]

    def status(self, status: int) -> int:
        """The status the old client gets for the app's ``status``."""
        for head, old in self.statuses:
            if status == head:
                status = old
        return status

    def rewrites_body(self, status: int) -> bool:
        """True when a JSON response with ``status`` needs its error body converted."""
        return status >= 400 and bool(self.errors)

    def error_body(self, body: Any) -> Any:
        """A head error body (decoded JSON) in the old client's error format."""
        for down in self.errors:
            body = down(body)
        return body


@dataclass(slots=True)
class _Walked:
    """Where the walk of one request ended: the head-side request, or an early answer."""

    path: str
    query: str | bytes | None
    moved: bool = False
    requery: bool = False
    statuses: list[tuple[int, int]] = field(default_factory=list)
    missing: EndpointRule | None = None
    removed: Removed | None = None


class EndpointRules:
    """The HTTP-level changes pending for one version, compiled for per-request use.

    Built once per version (see :meth:`of`). Each rule is found by a dict
    lookup on its (method, path) or, for a template, by matching segments in
    a bucket of (method, segment count). :meth:`walk` applies the rules
    oldest first, each seeing the request as its change saw it: a renamed
    endpoint's path is rewritten before the next rule looks at it.
    """

    def __init__(self, version: Version) -> None:
        self.version = version
        self._static: dict[tuple[str, str], list[EndpointRule]] = {}
        self._templates: dict[tuple[str, int], list[_Template]] = {}
        errors: list[ErrorDown] = []
        order = 0
        for change in version.pending:
            for ops in change.resources.values():
                for op in ops:
                    if not isinstance(op, EndpointOperation):
                        continue
                    details = op.details
                    if op.kind == "change_error_format" and details.get("down") is not None:
                        errors.append(details["down"])
                    elif op.kind in _REQUEST_KINDS and not (
                            op.kind == "remove_endpoint" and details.get("handler") is None):
                        self._add(order, op, change)
                    order += 1
        self.methods = frozenset(method for method, _ in (*self._static, *self._templates))
        self.errors: tuple[ErrorDown, ...] = tuple(reversed(errors))
        self._errors_only = ResponseUndo((), self.errors) if self.errors else None

    @classmethod
    def of(cls, version: Version) -> EndpointRules | None:
        """The rules of ``version``, or None when no endpoint change is pending for it."""
        rules = cls(version)
        return rules if rules.methods or rules.errors else None

    def _add(self, order: int, op: EndpointOperation, change: Change) -> None:
        details = op.details
        template = details["old_path"] if op.kind == "rename_endpoint" else details["path"]
        target: tuple[tuple[str, bool], ...] = ()
        if op.kind == "rename_endpoint":
            target = tuple((found.group(1), True) if (found := TEMPLATE_PARAMETER.fullmatch(part))
                           else (part, False) for part in _segments(details["new_path"]))
        rule = EndpointRule(order, op.kind, change, details["method"], template, details, target)
        shape: list[str | None] = []
        names: list[str] = []
        for segment in _segments(template):
            parameter = TEMPLATE_PARAMETER.fullmatch(segment)
            shape.append(None if parameter else segment)
            if parameter:
                names.append(parameter.group(1))
        if not names:
            key = (rule.method, "/" + "/".join(segment for segment in shape if segment))
            self._static.setdefault(key, []).append(rule)
        else:
            self._templates.setdefault((rule.method, len(shape)), []).append(
                (tuple(shape), tuple(names), rule))

    def find(self, method: str, path: str, start: int = 0
             ) -> tuple[EndpointRule, Mapping[str, str]] | None:
        """The first rule at or after ``start`` that matches ``method path``, with its params."""
        segments = _segments(path)
        best: EndpointRule | None = None
        params: Mapping[str, str] = _NO_PARAMS
        for rule in self._static.get((method, "/" + "/".join(segments)), ()):
            if rule.order >= start:
                best = rule
                break
        for shape, names, rule in self._templates.get((method, len(segments)), ()):
            if rule.order < start:
                continue
            if best is not None and rule.order > best.order:
                break
            values: list[str] = []
            for wanted, segment in zip(shape, segments, strict=True):
                if wanted is None:
                    if not segment:
                        break
                    values.append(segment)
                elif wanted != segment:
                    break
            else:
                best, params = rule, dict(zip(names, values, strict=True))
                break
        return None if best is None else (best, params)

    def walk(self, method: str, path: str, query: str | bytes | None) -> _Walked:
        """Apply the rules to one request, oldest first, and say where it ended."""
        walked = _Walked(path, query)
        if method not in self.methods:
            return walked
        start = 0
        while (found := self.find(method, walked.path, start)) is not None:
            rule, params = found
            start = rule.order + 1
            kind = rule.kind
            if kind == "rename_endpoint":
                walked.path = "/" + "/".join(params[text] if is_parameter else text
                                             for text, is_parameter in rule.target)
                walked.moved = True
            elif kind == "rename_param":
                renamed = _rename_query(walked.query, rule.details["old"],
                                        rule.details["new"])
                if renamed is not None:
                    walked.query, walked.requery = renamed, True
            elif kind == "change_status":
                walked.statuses.append((rule.details["new"], rule.details["old"]))
            elif kind == "add_endpoint":
                walked.missing = rule
                return walked
            else:  # remove_endpoint with a handler
                query = walked.query or ""
                walked.removed = Removed(
                    rule.details["handler"], method, params, walked.path,
                    query.decode("latin-1") if isinstance(query, bytes) else query,
                    rule.change)
                return walked
        return walked

    def undo(self, walked: _Walked) -> ResponseUndo | None:
        """The response-side undo of a walked request, or None when there is none."""
        if not walked.statuses:
            return self._errors_only
        return ResponseUndo(tuple(reversed(walked.statuses)), self.errors)

    def __repr__(self) -> str:
        count = sum(map(len, self._static.values())) + sum(map(len, self._templates.values()))
        return (f"<EndpointRules {self.version.name}: {count} request rules, "
                f"{len(self.errors)} error formats>")


def _rename_query(query: str | bytes | None, old: str, new: str) -> str | None:
    """``query`` with the parameter ``old`` renamed ``new``, or None when it has no ``old``.

    Only the names of the matching pairs are rewritten; every other byte is kept.
    """
    if not query:
        return None
    text = query.decode("latin-1") if isinstance(query, bytes) else query
    parts = text.split("&")
    changed = False
    for index, part in enumerate(parts):
        name, equals, value = part.partition("=")
        if name == old or (("%" in name or "+" in name) and unquote_plus(name) == old):
            parts[index] = quote_plus(new) + equals + value
            changed = True
    return "&".join(parts) if changed else None
