"""Seeded benchmark data: synthetic change histories and head-shaped payloads.

A history is generated newest change first, walking back from the head
schema, so that every operation is well-formed: a rename or an ``add`` names a
property the newer side has, a ``remove`` or the old side of a rename is a
fresh name, a value map or a conversion sees the values it was written for.
The same specs become in-memory :class:`datever.Change` objects or real
change modules on disk (for the start-up benchmark).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import inspect
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import datever
import datever.pipeline
import datever.versions

REPO = Path(__file__).resolve().parent.parent
CHANGES = REPO / "changes"
SAMPLES = CHANGES / "_samples.py"

Json = dict[str, Any]

_STEMS = (
    "amount", "balance", "brand", "channel", "city", "code", "color", "count", "country",
    "created", "currency", "delay", "discount", "email", "expires", "fee", "label", "level",
    "limit", "locale", "memo", "method", "mode", "name", "note", "number", "origin", "phone",
    "plan", "priority", "quantity", "rank", "rate", "reason", "region", "score", "size",
    "source", "status", "tax", "tier", "title", "total", "type", "unit", "url", "weight",
)
_HEAD_KINDS = ("int", "str", "enum", "bool", "float")
#: ``digits`` is an int sent as text by older versions
_SCALAR_KINDS = (*_HEAD_KINDS, "digits")


# -- value conversions (module-level so change modules can carry their source) --


def times_100(value: int) -> int:
    return value * 100


def div_100(value: int) -> int:
    return value // 100


def to_text(value: int) -> str:
    return str(value)


def to_int(value: str) -> int:
    return int(value)


def upper(value: str) -> str:
    return value.upper()


def lower(value: str) -> str:
    return value.lower()


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


def is_yes(value: str) -> bool:
    return value == "yes"


@dataclass(frozen=True)
class Conversion:
    """A ``convert`` operation's pair of functions and the value kinds on each side."""

    down: Callable[[Any], Any]
    up: Callable[[Any], Any]
    new_kind: str
    old_kind: str
    lossless: bool


CONVERSIONS = {
    "cents": Conversion(times_100, div_100, "int", "int", True),
    "text": Conversion(to_text, to_int, "int", "digits", True),
    "upper": Conversion(upper, lower, "str", "str", False),
    "flag": Conversion(yes_no, is_yes, "bool", "str", True),
}


# -- schemas -----------------------------------------------------------------


@dataclass
class Prop:
    """One property of a resource at some point of its history.

    ``kind`` is a scalar kind, ``details`` (a plain nested object holding
    scalars, the target of moves), ``resource`` or ``resources`` (a nested
    resource or a list of them, of type ``target``).
    """

    kind: str
    values: tuple[str, ...] = ()
    target: str = ""


@dataclass
class Schema:
    """The property names of one resource at one point of its history.

    ``details`` holds the keys of the plain nested object named ``details_key``;
    moves out of it prune it when it empties (and moves into it create it),
    so the property is in ``props`` only while it has keys.
    """

    props: dict[str, Prop]
    details: dict[str, Prop] = field(default_factory=dict)
    details_key: str | None = None

    def copy(self) -> Schema:
        return Schema(dict(self.props), dict(self.details), self.details_key)


@dataclass(frozen=True)
class ResourceType:
    """How a generated resource nests others: property name -> (kind, target)."""

    name: str
    nested: tuple[tuple[str, str, str], ...] = ()


#: order (top of the list) > customer, shipment, a list of line items > product
SHOP = (
    ResourceType("order", (("customer", "resource", "customer"),
                           ("shipment", "resource", "shipment"),
                           ("items", "resources", "line_item"))),
    ResourceType("customer"),
    ResourceType("shipment"),
    ResourceType("line_item", (("product", "resource", "product"),)),
    ResourceType("product"),
)


