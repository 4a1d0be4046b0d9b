"""The operations a change declares on a resource, and the steps they run.

An operation describes one edit from the old shape to the new one
(``rename("amount_cents", "amount")``). It knows its *up* steps (old to new,
for requests) and its *down* steps (new to old, for responses), the
properties it touches, and whether ``up(down(x)) == x`` holds (lossless).

Steps are the small primitives the reference interpreter applies one by one
and the compiler fuses and turns into source code.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from datever.errors import ChangeError

__all__ = [
    "Operation",
    "add",
    "collapse",
    "convert",
    "custom",
    "map_values",
    "move",
    "remove",
    "rename",
]

Obj = dict[str, Any]
Transform = Callable[[Obj], Obj | None]
ValueFn = Callable[[Any], Any]
Path = tuple[str, ...]

_SCALARS = (str, int, float, bool, type(None))
_UNDECLARED: Any = object()  # convert(old_type=...) left out (None is the JSON null type)


def _check_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not name:
        raise ChangeError(f"{what} must be a non-empty property name, got {name!r}")
    if "." in name:
        raise ChangeError(f"{what} {name!r} is a path; this operation works on one "
                          "property of the resource: use move() to reach nested objects")
    return name


def _check_path(path: object, what: str) -> Path:
    if not isinstance(path, str) or not path:
        raise ChangeError(f"{what} must be a non-empty dotted path, got {path!r}")
    text = path
    parts = tuple(text.split("."))
    if any(not part for part in parts):
        raise ChangeError(f"{what} {text!r} has an empty segment")
    return parts


def _check_callable(fn: object, what: str) -> None:
    if not callable(fn):
        raise ChangeError(f"{what} must be callable, got {fn!r}")


def _check_json(value: object, what: str) -> None:
    if isinstance(value, _SCALARS):
        return
    if isinstance(value, list):
        for item in value:
            _check_json(item, what)
        return
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        for item in value.values():
            _check_json(item, what)
        return
    raise ChangeError(f"{what} must be a JSON value, got {value!r}")


# -- steps -----------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One primitive edit of one object; subclasses define ``apply``.

    A *barrier* step may create or read nested resources, so the compiler
    keeps it in strict order with the steps of every other resource.
    """

    barrier = False

    def apply(self, obj: Obj) -> Obj:
        raise NotImplementedError

    def keys(self) -> frozenset[str]:
        """Top-level properties this step reads or writes (empty: unknown)."""
        return frozenset()


def _get_parent(obj: Obj, path: Path, *, create: bool) -> Obj | None:
    node = obj
    for part in path[:-1]:
        child = node.get(part)
        if child is None:
            if not create:
                return None
            child = node[part] = {}
        elif type(child) is not dict:
            raise TypeError(f"expected an object at {part!r}, found {type(child).__name__}")
        node = child
    return node


def _prune(obj: Obj, path: Path) -> None:
    """Remove the empty objects along ``path``, deepest first: moves create them as needed."""
    for depth in range(len(path), 0, -1):
        parent = _get_parent(obj, path[:depth], create=False)
        if parent is None or parent.get(path[depth - 1]) != {}:
            return
        del parent[path[depth - 1]]


@dataclass(frozen=True)
class Move(Step):
    """Move the value at ``src`` to ``dst`` (a rename when both are one key)."""

    src: Path
    dst: Path

    def apply(self, obj: Obj) -> Obj:
        parent = _get_parent(obj, self.src, create=False)
        if parent is None or self.src[-1] not in parent:
            return obj
        value = parent.pop(self.src[-1])
        if not parent and len(self.src) > 1:
            _prune(obj, self.src[:-1])
        target = _get_parent(obj, self.dst, create=True)
        assert target is not None
        target[self.dst[-1]] = value
        return obj

    def keys(self) -> frozenset[str]:
        return frozenset((self.src[0], self.dst[0]))


@dataclass(frozen=True)
class Drop(Step):
    """Remove a property if present."""

    key: str

    def apply(self, obj: Obj) -> Obj:
        obj.pop(self.key, None)
        return obj

    def keys(self) -> frozenset[str]:
        return frozenset((self.key,))


