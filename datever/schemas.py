"""Head shapes declared as msgspec Structs, and every version's shapes derived from them.

A service describes its head resources once (:class:`Schemas`): response
resources as Structs tagged by the discriminator (``tag_field="object"``),
request bodies by name. The changes' operations run backwards over them,
symbolically (:mod:`datever.schemas_derive`), which gives each version its
own Struct types and JSON Schema (:meth:`Schemas.at`) and lets the loader
refuse an operation that names a property the resource does not have at
that point of history (:meth:`Schemas.check`).
"""

from __future__ import annotations

import itertools
import sys
import types
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ForwardRef, Literal

import msgspec

from datever.errors import ChangeError
from datever.resources import Resource, Resources
from datever.schemas_derive import (
    NODEFAULT,
    ListOf,
    Lit,
    Obj,
    Prop,
    Ref,
    ShapeProblem,
    Union,
    camel,
    derive,
    union,
)

if TYPE_CHECKING:
    from datever.changes import Change
    from datever.versions import Version

__all__ = ["Schemas", "ShapeProblem", "VersionSchema"]

StructType = type[msgspec.Struct]
_modules = itertools.count(1)
_SEQUENCES = (list, Sequence, typing.Sequence)


class Schemas:
    """The head shapes of an API's resources, declared as msgspec Structs.

    ``resources`` are the response resources: Structs tagged by the
    discriminator (``class Charge(msgspec.Struct, tag_field="object",
    tag="charge")``); tagged Structs nested in them are found on their own.
    ``requests`` names the request bodies (``{"charge.create":
    ChargeCreate}``), untagged Structs: a request body carries no
    discriminator. ``shares`` says which response resource each request body
    shares its properties with (``{"charge.create": "charge"}``), as
    :class:`~datever.Resource` ``requests=`` does. Untagged Structs nested
    anywhere are plain objects (an address); ``dict[...]`` properties are
    free-form user data, never walked. A Struct with
    ``forbid_unknown_fields=True`` gives strict shapes at every version.
    Without a ``resources.py``, the resource declarations are derived from
    these (:meth:`resources`). In a change's ``custom(old_types=...)`` or
    ``convert(old_type=)`` a string names a resource (``list["refund"]``).
    """

    def __init__(self, resources: Iterable[StructType], *,
                 requests: Mapping[str, StructType] | None = None,
                 shares: Mapping[str, str] | None = None,
                 discriminator: str = "object") -> None:
        self.discriminator = discriminator
        #: the response resources' Structs as given, and the request bodies by name (what
        #: ``datever schema lock`` locks)
        self.responses: tuple[StructType, ...] = tuple(resources)
        self.requests: dict[str, StructType] = dict(requests or {})
        #: the head Struct of every resource name, nested tagged ones and request bodies included
        self.head: dict[str, StructType] = {}
        self._shapes: dict[str, Obj | None] = {}
        self._requests: frozenset[str] = frozenset(requests or {})
        self._cache: dict[tuple[str, ...], VersionSchema] = {}
        pending: list[StructType] = []
        for struct in self.responses:
            name = self._tag(struct)
            if name is None:
                raise ChangeError(f"Schemas: {_name(struct)} is a response resource, so it is "
                                  f"tagged by the discriminator: class {_name(struct)}("
                                  f"msgspec.Struct, tag_field={discriminator!r}, tag='...'); "
                                  "request bodies go in requests={'name.create': Struct}")
            pending.append(struct)
        for name, struct in (requests or {}).items():
            if not isinstance(name, str) or not name:
                raise ChangeError(f"Schemas: requests= maps non-empty names to Structs, "
                                  f"got {name!r}")
            if not _is_struct(struct) or struct.__struct_config__.tag_field is not None:
                raise ChangeError(f"Schemas: request body {name!r} is an untagged msgspec "
                                  f"Struct (requests carry no discriminator), got {struct!r}")
            self._claim(name, struct)
            self._shapes[name] = self._object(struct, camel(name), [struct])
        while pending:
            struct = pending.pop(0)
            name = self._tag(struct)
            assert name is not None
            if self._claim(name, struct):
                self._shapes[name] = None  # claimed: nested references stop here
                self._shapes[name] = self._object(struct, camel(name), [struct],
                                                  found=pending)
        #: the response resource each request body shares its properties with
        self.shares: dict[str, str] = dict(shares or {})
        for request, response in self.shares.items():
            if request not in self._requests:
                raise ChangeError(f"Schemas: shares= names {request!r}, which is not one of "
                                  "the request bodies given in requests=")
            if response not in self._shapes or response in self._requests:
                raise ChangeError(f"Schemas: shares= maps {request!r} to {response!r}, which "
                                  "is not a response resource of these schemas")

    # -- reading the head Structs -------------------------------------------

    def _tag(self, struct: object) -> str | None:
        if not _is_struct(struct):
            raise ChangeError(f"Schemas: resources are msgspec Struct types, got {struct!r}")
        config = struct.__struct_config__
        if config.tag_field is None:
            return None
        if config.tag_field != self.discriminator or not isinstance(config.tag, str):
            raise ChangeError(f"Schemas: {_name(struct)} is tagged by {config.tag_field!r} = "
                              f"{config.tag!r}; resources are tagged by the discriminator "
                              f"{self.discriminator!r} with their name, e.g. tag='charge'")
        return config.tag

    def _claim(self, name: str, struct: StructType) -> bool:
        """Record ``struct`` as resource ``name``; False when it already is."""
        other = self.head.setdefault(name, struct)
        if other is not struct:
            raise ChangeError(f"Schemas: {name!r} is described twice, by {_name(other)} and "
                              f"{_name(struct)}; describe each resource once")
        return name not in self._shapes

    def _object(self, struct: StructType, name: str, stack: list[StructType],
                found: list[StructType] | None = None) -> Obj:
        shape = Obj(name, strict=struct.__struct_config__.forbid_unknown_fields)
        try:
            infos = msgspec.structs.fields(struct)
        except Exception as exc:  # an annotation naming what its module does not hold
            raise ChangeError(f"Schemas: the annotations of {_name(struct)} do not resolve "
                              f"({type(exc).__name__}: {exc}); define what they name at the "
                              "top level of its module") from exc
        for info in infos:
            kind = self._read(info.type, name + camel(info.encode_name), stack, found)
            shape.props[info.encode_name] = Prop(kind, info.required, info.default,
                                                 info.default_factory)
        return shape

    def _read(self, annotation: Any, name: str, stack: list[StructType],
              found: list[StructType] | None) -> Any:
        if isinstance(annotation, str):
            return Ref(annotation)
        if isinstance(annotation, ForwardRef):
            return Ref(annotation.__forward_arg__)
        if annotation is None or annotation is type(None):
            return None
        if _is_struct(annotation):
            tag = self._tag(annotation)
            if tag is not None:
                if found is not None and tag not in self._shapes:
                    found.append(annotation)
                return Ref(tag)
            if annotation in stack:
                raise ChangeError(f"Schemas: {_name(annotation)} contains itself; tag it as a "
                                  "resource so that it is referred to by name")
            return self._object(annotation, name, [*stack, annotation], found)
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if origin in (typing.Union, types.UnionType):
            return union(self._read(arg, name, stack, found) for arg in args)
        if origin is Literal:
            return Lit(args)
        if origin in _SEQUENCES and len(args) == 1:
            return ListOf(self._read(args[0], name + "Item", stack, found))
        return annotation  # a scalar, Any, or a free-form dict: kept as declared

    def read_old_type(self, annotation: Any, name: str) -> Any:
        """A type declared on an operation (``old_type=``), as a symbolic type."""
        return self._read(annotation, name, [], None)

    # -- what they say -------------------------------------------------------

    @property
    def names(self) -> frozenset[str]:
        """Every resource name described: response resources and request bodies."""
        return frozenset(self._shapes)

    @property
    def symbols(self) -> Mapping[str, Obj | None]:
        """The head shapes as symbols (:mod:`datever.schemas_derive`), by resource name."""
        return self._shapes

    @property
    def opaque(self) -> Mapping[str, frozenset[str]]:
        """Each resource's free-form properties (``dict[...]``): user data, never walked."""
        return {name: frozenset(key for key, prop in shape.props.items()
                                if _free_form(prop.type))
                for name, shape in self._shapes.items() if shape is not None}

    def resources(self, *, file: str | None = None) -> Resources:
        """The resource declarations these shapes imply: the request bodies, what they
        share (``shares=``) and every resource's free-form properties (opaque)."""
        opaque = self.opaque
        declared = []
        for name in sorted(self._shapes):
            if name in self._requests:
                continue
            bodies = sorted(body for body, owner in self.shares.items() if owner == name)
            # one declaration covers the resource and its bodies: their opaque maps together
            free = set(opaque.get(name, ())).union(*(opaque.get(body, ()) for body in bodies))
            declared.append(Resource(name, requests=tuple(bodies), opaque=tuple(sorted(free))))
        declared += [Resource(name, request=True, opaque=tuple(sorted(opaque.get(name, ()))))
                     for name in sorted(self._requests) if name not in self.shares]
        return Resources(declared, file=file)

    def problems(self, changes: Iterable[Change]) -> list[ShapeProblem]:
        """Every operation of ``changes`` that names a resource or property the shapes do
        not have at its point of history (the changes run backwards from the head)."""
        newest_first = sorted(changes, key=lambda change: change.sort_key, reverse=True)
        return derive(self._shapes, newest_first, self.read_old_type)[1]

    def check(self, changes: Iterable[Change]) -> None:
        """Raise the ChangeError of the first of :meth:`problems`, naming its file."""
        problems = self.problems(changes)
        if problems:
            raise problems[0].error()

    def at(self, version: Version) -> VersionSchema:
        """The shapes of every resource at ``version``: Struct types and JSON Schema."""
        key = tuple(change.id for change in version.pending)
        found = self._cache.get(key)
        if found is None:
            shapes, _ = derive(self._shapes, tuple(reversed(version.pending)),
                               self.read_old_type)
            found = self._cache[key] = VersionSchema(version.name, shapes,
                                                     self.discriminator, self._requests)
        return found

    def __repr__(self) -> str:
        return f"<Schemas {sorted(self._shapes)}>"


