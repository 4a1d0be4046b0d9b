"""Shapes as symbols, and the changes' operations run backwards over them.

A resource's shape is an :class:`Obj`: its properties, each a :class:`Prop`
holding a symbolic type (a nested :class:`Obj`, a :class:`Ref` to another
resource, a :class:`ListOf`, a :class:`Union`, a :class:`Lit` enum, or any
other annotation kept as it is, free-form maps included). :func:`derive`
applies each change's down steps to these symbols, newest change first, and
records a :class:`ShapeProblem` for every step that names a property the
shape does not have at that point of history.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import msgspec

from datever.errors import ChangeError
from datever.operations import Call, Collapse, Convert, Drop, Fill, MapValues, Move, Operation

if TYPE_CHECKING:
    from datever.changes import Change

__all__ = ["ListOf", "Lit", "Obj", "Prop", "Ref", "ShapeProblem", "Union", "camel", "derive",
           "union"]

NODEFAULT: Any = msgspec.NODEFAULT


@dataclass(frozen=True)
class Ref:
    """The resource ``name``, at whatever shape it has in the version at hand."""

    name: str


@dataclass(frozen=True)
class ListOf:
    """A JSON array of ``item``."""

    item: Any


@dataclass(frozen=True)
class Union:
    """One of ``options``."""

    options: tuple[Any, ...]


@dataclass(frozen=True)
class Lit:
    """One of the literal ``values`` (an enum)."""

    values: tuple[Any, ...]


@dataclass(frozen=True)
class Prop:
    """One property: its symbolic type, whether it is always present, its default."""

    type: Any
    required: bool = True
    default: Any = NODEFAULT
    factory: Any = NODEFAULT


@dataclass
class Obj:
    """A JSON object of known properties; ``name`` names the Struct built from it.

    ``strict``: other properties are refused (the head Struct's
    ``forbid_unknown_fields``), at every version.
    """

    name: str
    props: dict[str, Prop] = field(default_factory=dict)
    strict: bool = False

    def clone(self) -> Obj:
        """A copy that shares nothing mutable with this one."""
        return Obj(self.name, {key: replace(prop, type=clone(prop.type))
                               for key, prop in self.props.items()}, self.strict)


def clone(kind: Any) -> Any:
    """``kind`` with every :class:`Obj` in it copied."""
    if isinstance(kind, Obj):
        return kind.clone()
    if isinstance(kind, Union):
        return Union(tuple(clone(option) for option in kind.options))
    if isinstance(kind, ListOf):
        return ListOf(clone(kind.item))
    return kind


def camel(name: str) -> str:
    """``payment_method.create`` as a class name: ``PaymentMethodCreate``."""
    return "".join(part[:1].upper() + part[1:]
                   for part in name.replace(".", "_").split("_") if part) or "Shape"


def union(options: Iterable[Any]) -> Any:
    """The union of ``options`` without repeats, flattened; one option is itself."""
    flat: list[Any] = []
    for option in options:
        for item in option.options if isinstance(option, Union) else (option,):
            if not any(_same(item, seen) for seen in flat):
                flat.append(item)
    return flat[0] if len(flat) == 1 else Union(tuple(flat))


def _same(one: Any, other: Any) -> bool:
    return one is other or (not isinstance(one, Obj) and type(one) is type(other)
                            and one == other)


def type_of_value(value: Any) -> Any:
    """The type of a JSON default (``remove(prop, default)``): ``None`` for null."""
    if value is None:
        return None
    if isinstance(value, dict):
        return dict[str, Any]
    if isinstance(value, list):
        return list[Any]
    return type(value)


@dataclass(frozen=True)
class ShapeProblem:
    """An operation naming a resource or property the shapes do not have at that point.

    ``closest`` is the existing name most like the one asked for (None: none is).
    """

    change: Change
    resource: str
    property: str | None
    message: str
    closest: str | None = None

    def error(self) -> ChangeError:
        """The problem as the ChangeError the loader raises, naming the change's file."""
        return ChangeError(self.message, file=self.change.file)


class _Missing(Exception):
    """A step named a property the shape lacks: ``path`` and what exists there."""

    def __init__(self, path: tuple[str, ...], existing: Iterable[str], *,
                 present: bool = False) -> None:
        super().__init__(".".join(path))
        self.path = path
        self.existing = sorted(existing)
        self.present = present