@dataclass(frozen=True)
class Fill(Step):
    """Set a missing property to a default or to ``compute(obj)``."""

    key: str
    default: Any = None
    compute: ValueFn | None = None
    nested: bool = False

    @property
    def barrier(self) -> bool:  # type: ignore[override]
        return self.nested

    def apply(self, obj: Obj) -> Obj:
        if self.key not in obj:
            obj[self.key] = (
                self.compute(obj) if self.compute is not None else copy.deepcopy(self.default)
            )
        return obj

    def keys(self) -> frozenset[str]:
        return frozenset() if self.compute is not None else frozenset((self.key,))


@dataclass(frozen=True)
class MapValues(Step):
    """Replace a property's value through a table; values not in it stay."""

    key: str
    table: Mapping[Hashable, Any]
    #: the table keyed by (type, value), given when ``table`` alone would merge keys
    #: Python holds equal (an inverse table whose keys are both ``1`` and ``True``)
    exact: Mapping[tuple[type, Hashable], Any] | None = None

    @property
    def typed(self) -> Mapping[tuple[type, Hashable], Any] | None:
        """The table keyed by (type, value) when it has non-string keys, else None.

        Python holds ``True == 1 == 1.0``; JSON does not, so such tables are
        looked up by type and value.
        """
        if self.exact is not None:
            return self.exact
        if all(type(key) is str for key in self.table):
            return None
        return {(type(key), key): value for key, value in self.table.items()}

    def apply(self, obj: Obj) -> Obj:
        if self.key in obj:
            value = obj[self.key]
            if type(value) not in _SCALARS:  # objects and arrays are never in the table
                return obj
            typed = self.typed
            if typed is None:
                if type(value) is str:
                    obj[self.key] = self.table.get(value, value)
            else:
                obj[self.key] = typed.get((type(value), value), value)
        return obj

    def keys(self) -> frozenset[str]:
        return frozenset((self.key,))


@dataclass(frozen=True)
class Convert(Step):
    """Replace a present property's value by ``fn(value)`` (``null`` included)."""

    key: str
    fn: ValueFn

    def apply(self, obj: Obj) -> Obj:
        if self.key in obj:
            obj[self.key] = self.fn(obj[self.key])
        return obj

    def keys(self) -> frozenset[str]:
        return frozenset((self.key,))


@dataclass(frozen=True)
class Collapse(Step):
    """Replace an expanded nested object by its ``id``."""

    key: str

    def apply(self, obj: Obj) -> Obj:
        value = obj.get(self.key)
        if type(value) is dict:
            obj[self.key] = value["id"]
        return obj

    def keys(self) -> frozenset[str]:
        return frozenset((self.key,))


@dataclass(frozen=True)
class Expand(Step):
    """Replace an id string by ``fn(id)`` (default ``{"id": id}``)."""

    key: str
    fn: ValueFn | None = None
    barrier = True  # it creates a nested object that older steps must see

    def apply(self, obj: Obj) -> Obj:
        value = obj.get(self.key)
        if type(value) is str:
            obj[self.key] = self.fn(value) if self.fn is not None else {"id": value}
        return obj

    def keys(self) -> frozenset[str]:
        return frozenset((self.key,))


@dataclass(frozen=True)
class Call(Step):
    """A custom transform: ``fn(obj)`` returns the new object, or None after editing in place."""

    fn: Transform
    nested: bool = False

    @property
    def barrier(self) -> bool:  # type: ignore[override]
        return self.nested

    def apply(self, obj: Obj) -> Obj:
        result = self.fn(obj)
        if result is None:
            return obj
        if type(result) is not dict:
            raise TypeError(f"a custom transform must return an object or None, got {result!r}")
        return result


