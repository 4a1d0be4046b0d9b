"""Payloads checked against their version's shapes, in that version's own vocabulary.

With head shapes declared (:class:`~datever.Schemas`), a request body is
checked against its resource's shape at the client's version before it goes
up, and a response against the shapes of the version it is rendered at. A
payload that does not fit raises a :class:`~datever.MigrationError` with
reason ``"invalid"`` whose message and path name the properties as that
version calls them: a ``v1`` client hears about ``$.amount`` as a decimal
string, never about the head's integer of cents.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import msgspec

from datever.errors import MigrationError
from datever.pipeline import MAX_DEPTH, deeper_than, too_deep

if TYPE_CHECKING:
    from datever.schemas import Schemas
    from datever.versions import Version

__all__ = ["ShapeChecks"]

_DECODER = msgspec.json.Decoder()
_BYTES = (bytes, bytearray, memoryview)
# msgspec says where a value failed as " - at `$.data[0].amount`" (nothing at the root);
# a dict's values are all "[...]": it does not say under which key
_LOCATED = re.compile(r"(?P<detail>.*) - at `\$(?P<path>.*)`", re.DOTALL)
_PART = re.compile(r"\.(?P<key>[^.\[]+)|\[(?P<index>\d+)\]|(?P<any>\[\.\.\.\])")
_FIELD = re.compile(r"Object (?:missing required|contains unknown) field `(?P<name>[^`]*)`")


class ShapeChecks:
    """Checks payloads against the shapes ``schemas`` derive for each version.

    Decoders are built once per (release, resource) and kept: a check costs
    one typed msgspec decode of the body. Strictness follows the head
    Structs: a Struct declared with ``forbid_unknown_fields=True`` refuses,
    at every version, a property that version does not have; otherwise
    unknown properties are let through, as msgspec does.
    """

    def __init__(self, schemas: Schemas) -> None:
        self.schemas = schemas
        self._requests: dict[tuple[str, str], msgspec.json.Decoder[Any] | None] = {}
        self._responses: dict[str, dict[str, Any]] = {}

    def _decoder(self, version: Version, resource: str) -> msgspec.json.Decoder[Any] | None:
        key = (version.key, resource)
        try:
            return self._requests[key]
        except KeyError:
            shape = self.schemas.at(version).get(resource)
            decoder = self._requests[key] = (msgspec.json.Decoder(shape) if shape is not None
                                             else None)
            return decoder

    def request(self, body: Any, version: Version, resource: str) -> None:
        """Raise a MigrationError when ``body`` (JSON bytes, or JSON data) is not a valid
        ``resource`` at ``version``; a resource the shapes do not describe is not checked."""
        decoder = self._decoder(version, resource)
        if decoder is None:
            return
        try:
            if isinstance(body, _BYTES):
                decoder.decode(body)
            else:
                msgspec.convert(body, decoder.type)
        except msgspec.ValidationError as exc:
            raise _misfit(exc, body, version, resource, "up") from exc
        except msgspec.DecodeError as exc:
            raise MigrationError(f"invalid JSON: {exc}", resource=resource, direction="up",
                                 version=version.name, reason="invalid_json") from exc
        except RecursionError:
            raise _at(too_deep(resource), version, "up") from None

    def response(self, payload: Any, version: Version, *, resource: str | None = None) -> None:
        """Raise a MigrationError when ``payload`` (JSON bytes, or JSON data) does not fit
        the shapes of ``version``.

        The root is checked when it is an object naming a response resource by
        the discriminator (a list envelope, a charge...), or when ``resource``
        names its shape; anything else (an error body) is not a resource and
        passes unchecked.
        """
        if isinstance(payload, _BYTES):
            try:
                payload = _DECODER.decode(payload)
            except msgspec.DecodeError as exc:
                raise MigrationError(f"invalid JSON: {exc}", resource=resource,
                                     direction="down", version=version.name,
                                     reason="invalid_json") from exc
            except RecursionError:
                raise _at(too_deep(resource), version, "down") from None
        shapes = self._response_shapes(version)
        if resource is None:
            named = (payload.get(self.schemas.discriminator)
                     if isinstance(payload, dict) else None)
            if not isinstance(named, str) or named not in shapes:
                return
            resource = named
        shape = shapes.get(resource) or self.schemas.at(version).get(resource)
        if shape is None:
            raise ValueError(f"the shapes of {version.name} do not describe {resource!r}")
        try:
            msgspec.convert(payload, shape)
        except msgspec.ValidationError as exc:
            raise _misfit(exc, payload, version, resource, "down") from exc
        except RecursionError:
            raise _at(too_deep(resource), version, "down") from None

    def _response_shapes(self, version: Version) -> dict[str, Any]:
        """The Struct of each resource a response may name by the discriminator."""
        try:
            return self._responses[version.key]
        except KeyError:
            tagged = {name: shape for name, shape in self.schemas.at(version).items()
                      if isinstance(shape, type) and issubclass(shape, msgspec.Struct)
                      and shape.__struct_config__.tag_field is not None}
            self._responses[version.key] = tagged
            return tagged

    def __repr__(self) -> str:
        return f"<ShapeChecks {self.schemas!r}>"


def _misfit(error: msgspec.ValidationError, payload: Any, version: Version, resource: str,
            direction: str) -> MigrationError:
    """A payload nested past MAX_DEPTH is ``too_deep`` whatever else is wrong with it, as
    the engine says; any other misfit is ``invalid``. Only a refused payload pays this."""
    try:
        decoded = _DECODER.decode(payload) if isinstance(payload, _BYTES) else payload
        deep = deeper_than(decoded, MAX_DEPTH)
    except RecursionError:
        deep = True
    except msgspec.DecodeError as exc:  # a typed decode can fail on a valid prefix first
        return MigrationError(f"invalid JSON: {exc}", resource=resource, direction=direction,
                              version=version.name, reason="invalid_json")
    if deep:
        return _at(too_deep(resource), version, direction)
    return invalid(error, version, resource, direction)


def invalid(error: msgspec.ValidationError, version: Version, resource: str,
            direction: str) -> MigrationError:
    """msgspec's ``error`` as a MigrationError whose path points at the property at fault:
    the one that is missing or unknown, or whose value is wrong."""
    text = str(error)
    located = _LOCATED.fullmatch(text)
    detail, where = (located["detail"], located["path"]) if located else (text, "")
    path: list[str | int] = []
    for part in _PART.finditer(where):
        if part["key"] is not None:
            path.append(part["key"])
        elif part["index"] is not None:
            path.append(int(part["index"]))
        else:  # one of a map's values; msgspec does not say whose
            path.append("*")
    named = _FIELD.match(detail)
    if named:
        path.append(named["name"])
    return MigrationError(detail[:1].lower() + detail[1:], resource=resource, path=path,
                          direction=direction, version=version.name, reason="invalid")


def _at(error: MigrationError, version: Version, direction: str) -> MigrationError:
    error.direction = direction
    error.version = version.name
    return error
