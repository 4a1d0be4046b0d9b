"""Hypothesis strategies for change histories and well-formed payloads (the property tests).

A history is drawn forward in time while a model of every resource's shape is
kept, so each operation applies to a property that exists when it is written,
and payloads drawn from the head shape carry only head names. Every choice is
a hypothesis draw, so a failing case shrinks: to fewer changes, fewer
operations, simpler kinds, smaller values and shallower nesting.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hypothesis import strategies as st

from datever import (
    Change,
    add,
    collapse,
    convert,
    custom,
    map_values,
    move,
    remove,
    rename,
)
from datever.operations import Operation
from datever.versions import Timeline

RESOURCES = ("alpha", "bravo", "charlie")
#: operations whose down and up are declarative and lossless
LOSSLESS_KINDS = ("rename", "remove", "map_values", "convert", "move_in", "move_out")
#: lossy and opaque ones too: computed fills, collapses, and custom transforms that
#: record the order they run in (trail) and what nested resources look like then (peek)
ALL_KINDS = (*LOSSLESS_KINDS, "add", "remove_computed", "collapse", "trail", "peek")
#: a custom transform that fails on objects carrying ``trip``, for the error laws
FAILING_KINDS = (*ALL_KINDS, "explode")
#: the property an object carries to make an ``explode`` transform fail on it
TRIP = "trip"

T = TypeVar("T")
Draw = Callable[[st.SearchStrategy[Any]], Any]


@dataclass
class Shape:
    """The properties of one resource at one point of its history, with their kinds."""

    props: dict[str, Any] = field(default_factory=dict)


def _initial_shape() -> Shape:
    return Shape({
        "amount": "int", "note": "str", "status": ("enum", frozenset({"open", "done"})),
        "child": "child", "kids": "children", "owner": "idref", "box": ("box", {"inner": "int"}),
    })


class _Names:
    """Fresh property names: a stem and a counter, so no two are ever equal."""

    def __init__(self) -> None:
        self._counter = itertools.count()

    def __call__(self, stem: str) -> str:
        return f"{stem}{next(self._counter)}"


def trail(mark: str) -> Callable[[dict[str, Any]], None]:
    """A custom transform that appends ``mark`` to the object's ``trail``: proves the order."""
    def step(obj: dict[str, Any]) -> None:
        obj["trail"] = obj.get("trail", "") + mark

    step.__name__ = f"trail_{mark}"
    return step


def _peek(obj: dict[str, Any]) -> dict[str, Any]:
    """Record the keys of each nested resource: proves the order of nested migrations."""
    # sorted: property order is not part of a JSON object's value (RFC 8259)
    seen = sorted([key, sorted(value)] for key, value in obj.items()
                  if isinstance(value, dict) and "object" in value)
    obj["peek"] = [*obj.get("peek", []), seen]
    return obj


def _explode(obj: dict[str, Any]) -> None:
    """Fail on an object that carries ``trip``."""
    if TRIP in obj:
        raise ValueError(f"{TRIP} found")


def _shift(amount: int) -> tuple[Callable[[int], int], Callable[[int], int]]:
    return (lambda value: value + amount), (lambda value: value - amount)


def _pick(draw: Draw, options: Sequence[T]) -> T:
    return draw(st.sampled_from(sorted(options)))  # type: ignore[type-var]


def _operation(draw: Draw, kind: str, shape: Shape, names: _Names,
               mark: str) -> Operation | None:
    """One operation of ``kind`` valid on ``shape``, which it updates; None when none fits."""
    props = shape.props
    plain = [k for k, v in props.items() if v in ("int", "str")]
    if kind == "rename":
        candidates = [k for k in props if k not in ("trail", "peek")]
        if not candidates:
            return None
        old = _pick(draw, candidates)
        new = names(old.rstrip("0123456789") + "_")
        props[new] = props.pop(old)
        return rename(old, new)
    if kind == "add":
        new = names("added")
        props[new] = "int"
        return add(new, draw(st.integers(0, 9)))
    if kind in ("remove", "remove_computed"):
        if not plain:
            return None
        old = _pick(draw, plain)
        was = props.pop(old)
        if kind == "remove_computed":
            return remove(old, compute=len)
        return remove(old, 0 if was == "int" else "gone")
    if kind == "map_values":
        enums = [k for k, v in props.items() if isinstance(v, tuple) and v[0] == "enum"]
        if not enums:
            return None
        key = _pick(draw, enums)
        domain = props[key][1]
        old_value = _pick(draw, domain)
        new_value = names("v")
        props[key] = ("enum", (domain - {old_value}) | {new_value})
        return map_values(key, {old_value: new_value})
    if kind == "convert":
        ints = [k for k, v in props.items() if v == "int"]
        if not ints:
            return None
        down, up = _shift(draw(st.integers(1, 50)))
        return convert(_pick(draw, ints), down=down, up=up, lossless=True)
    if kind == "move_in":
        boxes = [k for k, v in props.items() if isinstance(v, tuple) and v[0] == "box"]
        if not plain or not boxes:
            return None
        old, box = _pick(draw, plain), _pick(draw, boxes)
        inner = names("in")
        props[box][1][inner] = props.pop(old)
        return move(old, f"{box}.{inner}")
    if kind == "move_out":
        boxes = [k for k, v in props.items() if isinstance(v, tuple) and v[0] == "box" and v[1]]
        if not boxes:
            return None
        box = _pick(draw, boxes)
        inner = _pick(draw, props[box][1])
        new = names("out")
        props[new] = props[box][1].pop(inner)
        return move(f"{box}.{inner}", new)
    if kind == "collapse":
        refs = [k for k, v in props.items() if v == "idref"]
        if not refs:
            return None
        key = _pick(draw, refs)
        props[key] = "child"
        return collapse(key)
    if kind == "trail":
        return custom(down=trail(mark), up=trail(mark.upper()), touches=("trail",),
                      description=f"trail {mark}")
    if kind == "peek":
        return custom(down=_peek, description="peek at nested resources", reaches_nested=True)
    if kind == "explode":
        return custom(down=_explode, up=_explode, description="fails on trip")
    raise AssertionError(kind)