# -- operations ------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One declared edit of a resource, from its old shape to its new one.

    ``up`` takes a payload from the old shape to the new, ``down`` back.
    ``lossless`` means ``up(down(x)) == x`` for every new-shape ``x``.
    ``kind`` names the operation for the printer and the classifier.
    """

    kind: str
    description: str
    down: tuple[Step, ...]
    up: tuple[Step, ...]
    lossless: bool
    touches: frozenset[str] = field(default_factory=frozenset)
    #: the old types of the properties it rewrites, where declared (``convert(old_type=)``,
    #: ``custom(old_types=)``): what the derived schemas of older versions say
    old_types: Mapping[str, Any] | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return self.description


def rename(old: str, new: str) -> Operation:
    """The property ``old`` is now called ``new``. Lossless."""
    _check_name(old, "rename: old")
    _check_name(new, "rename: new")
    if old == new:
        raise ChangeError(f"rename: {old!r} is renamed to itself")
    return Operation(
        "rename", f"rename {old!r} to {new!r}",
        down=(Move((new,), (old,)),), up=(Move((old,), (new,)),),
        lossless=True, touches=frozenset((old, new)),
    )


def move(old: str, new: str, *, reaches_nested: bool = False) -> Operation:
    """The value at dotted path ``old`` now lives at ``new`` (into or out of a nested object).

    Intermediate objects are created as needed, and a nested object the move
    leaves empty is removed, so an empty nested object counts as absent.
    Set ``reaches_nested`` when a path goes into a nested *resource* (one with
    its own discriminator). Lossless.
    """
    src = _check_path(old, "move: old")
    dst = _check_path(new, "move: new")
    if src == dst:
        raise ChangeError(f"move: {old!r} is moved to itself")
    if src[: len(dst)] == dst or dst[: len(src)] == src:
        raise ChangeError(f"move: {old!r} and {new!r} contain each other")
    down: Step = Move(dst, src)
    up: Step = Move(src, dst)
    if reaches_nested:
        down, up = _NestedMove(dst, src), _NestedMove(src, dst)
    return Operation(
        "move", f"move {old!r} to {new!r}", down=(down,), up=(up,),
        lossless=True, touches=frozenset((src[0], dst[0])),
    )


@dataclass(frozen=True)
class _NestedMove(Move):
    barrier = True


def add(prop: str, default: Any = None, *, compute: ValueFn | None = None,
        reaches_nested: bool = False) -> Operation:
    """The property ``prop`` is new: down removes it, up fills ``default`` or ``compute(obj)``.

    Lossy: down throws the value away. Set ``reaches_nested`` when ``compute``
    reads nested resources or returns one.
    """
    _check_name(prop, "add: property")
    if compute is not None:
        _check_callable(compute, "add: compute")
    else:
        _check_json(default, "add: default")
    how = "a computed value" if compute is not None else repr(default)
    return Operation(
        "add", f"add {prop!r} (older versions omit it; requests get {how})",
        down=(Drop(prop),), up=(Fill(prop, default, compute, reaches_nested),),
        lossless=False, touches=frozenset((prop,)),
    )


def remove(prop: str, default: Any = None, *, compute: ValueFn | None = None,
        reaches_nested: bool = False) -> Operation:
    """The property ``prop`` is gone: down restores ``compute(obj)`` or ``default``, up drops it.

    Lossless: the new shape never carries ``prop``. Set ``reaches_nested`` when
    ``compute`` reads nested resources or returns one.
    """
    _check_name(prop, "remove: property")
    if compute is not None:
        _check_callable(compute, "remove: compute")
    else:
        _check_json(default, "remove: default")
    how = "a computed value" if compute is not None else repr(default)
    return Operation(
        "remove", f"remove {prop!r} (older versions get {how})",
        down=(Fill(prop, default, compute, reaches_nested),), up=(Drop(prop),),
        lossless=True, touches=frozenset((prop,)),
    )


def map_values(prop: str, mapping: Mapping[Any, Any]) -> Operation:
    """The values of ``prop`` are renamed, ``{old: new}`` (an enum rename). Lossless.

    The mapping must be one-to-one so that down can invert it. Values not in
    it stay as they are, objects and arrays included. Keys match by JSON type
    as well as value: ``True`` matches only JSON ``true``, never ``1`` (Python
    holds ``True == 1 == 1.0``, JSON does not), and ``1`` matches only the
    integer ``1``, not ``1.0``.
    """
    _check_name(prop, "map_values: property")
    if not isinstance(mapping, Mapping) or not mapping:
        raise ChangeError(f"map_values: mapping must be a non-empty dict, got {mapping!r}")
    for key, value in mapping.items():
        if not isinstance(key, _SCALARS) or not isinstance(value, _SCALARS):
            raise ChangeError(f"map_values: {key!r} -> {value!r}: values must be JSON scalars")
    inverse = {new: old for old, new in mapping.items()}
    # {"a": 1, "b": True} inverts to keys Python merges (1 == True): keep them apart
    exact = (None if all(type(new) is str for new in mapping.values())
             else {(type(new), new): old for old, new in mapping.items()})
    if len({(type(new), new) for new in mapping.values()}) != len(mapping):
        raise ChangeError(f"map_values: mapping {dict(mapping)!r} is not one-to-one")
    pairs = ", ".join(f"{old!r} -> {new!r}" for old, new in mapping.items())
    return Operation(
        "map_values", f"map values of {prop!r}: {pairs}",
        down=(MapValues(prop, inverse, exact),), up=(MapValues(prop, dict(mapping)),),
        lossless=True, touches=frozenset((prop,)),
    )


def convert(prop: str, *, down: ValueFn, up: ValueFn, lossless: bool = False,
            description: str | None = None, old_type: Any = _UNDECLARED) -> Operation:
    """The value of ``prop`` changed type: ``down(new_value)`` and ``up(old_value)`` convert it.

    The functions see every present value, ``None`` included. Lossy unless
    declared ``lossless=True``: do so only when ``up(down(v)) == v`` for every
    value the new shape allows. ``old_type`` is the type older versions have
    (``str``, ``str | None``), for the schemas derived from declared shapes;
    left out, it is unknown (``Any``) from this change back.
    """
    _check_name(prop, "convert: property")
    _check_callable(down, "convert: down")
    _check_callable(up, "convert: up")
    text = description or f"convert {prop!r} ({_fn_name(up)} up, {_fn_name(down)} down)"
    return Operation(
        "convert", text, down=(Convert(prop, down),), up=(Convert(prop, up),),
        lossless=lossless, touches=frozenset((prop,)),
        old_types=None if old_type is _UNDECLARED else {prop: old_type},
    )


def collapse(prop: str, *, expand: ValueFn | None = None) -> Operation:
    """``prop`` now holds an expanded nested resource where it held its id.

    Down replaces the object by its ``id``; up turns an id into
    ``expand(id)`` (default ``{"id": id}``). Lossy.
    """
    _check_name(prop, "collapse: property")
    if expand is not None:
        _check_callable(expand, "collapse: expand")
    return Operation(
        "collapse", f"expand {prop!r} (older versions get its id)",
        down=(Collapse(prop),), up=(Expand(prop, expand),),
        lossless=False, touches=frozenset((prop,)),
    )


def custom(*, down: Transform | None = None, up: Transform | None = None,
           description: str = "custom transform", lossless: bool = False,
           reaches_nested: bool = False, touches: tuple[str, ...] = (),
           old_types: Mapping[str, Any] | None = None) -> Operation:
    """Anything else: ``down(obj)`` and ``up(obj)`` edit the object (return it, or None).

    ``touches`` names the properties it rewrites (for collision checks);
    ``reaches_nested`` says it reads or writes a nested resource or the
    discriminator, which makes the compiler keep it in strict order.
    ``old_types`` declares its effect on the shape, for the schemas derived
    from declared shapes: the type each property has in older versions
    (``{"refunds": list["refund"]}``, a string naming a resource); the
    touched properties it leaves out are absent there. Left out, the
    resource's shape is unknown from this change back.
    """
    if down is None and up is None:
        raise ChangeError("custom: give at least one of down= and up=")
    for name, fn in (("down", down), ("up", up)):
        if fn is not None:
            _check_callable(fn, f"custom: {name}")
    for prop in touches:
        _check_name(prop, "custom: touches")
    if old_types is not None:
        if not isinstance(old_types, Mapping):
            raise ChangeError(f"custom: old_types is a dict of property to type, "
                              f"got {old_types!r}")
        for prop in old_types:
            _check_name(prop, "custom: old_types")
            if prop not in touches:
                raise ChangeError(f"custom: old_types names {prop!r}, which touches= does not "
                                  "list; list every property the transform rewrites there")
        old_types = dict(old_types)
    return Operation(
        "custom", description,
        down=(Call(down, reaches_nested),) if down is not None else (),
        up=(Call(up, reaches_nested),) if up is not None else (),
        lossless=lossless, touches=frozenset(touches), old_types=old_types,
    )


def _fn_name(fn: object) -> str:
    return getattr(fn, "__name__", type(fn).__name__)
