"""Declarations of HTTP-level changes: endpoints, query parameters, statuses, limits, headers.

They carry no payload steps (``down`` and ``up`` are empty), so a pipeline
skips them; they feed the changelog and the classifier, and the HTTP layer
(:mod:`datever.web.versioning`, used by both middlewares) gives these their behaviour
for clients whose version predates them: ``rename_param``,
``rename_endpoint``, ``add_endpoint``, ``remove_endpoint`` (with a
``handler``), ``change_status`` and ``change_error_format`` (with a
``down``). The others are descriptive only. Declare one under the resource
whose endpoint it concerns, like any operation::

    Change(released="2025-01-06",
           resources={"charge.list": [change_limit("GET", "/v1/charges", "limit", 100, 50)]})

With no steps, ``up(down(x)) == x`` holds trivially, so every one is lossless.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from datever.errors import ChangeError
from datever.operations import Operation

if TYPE_CHECKING:
    from datever.versions import Version

__all__ = [
    "METHODS",
    "EndpointHandler",
    "EndpointOperation",
    "EndpointRequest",
    "ErrorDown",
    "add_endpoint",
    "add_header",
    "add_param",
    "change_error_format",
    "change_limit",
    "change_sort_order",
    "change_status",
    "remove_endpoint",
    "rename_endpoint",
    "rename_param",
    "reorder_properties",
]

#: The HTTP methods an endpoint may be declared with (RFC 9110 and PATCH).
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE",
                     "CONNECT"))

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an RFC 9110 token
_PARAM_FORBIDDEN = re.compile(r"[\s&=?#]")
#: A ``{name}`` path template parameter; it is always a whole segment.
TEMPLATE_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class EndpointRequest:
    """What the handler of a removed endpoint is given: a framework-free request.

    ``path`` is the path the client asked for, without the version prefix
    (after any older renames); ``params`` the values of the ``{name}``
    segments of the removed endpoint's template; ``query`` the query
    parameters (the last value of a repeated one); ``body`` the decoded JSON
    request body, or None when there is none; ``version`` the client's version.
    """

    method: str
    path: str
    params: Mapping[str, str]
    query: Mapping[str, str]
    body: Any
    version: Version


EndpointHandler = Callable[[EndpointRequest], tuple[int, Any]]
"""Serves a removed endpoint to older versions: returns (status, JSON-able body)."""

ErrorDown = Callable[[Any], Any]
"""Turns a head error body (decoded JSON) into the old error format."""


@dataclass(frozen=True)
class EndpointOperation(Operation):
    """An operation on the HTTP surface of the API rather than on a payload.

    ``details`` holds what the declaration says (method, path, old and new
    values), read-only; it takes no part in hashing, so these operations can
    be kept in sets.
    """

    details: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.details, MappingProxyType):
            # a copy behind a read-only view: the caller's dict cannot edit it later
            object.__setattr__(self, "details", MappingProxyType(dict(self.details)))


def _operation(kind: str, description: str, details: Mapping[str, Any],
               touches: tuple[str, ...] = ()) -> EndpointOperation:
    return EndpointOperation(
        kind, description, down=(), up=(), lossless=True, touches=frozenset(touches),
        details=details,
    )


# -- argument checks --------------------------------------------------------


def _check_method(method: object, what: str) -> str:
    if isinstance(method, str) and method in METHODS:
        return method
    if isinstance(method, str) and method.upper() in METHODS:
        raise ChangeError(f"{what}: write the method in uppercase: {method.upper()!r}, "
                          f"not {method!r}")
    raise ChangeError(f"{what}: method must be one of {', '.join(sorted(METHODS))}, "
                      f"got {method!r}")


def _check_path(path: object, what: str) -> str:
    if not isinstance(path, str) or not path.startswith("/"):
        raise ChangeError(f"{what}: path must be a string starting with '/' "
                          f"(such as '/v1/charges'), got {path!r}")
    if re.search(r"[\s?#]", path):
        raise ChangeError(f"{what}: path {path!r} must not hold whitespace, a query ('?') "
                          "or a fragment ('#'); declare query parameters with add_param()")
    return path


def _check_param(name: object, what: str) -> str:
    if not isinstance(name, str) or not name or _PARAM_FORBIDDEN.search(name):
        raise ChangeError(f"{what} must be a non-empty parameter name without whitespace, "
                          f"'&', '=', '?' or '#', got {name!r}")
    return name


def _check_text(text: object, what: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ChangeError(f"{what} must be a non-empty sentence that says what changed, "
                          f"got {text!r}")
    return text.strip()


def _check_int(value: object, what: str) -> int:
    # bool is an int to Python, never to a reader of the changelog
    if not isinstance(value, int) or isinstance(value, bool):
        raise ChangeError(f"{what} must be an integer, got {value!r}")
    return value


def _template_names(path: str, what: str) -> set[str]:
    """The ``{name}`` parameters of a path template; each must be a whole segment."""
    names: set[str] = set()
    for segment in path.strip("/").split("/"):
        parameter = TEMPLATE_PARAMETER.fullmatch(segment)
        if parameter is not None:
            names.add(parameter.group(1))
        elif "{" in segment or "}" in segment:
            raise ChangeError(f"{what}: a parameter is a whole segment such as '{{id}}', "
                              f"not {segment!r}")
    return names


def _endpoint(method: str, path: str) -> str:
    return f"{method} {path}"


# -- endpoints --------------------------------------------------------------


def add_endpoint(method: str, path: str) -> EndpointOperation:
    """The endpoint ``method path`` is new; older versions never called it."""
    method = _check_method(method, "add_endpoint")
    path = _check_path(path, "add_endpoint")
    return _operation("add_endpoint", f"add endpoint {_endpoint(method, path)}",
                      {"method": method, "path": path})


def remove_endpoint(method: str, path: str,
                    handler: EndpointHandler | None = None) -> EndpointOperation:
    """The endpoint ``method path`` is gone from the newest version.

    ``handler`` keeps it alive for older versions: it takes an
    :class:`EndpointRequest` and returns ``(status, body)``, ``body`` any
    JSON-able value, sent as is (no other change is applied to it). Without a
    handler older versions get whatever the app answers (usually 404).
    """
    method = _check_method(method, "remove_endpoint")
    path = _check_path(path, "remove_endpoint")
    if handler is not None and not callable(handler):
        raise ChangeError(f"remove_endpoint: handler must be callable (it takes an "
                          f"EndpointRequest and returns (status, body)), got {handler!r}")
    return _operation("remove_endpoint", f"remove endpoint {_endpoint(method, path)}",
                      {"method": method, "path": path, "handler": handler})


def rename_endpoint(method: str, old_path: str, new_path: str) -> EndpointOperation:
    """The endpoint ``method old_path`` now lives at ``new_path``.

    Both may be templates (``/charges/{id}/refunds``); the parameters of
    ``new_path`` are taken by name from ``old_path``, so each must be there.
    An old client's request to ``old_path`` is rewritten to ``new_path``.
    """
    method = _check_method(method, "rename_endpoint")
    old_path = _check_path(old_path, "rename_endpoint: old_path")
    new_path = _check_path(new_path, "rename_endpoint: new_path")
    if old_path == new_path:
        raise ChangeError(f"rename_endpoint: {method} {old_path} is renamed to itself")
    old_names = _template_names(old_path, "rename_endpoint: old_path")
    missing = sorted(_template_names(new_path, "rename_endpoint: new_path") - old_names)
    if missing:
        raise ChangeError(f"rename_endpoint: new_path {new_path!r} uses "
                          f"{', '.join('{' + name + '}' for name in missing)}, which "
                          f"old_path {old_path!r} does not have")
    return _operation(
        "rename_endpoint", f"move endpoint {_endpoint(method, old_path)} to {new_path}",
        {"method": method, "old_path": old_path, "new_path": new_path},
    )


# -- query parameters -------------------------------------------------------


def rename_param(method: str, path: str, old: str, new: str) -> EndpointOperation:
    """The query parameter ``old`` of ``method path`` is now called ``new``."""
    method = _check_method(method, "rename_param")
    path = _check_path(path, "rename_param")
    old = _check_param(old, "rename_param: old")
    new = _check_param(new, "rename_param: new")
    if old == new:
        raise ChangeError(f"rename_param: {old!r} is renamed to itself")
    return _operation(
        "rename_param",
        f"rename query parameter {old!r} of {_endpoint(method, path)} to {new!r}",
        {"method": method, "path": path, "old": old, "new": new}, touches=(old, new),
    )


def add_param(method: str, path: str, name: str, *, required: bool = False) -> EndpointOperation:
    """``method path`` accepts the new query parameter ``name``.

    An optional parameter has kind ``add_param``; a required one has kind
    ``add_required_param``, since the two are classified differently.
    """
    method = _check_method(method, "add_param")
    path = _check_path(path, "add_param")
    name = _check_param(name, "add_param: name")
    if not isinstance(required, bool):
        raise ChangeError(f"add_param: required must be True or False, got {required!r}")
    which = "required" if required else "optional"
    return _operation(
        "add_required_param" if required else "add_param",
        f"add {which} query parameter {name!r} to {_endpoint(method, path)}",
        {"method": method, "path": path, "name": name, "required": required}, touches=(name,),
    )


# -- responses --------------------------------------------------------------


def change_status(method: str, path: str, old: int, new: int) -> EndpointOperation:
    """``method path`` answers success with status ``new`` instead of ``old`` (both 2xx)."""
    method = _check_method(method, "change_status")
    path = _check_path(path, "change_status")
    for what, status in (("old", old), ("new", new)):
        _check_int(status, f"change_status: {what}")
        if not 200 <= status <= 299:
            raise ChangeError(f"change_status: {what}={status} is not a 2xx status; declare "
                              "only a change from one success status to another "
                              "(200 to 299)")
    if old == new:
        raise ChangeError(f"change_status: the status stays {old}; old and new must differ")
    return _operation(
        "change_status",
        f"{_endpoint(method, path)} answers {new} instead of {old}",
        {"method": method, "path": path, "old": old, "new": new},
    )


def change_error_format(description: str, *, down: ErrorDown | None = None
                        ) -> EndpointOperation:
    """Error responses have a new format; ``description`` says how it differs.

    ``down`` takes a head error body (decoded JSON) and returns it in the old
    format; older versions then get their 4xx and 5xx JSON responses through
    it. Without it the change is descriptive only.
    """
    text = _check_text(description, "change_error_format: description")
    if down is not None and not callable(down):
        raise ChangeError(f"change_error_format: down must be callable (it takes the head "
                          f"error body and returns the old one), got {down!r}")
    return _operation("change_error_format", f"change the error format: {text}",
                      {"description": text, "down": down})


def change_sort_order(method: str, path: str, description: str) -> EndpointOperation:
    """``method path`` returns its items in another order; ``description`` says which."""
    method = _check_method(method, "change_sort_order")
    path = _check_path(path, "change_sort_order")
    text = _check_text(description, "change_sort_order: description")
    return _operation(
        "change_sort_order", f"change the sort order of {_endpoint(method, path)}: {text}",
        {"method": method, "path": path, "description": text},
    )


def add_header(name: str, *, response: bool = True) -> EndpointOperation:
    """Responses carry the new header ``name`` (or, with ``response=False``, requests may)."""
    if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
        raise ChangeError(f"add_header: name must be an HTTP header name (letters, digits "
                          f"and '-', such as 'Request-Id'), got {name!r}")
    if not isinstance(response, bool):
        raise ChangeError(f"add_header: response must be True or False, got {response!r}")
    text = f"add response header {name!r}" if response else f"accept request header {name!r}"
    return _operation("add_header", text, {"name": name, "response": response})


def reorder_properties(resource_hint: str | None = None) -> EndpointOperation:
    """Response properties come in another order (of ``resource_hint``, or anywhere)."""
    if resource_hint is not None and (not isinstance(resource_hint, str)
                                      or not resource_hint):
        raise ChangeError(f"reorder_properties: resource_hint must be a resource name or "
                          f"None, got {resource_hint!r}")
    where = f" of {resource_hint!r}" if resource_hint else ""
    return _operation("reorder_properties", f"reorder the response properties{where}",
                      {"resource": resource_hint})


# -- request limits ---------------------------------------------------------


def change_limit(method: str, path: str, name: str, old: int, new: int) -> EndpointOperation:
    """The request limit ``name`` of ``method path`` (a page size) goes from ``old`` to ``new``.

    A lowered limit has kind ``lower_limit``, a raised one ``raise_limit``:
    only lowering breaks a previous request.
    """
    method = _check_method(method, "change_limit")
    path = _check_path(path, "change_limit")
    name = _check_param(name, "change_limit: name")
    for what, limit in (("old", old), ("new", new)):
        _check_int(limit, f"change_limit: {what}")
        if limit < 1:
            raise ChangeError(f"change_limit: {what}={limit}; a limit is a positive integer")
    if old == new:
        raise ChangeError(f"change_limit: the limit {name!r} stays {old}; old and new "
                          "must differ")
    verb = "lower" if new < old else "raise"
    return _operation(
        f"{verb}_limit",
        f"{verb} the limit {name!r} of {_endpoint(method, path)} from {old} to {new}",
        {"method": method, "path": path, "name": name, "old": old, "new": new},
        touches=(name,),
    )