class _Names:
    """Fresh property names and enum values, never reused within one resource."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = {"id", "object"}

    def fresh(self) -> str:
        while True:
            name = f"{self.rng.choice(_STEMS)}_{self.rng.randrange(1000)}"
            if name not in self.used:
                self.used.add(name)
                return name


def _head_schema(rng: random.Random, rtype: ResourceType, names: _Names) -> Schema:
    props: dict[str, Prop] = {"id": Prop("str"), "object": Prop("str")}
    for prop, kind, target in rtype.nested:
        names.used.add(prop)
        props[prop] = Prop(kind, target=target)
    details_key = names.fresh()
    props[details_key] = Prop("details")
    details = {names.fresh(): Prop(rng.choice(("int", "str", "bool"))) for _ in range(4)}
    for _ in range(rng.randint(20, 40) - len(props)):
        kind = rng.choice(_HEAD_KINDS)
        values = tuple(names.fresh() for _ in range(4)) if kind == "enum" else ()
        props[names.fresh()] = Prop(kind, values)
    return Schema(props, details, details_key)


# -- change specs ------------------------------------------------------------


@dataclass(frozen=True)
class OpSpec:
    """One operation, as data: ``kind`` names the datever function."""

    kind: str
    args: tuple[str, ...]
    default: Any = None
    mapping: tuple[tuple[str, str], ...] = ()
    conversion: str = ""

    def build(self) -> datever.Operation:
        if self.kind == "rename":
            return datever.rename(*self.args)
        if self.kind == "move":
            return datever.move(*self.args)
        if self.kind == "add":
            return datever.add(self.args[0], self.default)
        if self.kind == "remove":
            return datever.remove(self.args[0], self.default)
        if self.kind == "map_values":
            return datever.map_values(self.args[0], dict(self.mapping))
        if self.kind == "convert":
            conv = CONVERSIONS[self.conversion]
            return datever.convert(self.args[0], down=conv.down, up=conv.up,
                                   lossless=conv.lossless)
        raise ValueError(f"unknown operation kind {self.kind!r}")

    def source(self) -> str:
        args = ", ".join(repr(arg) for arg in self.args)
        if self.kind in ("add", "remove"):
            return f"{self.kind}({args}, {self.default!r})"
        if self.kind == "map_values":
            return f"map_values({args}, {dict(self.mapping)!r})"
        if self.kind == "convert":
            conv = CONVERSIONS[self.conversion]
            return (f"convert({args}, down={conv.down.__name__}, up={conv.up.__name__}, "
                    f"lossless={conv.lossless})")
        return f"{self.kind}({args})"


@dataclass(frozen=True)
class ChangeSpec:
    """One change, as data: its id (also its module name), date and operations."""

    id: str
    released: dt.date
    resources: tuple[tuple[str, tuple[OpSpec, ...]], ...]

    @property
    def description(self) -> str:
        return "; ".join(f"{name}: " + ", ".join(op.source() for op in ops)
                         for name, ops in self.resources)

    def build(self) -> datever.Change:
        return datever.Change(
            id=self.id, released=self.released, description=self.description,
            resources={name: [op.build() for op in ops] for name, ops in self.resources},
            retroactive=False,  # the generated schemas version every change
        )

    def module_source(self) -> str:
        ops = [op for _, resource_ops in self.resources for op in resource_ops]
        kinds = sorted({"Change", *(op.kind for op in ops)})
        lines = [f'"""{self.description}"""', "", f"from datever import {', '.join(kinds)}"]
        for name in sorted({op.conversion for op in ops if op.conversion}):
            conv = CONVERSIONS[name]
            lines += ["", "", inspect.getsource(conv.down).rstrip(),
                      "", "", inspect.getsource(conv.up).rstrip()]
        lines += ["", "", "change = Change(", f"    released={self.released.isoformat()!r},",
                  "    resources={"]
        for name, resource_ops in self.resources:
            lines.append(f"        {name!r}: [")
            lines += [f"            {op.source()}," for op in resource_ops]
            lines.append("        ],")
        lines += ["    },", "    retroactive=False,", ")", ""]
        return "\n".join(lines)


@dataclass
class History:
    """A generated history: its changes (oldest first) and the head and oldest schemas."""

    changes: list[ChangeSpec]
    head: dict[str, Schema]
    oldest: dict[str, Schema]
    types: tuple[ResourceType, ...]

    def timeline(self, name: str = "synthetic") -> datever.versions.Timeline:
        return datever.versions.Timeline([spec.build() for spec in self.changes], name=name)

    def engine(self, name: str = "synthetic") -> datever.Engine:
        return datever.Engine(self.timeline(name))

    def write_modules(self, directory: Path) -> None:
        """Write one real change module per change into ``directory``."""
        for spec in self.changes:
            (directory / f"{spec.id}.py").write_text(spec.module_source())


class _Generator:
    """Walks back from the head, choosing well-formed operations on the newer shape."""

    def __init__(self, rng: random.Random, types: tuple[ResourceType, ...]) -> None:
        self.rng = rng
        self.names = {t.name: _Names(rng) for t in types}
        self.head = {t.name: _head_schema(rng, t, self.names[t.name]) for t in types}
        self.current = {name: schema.copy() for name, schema in self.head.items()}

    def operation(self, resource: str, avoid: set[str]) -> OpSpec | None:
        """One operation on ``resource``; it rewrites the schema from its new to its old side."""
        schema, names, rng = self.current[resource], self.names[resource], self.rng
        free = [n for n in schema.props if n not in avoid and n not in ("id", "object")]
        scalars = [n for n in free if schema.props[n].kind in _SCALAR_KINDS]
        kind = rng.choices(("rename", "add", "remove", "map_values", "convert", "move"),
                           weights=(30, 12, 12, 14, 14, 10))[0]
        if kind == "add" and len(schema.props) <= 20:
            kind = "remove"
        if kind == "remove" and len(schema.props) >= 42:
            kind = "rename"
        if kind == "rename" and free:
            new = rng.choice(free)
            old = names.fresh()
            schema.props = {old if n == new else n: p for n, p in schema.props.items()}
            if new == schema.details_key:
                schema.details_key = old
            return OpSpec("rename", (old, new))
        if kind == "add" and scalars:
            prop = rng.choice(scalars)
            default = _value(rng, schema.props.pop(prop), {})  # what up fills in requests
            return OpSpec("add", (prop,), default=default)
        if kind == "remove":
            prop, value_kind = names.fresh(), rng.choice(("int", "str", "bool"))
            schema.props[prop] = Prop(value_kind)
            return OpSpec("remove", (prop,), default=_value(rng, Prop(value_kind), {}))
        enums = [n for n in scalars if schema.props[n].kind == "enum"]
        if kind == "map_values" and enums:
            prop = rng.choice(enums)
            values = list(schema.props[prop].values)
            mapping = []
            for index in rng.sample(range(len(values)), rng.randint(1, 2)):
                old = names.fresh()
                mapping.append((old, values[index]))
                values[index] = old
            schema.props[prop] = Prop("enum", tuple(values))
            return OpSpec("map_values", (prop,), mapping=tuple(mapping))
        if kind == "convert":
            options = [(n, c) for n in scalars for c, conv in CONVERSIONS.items()
                       if conv.new_kind == schema.props[n].kind]
            if options:
                prop, conversion = rng.choice(options)
                schema.props[prop] = Prop(CONVERSIONS[conversion].old_kind)
                return OpSpec("convert", (prop,), conversion=conversion)
        details = schema.details_key
        if kind == "move" and details is not None and details not in avoid:
            inside = [n for n in schema.details if n not in avoid]
            if inside and rng.random() < 0.5:  # it lived at the top, now in details
                key = rng.choice(inside)
                old = names.fresh()
                schema.props[old] = schema.details.pop(key)
                if not schema.details:  # the move out of the last key prunes it
                    del schema.props[details]
                return OpSpec("move", (old, f"{details}.{key}"))
            small = [n for n in scalars if schema.props[n].kind in ("int", "str", "bool", "digits")]
            if small:  # it lived in details, now at the top
                prop = rng.choice(small)
                key = names.fresh()
                schema.details[key] = schema.props.pop(prop)
                schema.props.setdefault(details, Prop("details"))
                return OpSpec("move", (f"{details}.{key}", prop))
        return None

    def change(self, index: int, released: dt.date) -> ChangeSpec:
        rng = self.rng
        touched = rng.sample(list(self.current), rng.choices((1, 2), weights=(4, 1))[0])
        resources = []
        for resource in touched:
            ops: list[OpSpec] = []
            avoid: set[str] = set()
            for _ in range(rng.randint(1, 3)):
                op = self.operation(resource, avoid)
                if op is not None:
                    ops.append(op)
                    avoid.update(arg.split(".")[0] for arg in op.args)
            if ops:
                # generated in down order; a change lists its operations old to new
                resources.append((resource, tuple(reversed(ops))))
        if not resources:
            return self.change(index, released)
        slug = "_".join(name for name, _ in resources)
        return ChangeSpec(f"{released:%Y_%m_%d}_c{index:04d}_{slug}", released,
                          tuple(resources))


def _dates(rng: random.Random, count: int, start: dt.date, end: dt.date) -> list[dt.date]:
    days = sorted(rng.sample(range((end - start).days + 1), count))
    return [start + dt.timedelta(days=day) for day in days]


def synthetic_history(count: int = 100, *, seed: int = 0,
                      types: tuple[ResourceType, ...] = SHOP,
                      start: dt.date = dt.date(2019, 1, 1),
                      end: dt.date = dt.date(2025, 12, 31)) -> History:
    """``count`` declarative changes over ``types``, one per release date."""
    rng = random.Random(seed)
    generator = _Generator(rng, types)
    dates = _dates(rng, count, start, end)
    newest_first = [generator.change(index, released)
                    for index, released in reversed(list(enumerate(dates)))]
    return History(list(reversed(newest_first)), generator.head, generator.current, types)


def fusion_history(count: int, *, seed: int = 0) -> History:
    """``count`` changes on one ``widget``: rename chains, add/remove pairs, value maps.

    Every change is declarative and fusable, so the compiled pipeline of the
    oldest version should cost about the same at 10 changes as at 1000.
    """
    rng = random.Random(seed)
    names = _Names(rng)
    chain = [names.fresh() for _ in range(3)]
    status = Prop("enum", tuple(names.fresh() for _ in range(3)))
    props = {"id": Prop("str"), "object": Prop("str"), "status": status}
    props.update({name: Prop("int") for name in chain})
    props.update({names.fresh(): Prop("str") for _ in range(6)})
    head = Schema(props)
    current = head.copy()
    dates = _dates(rng, count, dt.date(2019, 1, 1), dt.date(2025, 12, 31))
    newest_first: list[ChangeSpec] = []
    pending_pair: str | None = None
    for index in reversed(range(count)):
        pattern = (count - 1 - index) % 4
        if pending_pair is not None:  # the older half of a pair: add, down drops it
            op = OpSpec("add", (pending_pair,), default=0)
            del current.props[pending_pair]
            pending_pair = None
        elif pattern == 0:  # rename the next property of the chain, round robin
            slot = (count - 1 - index) // 4 % len(chain)
            old = names.fresh()
            op = OpSpec("rename", (old, chain[slot]))
            current.props = {old if n == chain[slot] else n: p
                             for n, p in current.props.items()}
            chain[slot] = old
        elif pattern == 1 and index > 0:  # the newer half of a pair: remove, down fills it
            pending_pair = names.fresh()
            op = OpSpec("remove", (pending_pair,), default=0)
            current.props[pending_pair] = Prop("int")
        else:
            values = list(current.props["status"].values)
            slot = rng.randrange(len(values))
            old = names.fresh()
            op = OpSpec("map_values", ("status",), mapping=((old, values[slot]),))
            values[slot] = old
            current.props["status"] = Prop("enum", tuple(values))
        released = dates[index]
        newest_first.append(ChangeSpec(f"{released:%Y_%m_%d}_c{index:04d}_widget",
                                       released, (("widget", (op,)),)))
    return History(list(reversed(newest_first)), {"widget": head}, {"widget": current},
                   (ResourceType("widget"),))


# -- payloads ----------------------------------------------------------------


def _value(rng: random.Random, prop: Prop, ctx: dict[str, Any]) -> Any:
    if prop.kind == "int":
        return rng.randrange(1_000_000)
    if prop.kind == "str":
        return f"{rng.choice(_STEMS)} {rng.choice(_STEMS)} {rng.randrange(10_000)}"
    if prop.kind == "digits":
        return str(rng.randrange(1_000_000))
    if prop.kind == "enum":
        return rng.choice(prop.values)
    if prop.kind == "bool":
        return rng.random() < 0.5
    if prop.kind == "float":
        return round(rng.random() * 1000, 2)
    if prop.kind == "details":
        return {name: _value(rng, p, ctx) for name, p in ctx["details"].items()}
    if prop.kind == "resource":
        return ctx["make"](prop.target)
    if prop.kind == "resources":
        return [ctx["make"](prop.target) for _ in range(rng.randint(1, 3))]
    raise ValueError(f"unknown kind {prop.kind!r}")


def resource_object(history: History, resource: str, rng: random.Random) -> Json:
    """One head-shaped object of ``resource`` with its nested resources."""
    schema = history.head[resource]
    ctx = {"details": schema.details, "make": lambda r: resource_object(history, r, rng)}
    obj: Json = {}
    for name, prop in schema.props.items():
        if name == "id":
            obj[name] = f"{resource[:3]}_{rng.getrandbits(48):012x}"
        elif name == "object":
            obj[name] = resource
        else:
            obj[name] = _value(rng, prop, ctx)
    return obj


def list_payload(history: History, *, seed: int = 0, size: int = 20_000) -> Json:
    """A head-shaped list envelope of the history's first resource type, about ``size`` bytes."""
    import msgspec

    rng = random.Random(seed)
    top = history.types[0].name
    payload: Json = {"object": "list", "url": f"/v1/{top}s", "has_more": True, "data": []}
    while len(msgspec.json.encode(payload)) < size:
        payload["data"].append(resource_object(history, top, rng))
    return payload