#: turns a type declared on an operation (and a name for its Struct) into a symbolic type
ReadType = Callable[[Any, str], Any]


def derive(shapes: Mapping[str, Obj | None], changes: Sequence[Change], read: ReadType,
           ) -> tuple[dict[str, Obj | None], list[ShapeProblem]]:
    """The shapes after running ``changes`` backwards (give them newest first).

    ``shapes`` is not modified. A resource whose shape becomes unknown (a
    custom transform that declares no ``old_types``) maps to None from there
    back. Problems are recorded, not raised; the step at fault is skipped.
    """
    current = {name: shape.clone() if shape is not None else None
               for name, shape in shapes.items()}
    problems: list[ShapeProblem] = []
    for change in changes:
        for resource, ops in change.operations.items():
            own = len(change.resources.get(resource, ()))
            if resource not in current:
                if own and any(op.down or op.up for op in ops[:own]):
                    problems.append(_no_resource(change, resource, current))
                continue
            for index in reversed(range(len(ops))):
                shape = current[resource]
                if shape is None:
                    break
                if index >= own and not _concerns(shape, ops[index]):
                    continue
                try:
                    current[resource] = _down(shape, ops[index], read)
                except _Missing as missing:
                    # an operation carried from a response resource applies to its
                    # request bodies where they have the property, silently elsewhere
                    if index < own:
                        problems.append(_no_property(change, resource, ops[index], missing))
    return current, problems


def _concerns(shape: Obj, op: Operation) -> bool:
    """Whether a carried custom transform has something to rewrite in a request body."""
    return op.kind != "custom" or not op.touches or bool(op.touches & shape.props.keys())


def _no_resource(change: Change, resource: str,
                 shapes: Mapping[str, Obj | None]) -> ShapeProblem:
    found = difflib.get_close_matches(resource, sorted(shapes), n=1, cutoff=0.5)
    closest = found[0] if found else None
    hint = f"; did you mean {closest!r}?" if closest else ""
    return ShapeProblem(change, resource, None,
                        f"{change.id} names the resource {resource!r}, which the schemas do "
                        f"not describe{hint}", closest)


def _no_property(change: Change, resource: str, op: Operation,
                 missing: _Missing) -> ShapeProblem:
    path = ".".join(missing.path)
    if missing.present:
        return ShapeProblem(change, resource, path,
                            f"{change.id} ({op}) on {resource!r}: {path!r} is still a property "
                            "of the newer shape; an operation that removes it gives it back to "
                            "older versions only")
    found = difflib.get_close_matches(missing.path[-1], missing.existing, n=1, cutoff=0.5)
    closest = ".".join((*missing.path[:-1], found[0])) if found else None
    if closest:
        hint = f"; did you mean {closest!r}?"
    else:
        hint = f"; it has {', '.join(map(repr, missing.existing)) or 'no properties'}"
    return ShapeProblem(change, resource, path,
                        f"{change.id} ({op}) on {resource!r}: the resource has no property "
                        f"{path!r} at that point of history{hint}", closest)


def _down(shape: Obj, op: Operation, read: ReadType) -> Obj | None:
    """``shape`` with ``op`` undone (its down steps); None: unknown from here back."""
    declared: Mapping[str, Any] | None = getattr(op, "old_types", None)
    for step in op.down:
        if isinstance(step, Move):
            prop = _take(shape, step.src)
            _put(shape, step.dst, prop)
        elif isinstance(step, Drop):
            _take(shape, (step.key,))
        elif isinstance(step, Fill):
            if step.key in shape.props:
                raise _Missing((step.key,), shape.props, present=True)
            kind = Any if step.compute is not None else type_of_value(step.default)
            shape.props[step.key] = Prop(kind)
        elif isinstance(step, MapValues):
            prop = _through(_get(shape, step.key), step)
            shape.props[step.key] = replace(prop, type=_map(prop.type, step))
        elif isinstance(step, Convert):
            prop = _through(_get(shape, step.key), step)
            old = declared.get(step.key, Any) if declared is not None else Any
            shape.props[step.key] = replace(prop, type=read(old, shape.name + camel(step.key)))
        elif isinstance(step, Collapse):
            prop = _get(shape, step.key)
            shape.props[step.key] = replace(prop, type=_collapse(prop.type))
        elif isinstance(step, Call):
            if declared is None:
                return None
            _custom(shape, op, declared, read)
    return shape


