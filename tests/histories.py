"""Random change histories and well-formed payloads for the property tests.

A history is built forward in time while a model of every resource's shape
is kept, so each operation applies to a property that exists when it is
written, and payloads drawn from the head shape carry only head names.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from dataclasses import dataclass, field
from typing import Any

from datever import (
    Change,
    Operation,
    Timeline,
    add,
    collapse,
    convert,
    custom,
    map_values,
    move,
    remove,
    rename,
)

RESOURCES = ("alpha", "bravo", "charlie")
LOSSLESS_KINDS = ("rename", "remove", "map_values", "convert", "move_in", "move_out")
ALL_KINDS = (*LOSSLESS_KINDS, "add", "remove_computed", "collapse", "trail", "peek")


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
    def __init__(self) -> None:
        self._counter = itertools.count()

    def __call__(self, stem: str) -> str:
        return f"{stem}{next(self._counter)}"


def _trail(mark: str) -> Any:
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


def _shift(amount: int) -> tuple[Any, Any]:
    return (lambda value: value + amount), (lambda value: value - amount)


def _operation(kind: str, shape: Shape, rng: random.Random, names: _Names,
               mark: str) -> Operation | None:
    props = shape.props
    plain = [k for k, v in props.items() if v in ("int", "str")]
    if kind == "rename":
        candidates = [k for k in props if k not in ("trail", "peek")]
        if not candidates:
            return None
        old = rng.choice(sorted(candidates))
        new = names(old.rstrip("0123456789") + "_")
        props[new] = props.pop(old)
        return rename(old, new)
    if kind == "add":
        new = names("added")
        props[new] = "int"
        return add(new, rng.randint(0, 9))
    if kind in ("remove", "remove_computed"):
        if not plain:
            return None
        old = rng.choice(sorted(plain))
        was = props.pop(old)
        if kind == "remove_computed":
            return remove(old, compute=len)
        return remove(old, 0 if was == "int" else "gone")
    if kind == "map_values":
        enums = sorted(k for k, v in props.items() if isinstance(v, tuple) and v[0] == "enum")
        if not enums:
            return None
        key = rng.choice(enums)
        domain = props[key][1]
        old_value = rng.choice(sorted(domain))
        new_value = names("v")
        props[key] = ("enum", (domain - {old_value}) | {new_value})
        return map_values(key, {old_value: new_value})
    if kind == "convert":
        ints = sorted(k for k, v in props.items() if v == "int")
        if not ints:
            return None
        key = rng.choice(ints)
        down, up = _shift(rng.randint(1, 50))
        return convert(key, down=down, up=up, lossless=True)
    if kind == "move_in":
        boxes = sorted(k for k, v in props.items() if isinstance(v, tuple) and v[0] == "box")
        if not plain or not boxes:
            return None
        old, box = rng.choice(sorted(plain)), rng.choice(boxes)
        inner = names("in")
        props[box][1][inner] = props.pop(old)
        return move(old, f"{box}.{inner}")
    if kind == "move_out":
        boxes = sorted(k for k, v in props.items()
                       if isinstance(v, tuple) and v[0] == "box" and v[1])
        if not boxes:
            return None
        box = rng.choice(boxes)
        inner = rng.choice(sorted(props[box][1]))
        new = names("out")
        props[new] = props[box][1].pop(inner)
        return move(f"{box}.{inner}", new)
    if kind == "collapse":
        refs = sorted(k for k, v in props.items() if v == "idref")
        if not refs:
            return None
        key = rng.choice(refs)
        props[key] = "child"
        return collapse(key)
    if kind == "trail":
        return custom(down=_trail(mark), up=_trail(mark.upper()), touches=("trail",),
                      description=f"trail {mark}")
    if kind == "peek":
        return custom(down=_peek, description="peek at nested resources", reaches_nested=True)
    raise AssertionError(kind)


@dataclass
class History:
    """A generated timeline and the head shape of every resource."""

    timeline: Timeline
    head: dict[str, Shape]


def build_history(rng: random.Random, *, size: int, kinds: tuple[str, ...] = ALL_KINDS,
                  staged: bool = True) -> History:
    """A random timeline of ``size`` changes, each valid against the shape before it."""
    names = _Names()
    shapes = {resource: _initial_shape() for resource in RESOURCES}
    day = dt.date(2019, 1, 1)
    changes = []
    for index in range(size):
        resources: dict[str, list[Operation]] = {}
        for resource in rng.sample(RESOURCES, rng.randint(1, 2)):
            ops = []
            for _ in range(rng.randint(1, 3)):
                op = _operation(rng.choice(kinds), shapes[resource], rng, names, f"{index}.")
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
            day += dt.timedelta(days=rng.choice((0, 0, 1, 30, 200)))
            change = Change(released=day, description=change_id, resources=resources,
                            id=change_id)
        changes.append(change)
    return History(Timeline(changes), shapes)


def _value(kind: Any, head: dict[str, Shape], rng: random.Random, depth: int) -> Any:
    if kind == "int":
        return rng.randint(-100, 100)
    if kind == "str":
        return rng.choice(["", "x", "hello", "ünï"])
    if kind == "idref":
        return f"id_{rng.randint(0, 999)}"
    if kind == "child":
        return resource_payload(head, rng, depth - 1) if depth > 0 else None
    if kind == "children":
        if depth <= 0:
            return []
        return [resource_payload(head, rng, depth - 1) for _ in range(rng.randint(0, 2))]
    if kind[0] == "enum":
        return rng.choice(sorted(kind[1]))
    if kind[0] == "box":
        # an empty nested object counts as absent (see datever.move), so none is drawn
        box = {key: _value(sub, head, rng, depth) for key, sub in kind[1].items()
               if rng.random() < 0.8}
        return box or None
    raise AssertionError(kind)


def resource_payload(head: dict[str, Shape], rng: random.Random, depth: int = 2,
                     resource: str | None = None) -> dict[str, Any]:
    """A head-shaped resource with a random subset of its properties, nested ones included."""
    name = resource or rng.choice(RESOURCES)
    obj: dict[str, Any] = {"object": name, "id": f"{name}_{rng.randint(0, 999)}"}
    for key, kind in head[name].props.items():
        if rng.random() < 0.8:
            value = _value(kind, head, rng, depth)
            if value is not None or not isinstance(kind, tuple) or kind[0] != "box":
                obj[key] = value
    return obj


def payload(head: dict[str, Shape], rng: random.Random) -> Any:
    """A head-shaped response: one resource, a list envelope, or a bare list."""
    form = rng.choice(("resource", "envelope", "list"))
    if form == "resource":
        return resource_payload(head, rng)
    items = [resource_payload(head, rng) for _ in range(rng.randint(0, 4))]
    if form == "envelope":
        return {"object": "list", "data": items, "has_more": False}
    return items
