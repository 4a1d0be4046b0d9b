"""The committed lock of the head schemas, and the CI guard that holds the head to it.

``datever schema lock`` writes the head's msgspec Structs, as msgspec's own
JSON Schema, to ``changes/schema.lock.json`` (:data:`LOCK_FILE`), with the
side of each resource and the timeline's newest release at that moment.
``datever check`` compares the head with it (:mod:`datever.lock_diff`) and
asks, of every breaking difference, for a change *newer than the lock*
(released after its newest release, or on that day by a change the lock did
not know, or unreleased) that declares the operation accounting for it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import msgspec

from datever.changes import Change, load_each, load_resources
from datever.errors import ChangeError, DateverError
from datever.lock_diff import Difference, Side, compare_resource
from datever.operations import Move
from datever.versions import Timeline, named_key

__all__ = ["FORMAT", "LOCK_FILE", "Finding", "Lock", "LockError", "compare", "fix",
           "head_lock", "head_schemas", "loadable_changes", "read_lock", "write_lock"]

#: the lock's file name, in the changes directory (``datever check --lock`` names another)
LOCK_FILE = "schema.lock.json"
#: the version of the lock's layout
FORMAT = 1
_REF = "#/components/{name}"
_Struct = type[msgspec.Struct]


class LockError(DateverError):
    """Head schemas that cannot be locked, or a lock file that cannot be read; ``file``
    names the lock when it is about one."""

    def __init__(self, message: str, *, file: str | None = None) -> None:
        self.file, self.detail = file, message
        super().__init__(f"{file}: {message}" if file else message)


@dataclass(frozen=True, slots=True)
class Lock:
    """The head schemas at one moment: each resource's ``side`` and its JSON Schema
    component (``resources``: name -> (side, component)), every component, the
    discriminator, the timeline's ``newest`` release then (a date, a version name, or
    None) with the ``newest_changes`` released in it, and the ``--schemas`` object
    it was made from (for ``check``)."""

    resources: Mapping[str, tuple[Side, str]]
    components: Mapping[str, Any]
    discriminator: str = "object"
    newest: str | None = None
    newest_changes: tuple[str, ...] = ()
    schemas: str | None = None

    def tags(self) -> dict[str, str]:
        """The component name of each response resource -> its tag."""
        return {component: name for name, (side, component) in self.resources.items()
                if side == "response"}

    def as_json(self) -> dict[str, Any]:
        """The lock as the file holds it."""
        return {"datever_schema_lock": FORMAT, "schemas": self.schemas,
                "newest_release": {"release": self.newest,
                                   "changes": sorted(self.newest_changes)},
                "discriminator": self.discriminator,
                "resources": {name: {"side": side, "schema": component}
                              for name, (side, component) in self.resources.items()},
                "components": self.components}

    def dumps(self) -> str:
        """Sorted keys, two-space indent, one trailing newline: a diff-friendly file."""
        return json.dumps(self.as_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _tag(struct: _Struct) -> tuple[str | None, str | None]:
    config = struct.__struct_config__
    tag = config.tag if isinstance(config.tag, str) else None
    return config.tag_field, tag


def head_schemas(found: object, where: str = "schemas") -> tuple[list[_Struct],
                                                                   dict[str, _Struct]]:
    """The response Structs and the request bodies (name -> Struct) held by ``found``:
    a list or tuple of tagged Structs (responses), or an object or mapping whose
    ``responses`` is such a list and ``requests`` a mapping of name to Struct."""
    def part(name: str) -> Any:
        if isinstance(found, Mapping):
            return found.get(name)
        return getattr(found, name, None)

    responses: object
    requests: object
    if isinstance(found, list | tuple):
        responses, requests = found, {}
    elif part("responses") is not None or part("requests") is not None:
        responses, requests = part("responses") or (), part("requests") or {}
    else:
        raise LockError(f"{where}: got {type(found).__name__}; give a list of tagged msgspec "
                        "Structs (the response resources), or an object with .responses (that "
                        "list) and .requests (request body name -> Struct)")
    if not isinstance(responses, Iterable) or not isinstance(requests, Mapping):
        raise LockError(f"{where}: responses is a list of Structs and requests a mapping of "
                        "name to Struct")
    return list(responses), dict(requests)


def head_lock(responses: Iterable[_Struct] = (), requests: Mapping[str, _Struct] | None = None,
              *, timeline: Timeline | None = None, schemas: str | None = None) -> Lock:
    """The lock of these head schemas: ``responses`` are tagged Structs (the resource is
    the tag, ``tag_field="object"``), ``requests`` name the request bodies
    (``{"charge.create": ChargeCreate}``); ``timeline`` gives the newest release."""
    named: dict[str, tuple[Side, _Struct]] = {}
    fields: set[str] = set()
    for struct in responses:
        _check_struct(struct, "a response resource")
        field, tag = _tag(struct)
        if field is None or tag is None:
            raise LockError(f"{struct.__qualname__} has no tag: a response resource is a "
                            "Struct with tag_field='object' and its tag (the resource name); "
                            "name a request body in requests= instead")
        if tag in named:
            raise LockError(f"{named[tag][1].__qualname__} and {struct.__qualname__} are "
                            f"both tagged {tag!r}")
        named[tag] = ("response", struct)
        fields.add(field)
    for name, struct in (requests or {}).items():
        _check_struct(struct, f"request body {name!r}")
        if name in named:
            raise LockError(f"{name!r} is both a response resource and a request body")
        named[name] = ("request", struct)
    if len(fields) > 1:
        raise LockError(f"the response resources use several tag fields {sorted(fields)}; "
                        "one discriminator names every resource")
    order = sorted(named)
    refs, components = msgspec.json.schema_components(
        [named[name][1] for name in order], ref_template=_REF)
    resources = {name: (named[name][0], ref["$ref"].rsplit("/", 1)[-1])
                 for name, ref in zip(order, refs, strict=True)}
    newest, ids = _newest(timeline)
    return Lock(resources, msgspec.json.decode(msgspec.json.encode(components)),
                next(iter(fields), "object"), newest, ids, schemas)


def _check_struct(struct: object, what: str) -> None:
    if not (isinstance(struct, type) and issubclass(struct, msgspec.Struct)):
        raise LockError(f"{what}: {struct!r} is not a msgspec Struct type")


def _newest(timeline: Timeline | None) -> tuple[str | None, tuple[str, ...]]:
    if timeline is None:
        return None, ()
    if timeline.scheme == "named":
        name = timeline.versions[-1] if len(timeline.versions) > 1 else None
        return name, tuple(c.id for c in timeline.changes if name and c.named == name)
    date = timeline.newest
    return (date.isoformat() if date else None,
            tuple(c.id for c in timeline.changes if date and c.released == date))


def write_lock(path: str | Path, lock: Lock) -> None:
    """Write (or overwrite) the lock file."""
    Path(path).write_text(lock.dumps(), encoding="utf-8")


def read_lock(path: str | Path) -> Lock:
    """The lock written at ``path``; LockError names the file and what is wrong."""
    file = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LockError(f"cannot read the schema lock: {exc}", file=file) from None
    if not isinstance(data, dict) or data.get("datever_schema_lock") != FORMAT:
        raise LockError(f"not a datever schema lock (format {FORMAT}); write it again with "
                        "`datever schema lock`", file=file)
    try:
        newest = data["newest_release"]
        resources = {name: (entry["side"], entry["schema"])
                     for name, entry in data["resources"].items()}
        if any(side not in ("response", "request") for side, _ in resources.values()):
            raise ValueError("a side is neither response nor request")
        return Lock(resources, dict(data["components"]), str(data["discriminator"]),
                    newest["release"], tuple(newest["changes"]), data.get("schemas"))
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise LockError(f"a malformed schema lock ({type(exc).__name__}: {exc}); write it "
                        "again with `datever schema lock`", file=file) from None


def loadable_changes(directory: str | Path) -> list[Change]:
    """The changes of ``directory`` that load, bound to its resource declarations when
    those load; the others are left out (``datever check`` reports them)."""
    changes = [found for found in load_each(directory) if isinstance(found, Change)]
    try:
        resources = load_resources(directory)
    except ChangeError:
        return changes
    bound = []
    for change in changes:
        try:
            change.bind(resources)
        except ChangeError:
            continue
        bound.append(change)
    return bound


# -- comparing and covering ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Finding:
    """One difference and, when breaking, the change that covers it (None: uncovered);
    ``since`` is the lock's newest release, which a covering change must follow."""

    difference: Difference
    covered_by: Change | None = None
    since: str | None = None

    @property
    def level(self) -> Literal["error", "info"]:
        """``error`` for an uncovered breaking difference, else ``info``."""
        return "error" if self.difference.breaking and self.covered_by is None else "info"

    @property
    def message(self) -> str:
        """What changed, the rule, and what covers it or would."""
        diff = self.difference
        text = f"{diff.where} ({diff.side}): {diff.detail} [{diff.category}]"
        if not diff.breaking:
            return f"{text}: {diff.reason}"
        if self.covered_by is not None:
            return f"{text}: covered by {self.covered_by.id} ({self.covered_by.label})"
        newer = (f"released after the lock's {self.since} or unreleased" if self.since
                 else "newer than the lock")
        return (f"{text}: {diff.reason}; no change {newer} accounts for it: declare in a "
                f"new change module `\"{diff.resource}\": [{fix(diff)}]`")


