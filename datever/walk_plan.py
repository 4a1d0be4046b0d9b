"""Walk plans: where, by the declared shapes, a touched resource can occur in a payload.

With :class:`~datever.Schemas`, each pass of a pipeline gets a plan made from
the shapes the payload has when that pass begins (the head for the first pass
down, the client's version for the first pass up). The plan lists, per
resource and per plain nested object, the properties worth entering: those
whose declared type can hold, at any depth, a resource the pass touches.

What the plan trusts, and what it does not:

- A property declared as scalars, an enum or a map of scalars is never
  entered; a resource (or a strict object) that cannot hold a touched one is
  never visited. A payload that breaks its declared shape *there* (a
  resource inside a ``str`` property) is left as it is.
- Everything else falls back to the generic walk, which finds resources by
  their discriminator wherever they are: a dict whose discriminator names no
  resource of the shapes, a dict or list where the shape expects neither, a
  property typed ``Any`` or as a map that may hold objects, a resource whose
  shape is unknown at that point of history, and a visited object that
  carries a key its shape does not declare (the whole object then goes to
  the generic walk). Shapes that are not strict (no
  ``forbid_unknown_fields``) may hold anything under other keys, so they are
  always visited.
- Declared opaque properties (user data) are never entered, as in the generic
  walk.
- MAX_DEPTH is counted along the paths walked: a subtree that is not visited
  is not measured either (the reference interpreter measures the whole
  payload first, so it refuses such a payload where the plan migrates it).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import types
import typing
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from datever.changes import Change, Direction
from datever.schemas_derive import ListOf, Lit, Obj, Ref, Union, derive

__all__ = ["DEAD", "ObjectPlan", "ValuePlan", "build_plan", "pass_shapes"]

Shapes = Mapping[str, "Obj | None"]
ReadType = Callable[[Any, str], Any]

_SCALAR_TYPES = (str, int, float, bool, bytes, bytearray, dt.datetime, dt.date, dt.time,
                 dt.timedelta, uuid.UUID, decimal.Decimal)
_CONTAINERS = (dict, list, tuple, set, frozenset, Mapping, Sequence, typing.Mapping,
               typing.Sequence)


class ObjectPlan:
    """How to walk one object: a resource (``name``) or a plain nested object.

    ``enter`` lists the properties to enter with what each may hold;
    ``known`` the keys its shape declares (an object with another key is
    walked generically); ``function`` is the resource's compiled function
    in this pass, if any.
    """

    __slots__ = ("enter", "function", "known", "name")

    def __init__(self, name: str | None, function: Callable[[Any], Any] | None,
                 known: frozenset[str]) -> None:
        self.name = name
        self.function = function
        self.known = known
        self.enter: tuple[tuple[str, ValuePlan], ...] = ()

    def __repr__(self) -> str:
        return f"<ObjectPlan {self.name or 'object'}: enter {[key for key, _ in self.enter]}>"


class ValuePlan:
    """What a property's value may be: ``generic`` (anything: the generic walk), an untagged
    object (``untagged``), a resource (found by its discriminator), a list (``items``)."""

    __slots__ = ("generic", "items", "untagged")

    def __init__(self, *, generic: bool = False, untagged: ObjectPlan | None = None,
                 items: ValuePlan | None = None) -> None:
        self.generic = generic
        self.untagged = untagged
        self.items = items


#: the plan of a resource that cannot hold anything a pass touches: it is not visited
DEAD = ObjectPlan(None, None, frozenset())


def pass_shapes(head: Shapes, segments: Sequence[Sequence[Change]], direction: Direction,
                read: ReadType) -> list[Shapes]:
    """The shapes a payload has when each segment's pass begins.

    ``segments`` are in application order. Down, the first pass sees the
    head and each pass undoes its changes for the next; up, the first pass
    sees the oldest version's shapes (every pending change undone).
    """
    result: list[Shapes] = []
    if direction == "down":
        current = head
        for index, segment in enumerate(segments):
            result.append(current)
            if index + 1 < len(segments):
                current = derive(current, segment, read)[0]
        return result
    current = head
    for segment in reversed(segments):
        current = derive(current, tuple(reversed(segment)), read)[0]
        result.append(current)
    return result[::-1]


def build_plan(shapes: Shapes, table: Mapping[str, Callable[[Any], Any]],
               opaque: Mapping[str, frozenset[str]], discriminator: str,
               ) -> dict[str, ObjectPlan]:
    """Each resource's plan for one pass: a live :class:`ObjectPlan`, or :data:`DEAD`.

    A resource whose shape is unknown is left out: it is walked generically.
    """
    return _Planner(shapes, table, opaque, discriminator).build()


class _Planner:
    def __init__(self, shapes: Shapes, table: Mapping[str, Callable[[Any], Any]],
                 opaque: Mapping[str, frozenset[str]], discriminator: str) -> None:
        self.shapes = shapes
        self.discriminator = discriminator
        self.table = table
        self.opaque = opaque
        self.live: dict[str, bool] = {}

    def build(self) -> dict[str, ObjectPlan]:
        # liveness is a least fixpoint: resources refer to each other in cycles
        self.live = {name: name in self.table for name in self.shapes}
        changed = True
        while changed:
            changed = False
            for name, shape in self.shapes.items():
                if not self.live[name] and (shape is None or self._object_live(
                        shape, self.opaque.get(name, frozenset()))):
                    self.live[name] = changed = True
        plans: dict[str, ObjectPlan] = {}
        for name, shape in self.shapes.items():
            if shape is None:
                continue
            if not self.live[name]:
                plans[name] = DEAD
                continue
            plans[name] = self._object(shape, name, self.opaque.get(name, frozenset()))
        return plans

    def _object_live(self, shape: Obj, skip: frozenset[str] = frozenset()) -> bool:
        return not shape.strict or any(self._type_live(prop.type)
                                       for key, prop in shape.props.items() if key not in skip)

    def _type_live(self, kind: Any) -> bool:
        if isinstance(kind, Obj):
            return self._object_live(kind)
        if isinstance(kind, Ref):
            return self.live.get(kind.name, True)
        if isinstance(kind, ListOf):
            return self._type_live(kind.item)
        if isinstance(kind, Union):
            return any(self._type_live(option) for option in kind.options)
        return not _plain(kind)

    def _object(self, shape: Obj, name: str | None, skip: frozenset[str]) -> ObjectPlan:
        # a resource's discriminator is its Struct's tag, not one of its fields
        known = frozenset(shape.props) | ({self.discriminator} if name is not None else set())
        plan = ObjectPlan(name, self.table.get(name) if name is not None else None, known)
        plan.enter = tuple((key, self._value(prop.type)) for key, prop in shape.props.items()
                           if key not in skip and self._type_live(prop.type))
        return plan

    def _value(self, kind: Any) -> ValuePlan:
        options = kind.options if isinstance(kind, Union) else (kind,)
        objects = [option for option in options if isinstance(option, Obj)]
        lists = [option.item for option in options if isinstance(option, ListOf)]
        generic = len(objects) > 1 or any(
            not isinstance(option, Obj | Ref | ListOf) and not _plain(option)
            for option in options)
        if generic:
            return ValuePlan(generic=True)
        untagged = self._object(objects[0], None, frozenset()) if objects else None
        items = self._value(lists[0] if len(lists) == 1 else Union(tuple(lists))) \
            if lists else None
        return ValuePlan(untagged=untagged, items=items)


def _plain(kind: Any) -> bool:
    """True when a value of type ``kind`` can hold JSON scalars only (no object, no list
    that could hold one)."""
    if kind is None or kind is type(None) or isinstance(kind, Lit):
        return True
    if isinstance(kind, type):
        return issubclass(kind, _SCALAR_TYPES) or issubclass(kind, enum.Enum)
    origin = typing.get_origin(kind)
    if origin is typing.Literal:
        return True
    if origin is typing.Annotated:
        return _plain(typing.get_args(kind)[0])
    if origin in (typing.Union, types.UnionType) or origin in _CONTAINERS:
        return all(arg is Ellipsis or _plain(arg) for arg in typing.get_args(kind))
    return False



# -- the planned walk as code ------------------------------------------------

#: what a generated walk needs from the walker that runs it (see :func:`walk_source`)
HELPERS = ("walk_dict", "walk_list", "generic", "dead", "located", "MigrationError", "TooDeep")


def walk_source(plans: Mapping[str, ObjectPlan], root: ValuePlan, discriminator: str,
                ) -> tuple[str, dict[str, Any]]:
    """The planned walk of one pass as Python source, and the objects it binds.

    Every live :class:`ObjectPlan` becomes a function ``o<n>(node, room, resource=None)``
    and every list plan a function ``l<n>(node, room)``, with the properties to
    enter, the keys to check and the resource function written in: nothing is
    looked up in a plan while a payload is walked. The source defines ``visits``
    (resource name to its function, or ``dead``) and ``root_list``; the names in
    :data:`HELPERS` must be added to the globals before it runs.
    """
    return _WalkWriter(plans, discriminator).write(root)


class _WalkWriter:
    def __init__(self, plans: Mapping[str, ObjectPlan], discriminator: str) -> None:
        self.plans = plans
        self.discriminator = discriminator
        self.lines: list[str] = []
        self.globals: dict[str, Any] = {}
        self.objects: dict[int, str] = {}  # id(plan) -> its function's name
        self.lists: dict[int, str] = {}
        self.pending: list[tuple[str, Any]] = []

    def write(self, root: ValuePlan) -> tuple[str, dict[str, Any]]:
        named = {name: self._object(plan) for name, plan in self.plans.items()
                 if plan is not DEAD}
        root_list = self._list(root)
        while self.pending:
            kind, plan = self.pending.pop()
            if kind == "object":
                self._write_object(plan)
            else:
                self._write_list(plan)
        entries = ", ".join(f"{name!r}: {named.get(name, 'dead')}" for name in self.plans)
        self.lines += [f"visits = {{{entries}}}", "visit_of = visits.get",
                       f"root_list = {root_list}", ""]
        return "\n".join(self.lines), self.globals

    def _bind(self, value: Any, hint: str) -> str:
        name = f"_{hint}{len(self.globals)}"
        self.globals[name] = value
        return name

    def _object(self, plan: ObjectPlan) -> str:
        name = self.objects.get(id(plan))
        if name is None:
            name = self.objects[id(plan)] = f"o{len(self.objects)}"
            self.pending.append(("object", plan))
        return name

    def _list(self, plan: ValuePlan) -> str:
        if plan.items is None or plan.generic:
            return "walk_list"
        name = self.lists.get(id(plan))
        if name is None:
            name = self.lists[id(plan)] = f"l{len(self.lists)}"
            self.pending.append(("list", plan))
        return name

    def _write_object(self, plan: ObjectPlan) -> None:
        emit = self.lines.append
        emit(f"def {self._object(plan)}(node, room, resource=None):")
        emit(f"    if not {self._bind(plan.known, 'known')}.issuperset(node):")
        emit("        return walk_dict(node, resource, room)")
        emit("    if not room:")
        emit("        raise TooDeep")
        emit("    room -= 1")
        for key, inner in plan.enter:
            where = repr(key)
            emit(f"    value = node.get({where})")
            emit("    kind = type(value)")
            emit("    if kind is dict:")
            self._visit_dict(inner, where, "        ")
            emit("    elif kind is list:")
            self._call(f"{self._list(inner)}(value, room)", where, "        ")
        if plan.function is None:
            emit("    return node")
        else:
            emit("    try:")
            emit(f"        return {self._bind(plan.function, 'function')}(node)")
            emit("    except Exception as exc:")
            emit(f"        raise located(exc, {plan.name!r}) from exc")
        emit("")

    def _write_list(self, plan: ValuePlan) -> None:
        items = plan.items
        assert items is not None
        emit = self.lines.append
        emit(f"def {self._list(plan)}(node, room):")
        emit("    if not room:")
        emit("        raise TooDeep")
        emit("    room -= 1")
        emit("    for index, value in enumerate(node):")
        emit("        kind = type(value)")
        emit("        if kind is dict:")
        self._visit_dict(items, "index", "            ")
        emit("        elif kind is list:")
        self._call(f"{self._list(items)}(value, room)", "index", "            ")
        emit("")

    def _visit_dict(self, inner: ValuePlan, where: str, indent: str) -> None:
        """Walk the dict ``value`` held at ``node[where]`` as ``inner`` says it may be."""
        emit = self.lines.append
        if inner.generic:
            visit = "generic"
        else:
            untagged = "generic" if inner.untagged is None else self._object(inner.untagged)
            emit(f"{indent}tag = value.get({self.discriminator!r})")
            emit(f"{indent}visit = visit_of(tag, generic) if type(tag) is str else {untagged}")
            emit(f"{indent}if visit is not dead:")
            indent += "    "
            visit = "visit"
        self._call(f"result = {visit}(value, room)", where, indent)
        emit(f"{indent}if result is not value:")
        emit(f"{indent}    node[{where}] = result")

    def _call(self, call: str, where: str, indent: str) -> None:
        """``call``, adding ``where`` to the path of a MigrationError on its way out."""
        self.lines += [f"{indent}try:", f"{indent}    {call}",
                       f"{indent}except MigrationError as exc:",
                       f"{indent}    exc.path.insert(0, {where})", f"{indent}    raise"]