def shapes(node: Any) -> Iterator[tuple[str, frozenset[str], frozenset[str] | None]]:
    """Every resource in ``node``: (type, its keys, the keys of its details object)."""
    if isinstance(node, list):
        for item in node:
            yield from shapes(item)
    elif isinstance(node, dict):
        for value in node.values():
            yield from shapes(value)
        kind = node.get("object")
        if isinstance(kind, str) and kind != "list":
            details = next((v for v in node.values()
                            if isinstance(v, dict) and "object" not in v), None)
            yield kind, frozenset(node), frozenset(details) if details is not None else None


def check_shape(payload: Any, schemas: dict[str, Schema], side: str) -> None:
    """Raise unless every resource in ``payload`` has exactly the properties of ``schemas``."""
    for kind, keys, details in shapes(payload):
        schema = schemas[kind]
        if keys != frozenset(schema.props):
            raise AssertionError(
                f"{side} {kind}: unexpected {sorted(keys - set(schema.props))}, "
                f"missing {sorted(set(schema.props) - keys)}")
        if details is not None and schema.details and details != frozenset(schema.details):
            raise AssertionError(f"{side} {kind} details: {sorted(details)} != "
                                 f"{sorted(schema.details)}")


# -- the reference API -------------------------------------------------------


def load_samples() -> ModuleType:
    """Import ``changes/_samples.py`` (the reference API's payload generator)."""
    if not SAMPLES.is_file():
        raise FileNotFoundError(f"{SAMPLES} is missing: the reference API's samples "
                                "(list_payload) are needed for the reference scenario")
    spec = importlib.util.spec_from_file_location("datever_benchmark_samples", SAMPLES)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference_list_payload(*, seed: int = 0, size: int = 20_000) -> Json:
    """The reference API's HEAD-shaped ~``size`` byte list payload."""
    payload: Json = load_samples().list_payload(seed=seed, size=size)
    return payload