def compare(lock: Lock, head: Lock, changes: Sequence[Change] = ()) -> list[Finding]:
    """Every difference from ``lock`` to ``head``, by resource and path, each breaking
    one with the change newer than the lock that covers it (or None)."""
    newer = [change for change in changes if _newer(change, lock)]
    tags = (lock.tags(), head.tags())
    found: list[Difference] = []
    for name in sorted(set(lock.resources) | set(head.resources)):
        old, new = lock.resources.get(name), head.resources.get(name)
        if old is None or new is None or old[0] != new[0]:
            if old is not None:
                found.append(Difference(name, old[0], "", "resource_removed",
                                        f"the {old[0]} resource {name!r} is gone"))
            if new is not None:
                found.append(Difference(name, new[0], "", "resource_added",
                                        f"a new {new[0]} resource {name!r}"))
            continue
        found += compare_resource(name, new[0], (old[1], lock.components),
                                  (new[1], head.components), tags, head.discriminator)
    found.sort(key=lambda diff: (diff.resource, diff.path))
    return [Finding(diff, next((c for c in newer if _covers(c, diff)), None)
                    if diff.breaking else None, lock.newest) for diff in found]


def _newer(change: Change, lock: Lock) -> bool:
    """Released after the lock's newest release (or in it, unknown to the lock), or
    unreleased."""
    if change.stage != "released" or lock.newest is None:
        return True
    if change.named is not None:
        mine, locked = named_key(change.named), named_key(lock.newest)
        return locked is None or (mine is not None and mine > locked) or (
            mine == locked and change.id not in lock.newest_changes)
    try:
        locked_date = dt.date.fromisoformat(lock.newest)
    except ValueError:
        return True
    assert change.released is not None
    return change.released > locked_date or (change.released == locked_date
                                             and change.id not in lock.newest_changes)