@dataclass
class History:
    """A generated timeline and the head shape of every resource."""

    timeline: Timeline
    head: dict[str, Shape]


@st.composite
def histories(draw: Draw, *, kinds: tuple[str, ...] = ALL_KINDS, max_size: int = 40,
              staged: bool = True) -> History:
    """A timeline of 1 to ``max_size`` changes, each valid against the shape before it.

    With ``staged``, the newest change is experimental and the one before it beta
    (when there are enough). Several changes may share a release date.
    """
    size = draw(st.integers(1, max_size))
    names = _Names()
    shapes = {resource: _initial_shape() for resource in RESOURCES}
    day = dt.date(2019, 1, 1)
    changes = []
    for index in range(size):
        resources: dict[str, list[Operation]] = {}
        touched = draw(st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=2,
                                unique=True))
        for resource in touched:
            ops = []
            for _ in range(draw(st.integers(1, 3))):
                op = _operation(draw, draw(st.sampled_from(kinds)), shapes[resource], names,
                                f"{index}.")
                if op is not None:
                    ops.append(op)
            if ops:
                resources[resource] = ops
        if not resources:
            # a property no payload carries: down fills it, up drops it again
            resources = {"alpha": [remove(names("filler"), 1)]}
        change_id = f"c{index:03d}"
        if staged and index == size - 1 and size > 2:
            change = Change(stage="experimental", description=change_id, resources=resources,
                            id=change_id)
        elif staged and index == size - 2 and size > 3:
            change = Change(stage="beta", description=change_id, resources=resources,
                            id=change_id)
        else:
            day += dt.timedelta(days=draw(st.sampled_from((0, 1, 30, 200))))
            change = Change(released=day, description=change_id, resources=resources,
                            id=change_id)
        changes.append(change)
    return History(Timeline(changes), shapes)


#: strings as JSON carries them: any text, escapes and non-ASCII included
_TEXT = st.text(max_size=6)


@st.composite
def _value(draw: Draw, kind: Any, head: dict[str, Shape], depth: int) -> Any:
    if kind == "int":
        return draw(st.integers(-100, 100))
    if kind == "str":
        return draw(_TEXT)
    if kind == "idref":
        return f"id_{draw(st.integers(0, 999))}"
    if kind == "child":
        return draw(resource_payloads(head, depth=depth - 1)) if depth > 0 else None
    if kind == "children":
        if depth <= 0:
            return []
        return draw(st.lists(resource_payloads(head, depth=depth - 1), max_size=2))
    if kind[0] == "enum":
        return draw(st.sampled_from(sorted(kind[1])))
    if kind[0] == "box":
        # an empty nested object counts as absent (see datever.move), so none is drawn
        box = {key: draw(_value(sub, head, depth)) for key, sub in kind[1].items()
               if draw(st.booleans())}
        return box or None
    raise AssertionError(kind)


@st.composite
def resource_payloads(draw: Draw, head: dict[str, Shape], *, depth: int = 2,
                      resource: str | None = None) -> dict[str, Any]:
    """A head-shaped resource with a subset of its properties, nested resources included."""
    name = resource or draw(st.sampled_from(RESOURCES))
    obj: dict[str, Any] = {"object": name, "id": f"{name}_{draw(st.integers(0, 999))}"}
    for key, kind in head[name].props.items():
        if draw(st.booleans()):
            value = draw(_value(kind, head, depth))
            if value is not None or not isinstance(kind, tuple) or kind[0] != "box":
                obj[key] = value
    return obj


@st.composite
def payloads(draw: Draw, head: dict[str, Shape]) -> Any:
    """A head-shaped response: one resource, a list envelope, or a bare list."""
    form = draw(st.sampled_from(("resource", "envelope", "list")))
    if form == "resource":
        return draw(resource_payloads(head))
    items = draw(st.lists(resource_payloads(head), max_size=4))
    if form == "envelope":
        return {"object": "list", "data": items, "has_more": False}
    return items


@st.composite
def tripped(draw: Draw, payload: Any) -> tuple[Any, list[str | int]]:
    """``payload`` with one of its resources (or none) marked to make ``explode`` fail on
    it, and the JSON path of that resource (empty when none is marked)."""
    found: list[tuple[dict[str, Any], list[str | int]]] = []
    stack: list[tuple[Any, list[str | int]]] = [(payload, [])]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            if "object" in node:
                found.append((node, path))
            stack.extend((value, [*path, key]) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, [*path, index]) for index, value in enumerate(node))
    if not found or not draw(st.booleans()):
        return payload, []
    target, path = draw(st.sampled_from(found))
    target[TRIP] = True
    return payload, path