class VersionSchema(Mapping[str, Any]):
    """The shapes of one version: a msgspec type per resource name, and their JSON Schema.

    ``schema["charge"]`` is a Struct type to ``msgspec.convert`` a payload
    into; a resource whose shape a custom transform left unknown is
    ``dict[str, Any]`` and listed in :attr:`unknown`.
    """

    def __init__(self, version: str, shapes: Mapping[str, Obj | None], discriminator: str,
                 requests: frozenset[str]) -> None:
        self.version = version
        #: the resources whose shape is unknown at this version
        self.unknown = frozenset(name for name, shape in shapes.items() if shape is None)
        self._types = _Builder(version, shapes, discriminator, requests).build()

    def __getitem__(self, name: str) -> Any:
        return self._types[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._types)

    def __len__(self) -> int:
        return len(self._types)

    def json_schema(self, *, ref_template: str = "#/$defs/{name}") -> dict[str, Any]:
        """``{"resources": {name: schema}, "$defs": {...}}`` in msgspec's JSON Schema.

        Pass ``ref_template="#/components/schemas/{name}"`` for an OpenAPI document.
        """
        names = sorted(self._types)
        schemas, components = msgspec.json.schema_components(
            [self._types[name] for name in names], ref_template=ref_template)
        return {"resources": dict(zip(names, schemas, strict=True)), "$defs": components}

    def __repr__(self) -> str:
        return f"<VersionSchema {self.version}: {', '.join(sorted(self._types))}>"