def _covers(change: Change, diff: Difference) -> bool:
    """True when one of ``change``'s operations on the resource accounts for ``diff``."""
    ops = change.operations.get(diff.resource, ())
    top = diff.path.replace("[]", ".").split(".")[0]
    nested = diff.path != top
    for op in ops:
        kind, touches = op.kind, op.touches
        if diff.category.startswith("resource_"):
            if kind == "remove_endpoint":
                return True
            continue
        if kind == "custom" and top in touches:
            return True
        if diff.category in ("property_renamed", "property_removed", "property_refused"):
            if _moves(op.up, diff.path, diff.renamed_to):
                return True
            if kind == "remove" and not nested and top in touches:
                return True
        if top not in touches:
            continue
        if kind == "convert" or (kind == "collapse" and diff.category == "type_changed"):
            return True
        if nested:
            continue
        if diff.category == "enum_value_removed" and kind == "map_values":
            tables = [getattr(step, "table", {}) for step in op.up]
            if all(any(value in table for table in tables) for value in diff.values):
                return True
        if diff.category == "request_required" and kind == "add":
            return True
        if diff.category in ("limit_lowered", "minimum_raised") and kind == "lower_limit":
            return True
    return False


def _moves(steps: Sequence[object], old: str, new: str | None) -> bool:
    """True when an up step moves the property at ``old`` (to ``new``, when given)."""
    return any(isinstance(step, Move) and ".".join(step.src) == old
               and (new is None or ".".join(step.dst) == new) for step in steps)


def fix(diff: Difference) -> str:
    """The operation that would account for ``diff``, as code to paste into a change."""
    path, top = diff.path, diff.path.replace("[]", ".").split(".")[0]
    nested = path != top
    convert = f'convert("{top}", down=..., up=...)'
    if diff.category.startswith("resource_"):
        return 'remove_endpoint("GET", "/path/of/the/endpoint")'
    if diff.category == "property_renamed" and diff.renamed_to is not None:
        if not nested:
            return f'rename("{path}", "{diff.renamed_to}")'
        if "[]" not in path + diff.renamed_to:
            return f'move("{path}", "{diff.renamed_to}")'
        return convert
    if nested:
        return convert
    if diff.category in ("property_removed", "property_refused"):
        return f'remove("{top}", {_placeholder(diff.old)})'
    if diff.category == "request_required":
        return f'add("{top}", {_placeholder(diff.new)})'
    if diff.category == "enum_value_removed":
        came = diff.also if len(diff.also) == len(diff.values) == 1 else ("...",)
        pairs = ", ".join(f"{value!r}: {came[0]}" for value in diff.values)
        return f'map_values("{top}", {{{pairs}}})'.replace("'", '"')
    if diff.category in ("limit_lowered", "minimum_raised"):
        old, new = diff.values if len(diff.values) == 2 else (None, None)
        if all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (old, new)):
            return f'change_limit("POST", "/path/of/the/endpoint", "{top}", {old}, {new})'
    return convert


def _placeholder(schema: Any) -> str:
    """A value of the schema's type to start from, as Python source."""
    if not isinstance(schema, Mapping):
        return "None"
    variants = [schema, *schema.get("anyOf", ())]
    if any(v.get("type") == "null" for v in variants) or None in schema.get("enum", ()):
        return "None"
    if schema.get("enum"):
        return json.dumps(schema["enum"][0])
    kind = schema.get("type")
    return {"string": '""', "integer": "0", "number": "0.0", "boolean": "False",
            "array": "[]", "object": "{}"}.get(kind if isinstance(kind, str) else "", "None")
