"""The error responses of an OpenAPI document: what datever itself refuses, and with which body.

Every refusal the middleware sends (a version it cannot resolve, a removed or
forbidden version, a request body that does not fit, is too large or cannot
be read) carries ``{"error": {"type": ..., "message": ...}}``; the documents
describe that body once, as a component, and each operation names the
statuses it can really be answered with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datever.changes import Change
    from datever.versions import Version

__all__ = ["error_responses", "error_schema"]

Json = dict[str, Any]

_STRING = {"type": "string"}
_FIELDS: Json = {
    "type": {**_STRING, "description": "The kind of error, such as invalid_version, "
                                       "invalid_request_body or version_removed."},
    "message": {**_STRING, "description": "What is wrong, in a sentence for people."},
    "version": {**_STRING, "description": "The version the request was answered at."},
    "reason": {"description": "Why, in one word (invalid_version, invalid_request_body)."},
    "path": {"description": "The JSON path of the fault in the request body, in the "
                            "client's own property names."},
    "resource": {"description": "The resource the request body was read as."},
    "change": {"description": "The change whose transform refused the request body."},
}


def error_schema(version: Version) -> Json:
    """The JSON Schema of the error body at ``version``.

    A pending ``change_error_format`` gives older clients another format that
    only its ``down`` callable knows: the document then promises JSON alone.
    """
    older = _error_format_changes(version)
    if older:
        names = ", ".join(change.id or change.label for change in older)
        return {"description": f"An error, in the format of {version.name}: the one before "
                               f"{names}."}
    return {"type": "object", "required": ["error"],
            "description": "An error: its type names the kind, its message says what to do.",
            "properties": {"error": {"type": "object", "required": ["type", "message"],
                                     "properties": _FIELDS}}}


def _error_format_changes(version: Version) -> list[Change]:
    return [change for change in version.pending
            if any(op.kind == "change_error_format"
                   for ops in change.resources.values() for op in ops)]


def error_responses(version: Version, ref: str, *, request: str | None, templated: bool,
                    shaped: bool, sunset: bool) -> Json:
    """The error responses of one operation at ``version``, each referring to ``ref``.

    ``request`` is the operation's request body resource (None: no body),
    ``templated`` whether its path has parameters, ``shaped`` whether shapes
    are declared (bodies are then validated), ``sunset`` whether the version
    has a sunset date (after it, every request is answered 410).
    """
    why = ["the version named (header, query parameter or path) is not one this API "
           "knows (invalid_version)"]
    if request is not None:
        checked = "is checked against" if shaped else "is migrated to the head from"
        why.append(f"the request body is not JSON, or {checked} {request} as {version.name} "
                   "knows it and does not fit (invalid_request_body, naming the property in "
                   "the client's terms), or the service refuses what it asks for")
    text = "; or ".join(why)
    statuses = {400: text[0].upper() + text[1:] + "."}
    if version.channel == "preview" and version.timeline.preview_access is not None:
        statuses[403] = f"{version.name} is a preview this client has no access to."
    if templated:
        statuses[404] = "Nothing is at this path: no resource has that id."
    if sunset:
        statuses[410] = f"{version.name} has been removed (after its sunset)."
    if request is not None:
        statuses[413] = "The request body is longer than the service accepts."
        if any(request in change.resources for change in version.pending):
            statuses[415] = (f"The request body is not uncompressed JSON, which {request} "
                             f"must be to be migrated from {version.name} to the head.")
    content = {"application/json": {"schema": {"$ref": ref}}}
    return {str(status): {"description": text, "content": content}
            for status, text in statuses.items()}