def _through(prop: Prop, step: MapValues | Convert) -> Prop:
    """``prop`` with its default as the older side has it: the head's default run through
    the down step (``"automatic"`` becomes ``True``), or none when the step refuses it."""
    if prop.default is NODEFAULT or prop.default is None:
        return prop
    try:
        value = step.apply({step.key: copy.deepcopy(prop.default)})[step.key]
    except Exception:
        return replace(prop, default=NODEFAULT)
    return replace(prop, default=value)


def _get(shape: Obj, key: str) -> Prop:
    try:
        return shape.props[key]
    except KeyError:
        raise _Missing((key,), shape.props) from None


def _objects(kind: Any) -> list[Obj]:
    """The object shapes ``kind`` may be (an Obj, or the Objs of a union)."""
    if isinstance(kind, Obj):
        return [kind]
    if isinstance(kind, Union):
        return [option for option in kind.options if isinstance(option, Obj)]
    return []


def _parent(shape: Obj, path: tuple[str, ...], *, create: bool) -> tuple[Obj, bool]:
    """The object holding ``path``'s last property, and whether it may be absent."""
    node, optional = shape, False
    for depth, part in enumerate(path[:-1]):
        prop = node.props.get(part)
        if prop is None and create:
            child = Obj(node.name + camel(part), strict=node.strict)
            node.props[part] = Prop(child, required=False, default=None)
            node = child
            continue
        objects = _objects(prop.type) if prop is not None else []
        if prop is None or not objects:
            raise _Missing(path[:depth + 1], node.props)
        optional = optional or not prop.required or isinstance(prop.type, Union)
        node = objects[0]
    return node, optional


def _take(shape: Obj, path: tuple[str, ...]) -> Prop:
    parent, optional = _parent(shape, path, create=False)
    if path[-1] not in parent.props:
        raise _Missing(path, parent.props)
    prop = parent.props.pop(path[-1])
    if optional:  # inside an object that may be absent or null: so may the value be
        prop = replace(prop, required=False, default=None)
    if len(path) > 1 and not parent.props:
        # a move leaves an emptied nested object out: it may now be absent
        holder, _ = _parent(shape, path[:-1], create=False)
        emptied = holder.props[path[-2]]
        holder.props[path[-2]] = replace(emptied, required=False, default=None)
    return prop


def _put(shape: Obj, path: tuple[str, ...], prop: Prop) -> None:
    parent, _ = _parent(shape, path, create=True)
    if len(path) > 1:
        holder, _ = _parent(shape, path[:-1], create=False)
        if prop.required:
            holder.props[path[-2]] = replace(holder.props[path[-2]], required=True,
                                             default=NODEFAULT)
    parent.props[path[-1]] = prop


def _map(kind: Any, step: MapValues) -> Any:
    """The type of a property after a down ``map_values``: enum literals renamed."""
    table: Mapping[tuple[type, Hashable], Any] = step.typed or {
        (str, new): old for new, old in step.table.items()}
    if isinstance(kind, Lit):
        return Lit(tuple(dict.fromkeys(table.get((type(value), value), value)
                                       for value in kind.values)))
    if isinstance(kind, Union):
        return union(_map(option, step) for option in kind.options)
    if kind is None or kind is Any:
        return kind
    # an open type (str) keeps its values and gains the old ones' types
    return union((kind, *(type_of_value(old) for old in table.values())))


def _collapse(kind: Any) -> Any:
    """An expanded object (or an id) becomes its id: a string."""
    if isinstance(kind, Union):
        return union(_collapse(option) for option in kind.options)
    return str if isinstance(kind, Obj | Ref) else kind


def _custom(shape: Obj, op: Operation, declared: Mapping[str, Any], read: ReadType) -> None:
    """A custom transform's declared effect: ``old_types`` set, other touched names dropped."""
    for key in sorted(op.touches - set(declared)):
        _get(shape, key)
        del shape.props[key]
    for key, old in declared.items():
        before = shape.props.get(key)
        kind = read(old, shape.name + camel(key))
        shape.props[key] = (replace(before, type=kind) if before is not None
                            else Prop(kind, required=False, default=None))