class _Builder:
    """Turns one version's symbolic shapes into msgspec Structs, in a module of their own
    (the resources refer to each other, so they are named there and resolved lazily)."""

    def __init__(self, version: str, shapes: Mapping[str, Obj | None], discriminator: str,
                 requests: frozenset[str]) -> None:
        self.shapes = shapes
        self.discriminator = discriminator
        self.requests = requests
        label = "".join(char if char.isalnum() else "_" for char in version)
        self.module = types.ModuleType(f"datever.shapes.v{next(_modules)}_{label}")
        self.classes: dict[str, str] = {}

    def build(self) -> dict[str, Any]:
        sys.modules[self.module.__name__] = self.module
        for name in self.shapes:
            self.classes[name] = self._unique(camel(name))
        built: dict[str, Any] = {}
        for name, shape in self.shapes.items():
            if shape is None:
                built[name] = dict[str, Any]
                continue
            tag = None if name in self.requests else name
            built[name] = self._struct(shape, self.classes[name], tag)
        return built

    def _unique(self, name: str) -> str:
        taken = set(vars(self.module)) | set(self.classes.values())
        candidate, number = name, 2
        while candidate in taken:
            candidate, number = f"{name}{number}", number + 1
        return candidate

    def _struct(self, shape: Obj, name: str, tag: str | None) -> StructType:
        fields: list[Any] = []
        for key, prop in shape.props.items():
            kind = self._type(prop.type)
            if prop.required:
                fields.append((key, kind))
            elif prop.factory is not NODEFAULT:
                fields.append((key, kind, msgspec.field(default_factory=prop.factory)))
            else:
                fields.append((key, kind, None if prop.default is NODEFAULT else prop.default))
        struct = msgspec.defstruct(
            name, fields, module=self.module.__name__, kw_only=True,
            forbid_unknown_fields=shape.strict,
            tag_field=self.discriminator if tag is not None else None, tag=tag)
        setattr(self.module, name, struct)
        return struct

    def _type(self, kind: Any) -> Any:
        if isinstance(kind, Obj):
            return self._struct(kind, self._unique(kind.name), None)
        if isinstance(kind, Ref):
            if self.shapes.get(kind.name) is None or kind.name in self.requests:
                return dict[str, Any]
            return ForwardRef(self.classes[kind.name], module=self.module.__name__)
        if isinstance(kind, ListOf):
            return list[self._type(kind.item)]  # type: ignore[misc]
        if isinstance(kind, Lit):
            return Literal[kind.values]
        if isinstance(kind, Union):
            return self._union(kind)
        return kind

    def _union(self, kind: Union) -> Any:
        options = [self._type(option) for option in kind.options]
        tagged = [o for o in options if isinstance(o, ForwardRef)]
        untagged = [o for o in options if _is_struct(o) or _free_form(o)]
        if len(untagged) > 1 or (untagged and tagged):
            # msgspec tells objects apart by tag only: an unknown shape among them
            # (or two plain objects) leaves one free-form object type
            objects = {id(o) for o in (*tagged, *untagged)}
            options = [o for o in options if id(o) not in objects] + [dict[str, Any]]
        return typing.Union.__getitem__(tuple(options))


def _is_struct(value: object) -> typing.TypeGuard[StructType]:
    return isinstance(value, type) and issubclass(value, msgspec.Struct)


def _name(struct: object) -> str:
    return getattr(struct, "__qualname__", repr(struct))


def _free_form(kind: Any) -> bool:
    if isinstance(kind, Union):
        return any(_free_form(option) for option in kind.options)
    return kind is dict or typing.get_origin(kind) in (dict, Mapping, typing.Mapping)
