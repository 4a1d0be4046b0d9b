"""Every difference between two JSON Schemas of one resource, classified by the breaking rules.

The schemas are msgspec's own (``msgspec.json.schema_components``). Nested
objects are compared property by property (``outcome.reason``), array items
as ``lines[]`` and map values as ``metadata.*``; a nested *resource* (another
tagged Struct) is compared as its own resource, never from its parent.

The side decides the verdict, as Cognite's rules and the operation table
(:data:`datever.classify.RULES`) do: what a response may *hold* must not
grow (a value may turn up that a previous client never handled), what a
request may *send* must not shrink (a previous request would be refused).
So a property that may now be null breaks a response and not a request;
one that may no longer be null breaks a request and not a response.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from datever.classify import RULES

__all__ = ["CATEGORIES", "Difference", "compare_resource"]

Side = Literal["response", "request"]
Schema = Mapping[str, Any]

_UPPER = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")
_LOWER = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")
#: what two variants must share to be the same type (limits are compared apart)
_IGNORED = frozenset(("title", "description", "default", "examples", *_UPPER, *_LOWER))


def _rule(kind: str, side: str) -> str:
    return next(rule.reason for rule in RULES if rule.kind == kind and rule.side in (side, "any"))


#: category -> (breaking on responses, breaking on requests, reason on responses, on requests)
CATEGORIES: Mapping[str, tuple[bool, bool, str, str]] = {
    "resource_removed": (True, True, "removing a resource removes what its endpoints return "
                         "or accept, which is breaking (Cognite)",
                         "removing a request body removes its endpoint, which is breaking "
                         "(Cognite)"),
    "resource_added": (False, False, "adding a resource is compatible (Sanity)",
                       _rule("add_endpoint", "any")),
    "property_removed": (True, False, _rule("remove", "response"), _rule("remove", "request")),
    "property_refused": (True, True, _rule("remove", "response"),
                         "refusing a property previous requests may send is breaking "
                         "(Cognite: removing a property)"),
    "property_renamed": (True, True, _rule("rename", "any"), _rule("rename", "any")),
    "property_added": (False, False, _rule("add", "response"),
                       "adding an optional request property is compatible (Cognite, Sanity)"),
    "request_required": (False, True, "", "a request property newly required is breaking: "
                         "previous requests lack it (Cognite)"),
    "type_changed": (True, True, _rule("convert", "any"), _rule("convert", "any")),
    "enum_value_removed": (True, True, _rule("map_values", "any"),
                           _rule("map_values", "any")),
    "enum_value_added": (False, False, "adding an enum value to a response is compatible, "
                         "but clients that switch on it meet a value they do not know (Stripe)",
                         "accepting a new enum value in a request is compatible (Cognite)"),
    "nullability_narrowed": (False, True, "a response property that is no longer null is "
                             "compatible: previous clients handle both (datever)",
                             "refusing null in a request property is breaking: previous "
                             "requests may send it (Cognite: changing a type)"),
    "nullability_widened": (True, False, "a response property that may now be null changes "
                            "its type, which is breaking (Cognite)",
                            "accepting null in a request property is compatible (datever)"),
    "limit_lowered": (False, True, "changing a response limit is compatible (datever)",
                      _rule("lower_limit", "any")),
    "minimum_raised": (False, True, "changing a response limit is compatible (datever)",
                       "raising a request minimum refuses what previous requests may send, "
                       "like lowering a limit, which is breaking (Cognite)"),
    "limit_raised": (False, False, "changing a response limit is compatible (datever)",
                     _rule("raise_limit", "any")),
}


@dataclass(frozen=True, slots=True)
class Difference:
    """One difference of ``resource`` between the lock (old) and the head (new).

    ``path`` is where, dotted from the resource (``outcome.reason``; ``""``: the
    resource itself); ``category`` one of :data:`CATEGORIES`; ``detail`` says what
    changed; ``old`` and ``new`` are the schemas on each side (None where absent).
    A rename names the new property in ``renamed_to``; an enum change lists the
    ``values`` (a removal also the values added beside them, in ``also``); a limit
    names its ``keyword`` and gives (old, new) as ``values``.
    """

    resource: str
    side: Side
    path: str
    category: str
    detail: str
    old: Any = None
    new: Any = None
    renamed_to: str | None = None
    values: tuple[Any, ...] = ()
    keyword: str | None = None
    also: tuple[str, ...] = field(default=())

    @property
    def breaking(self) -> bool:
        """True when previous clients break, by the side's rule."""
        response, request, _, _ = CATEGORIES[self.category]
        return request if self.side == "request" else response

    @property
    def reason(self) -> str:
        """The rule behind the verdict, as one sentence naming its source."""
        _, _, response, request = CATEGORIES[self.category]
        return request if self.side == "request" else response

    @property
    def where(self) -> str:
        """``resource path``, or the resource alone (names may hold dots themselves)."""
        return f"{self.resource} {self.path}" if self.path else self.resource


class _Walk:
    """Compares two schema trees of one resource, resolving ``$ref``s on each side."""

    def __init__(self, resource: str, side: Side, old: Mapping[str, Schema],
                 new: Mapping[str, Schema], tags: tuple[Mapping[str, str], Mapping[str, str]],
                 discriminator: str) -> None:
        self.resource, self.side, self.discriminator = resource, side, discriminator
        self.components, self.tags = (old, new), tags
        self.found: list[Difference] = []
        self.active: set[tuple[str, ...]] = set()

    def emit(self, path: str, category: str, detail: str, old: Any = None, new: Any = None,
             **extra: Any) -> None:
        self.found.append(Difference(self.resource, self.side, path, category, detail,
                                     old, new, **extra))

    def resolve(self, node: Schema, which: int) -> Schema:
        """``node`` with its ``$ref`` followed; a nested resource stays ``{"resource": tag}``."""
        ref = node.get("$ref")
        if not isinstance(ref, str):
            return node
        name = ref.rsplit("/", 1)[-1]
        if name in self.tags[which]:
            return {"resource": self.tags[which][name]}
        return self.components[which].get(name, {})

    def split(self, node: Schema, which: int) -> tuple[bool, list[Schema]]:
        """Whether ``node`` admits null, and its non-null variants, resolved."""
        node = self.resolve(node, which)
        variants = [self.resolve(v, which) for v in node.get("anyOf", ())] or [node]
        nullable, rest = False, list[Schema]()
        for variant in variants:
            if variant.get("type") == "null":
                nullable = True
            elif "enum" in variant and None in variant["enum"]:
                nullable = True
                values = [value for value in variant["enum"] if value is not None]
                if values:
                    rest.append({**variant, "enum": values})
            else:
                rest.append(variant)
        return nullable, rest

    def objects(self, old: Schema, new: Schema, prefix: str) -> None:
        """Two object schemas, property by property; renames are removed + added pairs
        of one type."""
        before, after = old.get("properties", {}), new.get("properties", {})
        removed = sorted(set(before) - set(after) - {self.discriminator})
        added = sorted(set(after) - set(before) - {self.discriminator})
        required = set(new.get("required", ())) - set(old.get("required", ()))
        for gone in list(removed):
            same = [name for name in added if self.same_type(before[gone], after[name])]
            if same:
                name = max(same, key=lambda n: difflib.SequenceMatcher(None, gone, n).ratio())
                removed.remove(gone)
                added.remove(name)
                self.emit(prefix + gone, "property_renamed",
                          f"{gone!r} is now {name!r} (a rename candidate: one removed, one "
                          "of its type added)", before[gone], after[name],
                          renamed_to=prefix + name)
        closed = new.get("additionalProperties") is False
        refused = closed and self.side == "request"  # previous requests sending it fail
        for gone in removed:
            self.emit(prefix + gone, "property_refused" if refused else "property_removed",
                      f"{gone!r} removed" + (" and refused: the head forbids unknown "
                                             "properties" if refused else ""), before[gone])
        for name in added:
            newly = self.side == "request" and name in required
            self.emit(prefix + name, "request_required" if newly else "property_added",
                      f"{name!r} added" + (", required" if newly else ""), None, after[name])
        for name in sorted(set(before) & set(after) - {self.discriminator}):
            if self.side == "request" and name in required:
                self.emit(prefix + name, "request_required", f"{name!r} is now required",
                          before[name], after[name])
            self.values(before[name], after[name], prefix + name)

    def same_type(self, old: Schema, new: Schema) -> bool:
        return _signature(self.split(old, 0)) == _signature(self.split(new, 1))

    def values(self, old: Schema, new: Schema, path: str) -> None:
        """Two schemas of one property: nullability, then type, enum, limits, nested."""
        refs = (*_refs(old), "|", *_refs(new))
        if len(refs) == 1:
            self.compare(old, new, path)
            return
        if refs in self.active:  # a recursive nested Struct, already being compared
            return
        self.active.add(refs)
        try:
            self.compare(old, new, path)
        finally:
            self.active.discard(refs)

    def compare(self, old: Schema, new: Schema, path: str) -> None:
        old_null, old_variants = self.split(old, 0)
        new_null, new_variants = self.split(new, 1)
        if old_null != new_null:
            self.emit(path, "nullability_narrowed" if old_null else "nullability_widened",
                      "no longer nullable" if old_null else "now nullable", old, new)
        if len(old_variants) == 1 and len(new_variants) == 1:
            self.variant(old_variants[0], new_variants[0], path)
        elif _signature((False, old_variants)) != _signature((False, new_variants)):
            self.emit(path, "type_changed", f"{_describe(old_variants)} is now "
                      f"{_describe(new_variants)}", old, new)

    def variant(self, old: Schema, new: Schema, path: str) -> None:
        kind = _kind(old)
        if kind != _kind(new) or (kind not in ("object", "enum", "array", "map") and
                                  _signature((False, [old])) != _signature((False, [new]))):
            self.emit(path, "type_changed",
                      f"{_describe([old])} is now {_describe([new])}", old, new)
            return
        if kind == "enum":
            gone = tuple(v for v in old["enum"] if v not in new["enum"])
            came = tuple(v for v in new["enum"] if v not in old["enum"])
            if gone:
                self.emit(path, "enum_value_removed", "enum value" + "s" * (len(gone) > 1)
                          + " " + ", ".join(map(repr, gone)) + " removed", old, new,
                          values=gone, also=tuple(map(repr, came)))
            if came:
                self.emit(path, "enum_value_added", "enum value" + "s" * (len(came) > 1)
                          + " " + ", ".join(map(repr, came)) + " added", old, new, values=came)
            return
        self.limits(old, new, path)
        if kind == "object":
            self.objects(old, new, path + ".")
        elif kind == "array":
            self.values(old.get("items", {}), new.get("items", {}), path + "[]")
        elif kind == "map":
            extra = (old.get("additionalProperties"), new.get("additionalProperties"))
            if isinstance(extra[0], Mapping) and isinstance(extra[1], Mapping):
                self.values(extra[0], extra[1], path + ".*")

    def limits(self, old: Schema, new: Schema, path: str) -> None:
        for keyword, upper in [(k, True) for k in _UPPER] + [(k, False) for k in _LOWER]:
            before, after = old.get(keyword), new.get(keyword)
            if before == after:
                continue
            tighter = after is not None and (before is None or (after < before) == upper)
            category = ("limit_lowered" if upper else "minimum_raised") if tighter \
                else "limit_raised"
            self.emit(path, category, f"{keyword} {_bound(before)} is now {_bound(after)}",
                      old, new, keyword=keyword, values=(before, after))


def _refs(node: Schema) -> tuple[str, ...]:
    """The ``$ref``s a schema starts with (itself or its variants)."""
    nodes = [node, *node.get("anyOf", ())]
    return tuple(sorted(n["$ref"] for n in nodes if isinstance(n.get("$ref"), str)))


def _bound(value: object) -> str:
    return "unset" if value is None else repr(value)


def _kind(node: Schema) -> str:
    if "resource" in node:
        return "resource"
    if "enum" in node:
        return "enum"
    kind = node.get("type")
    if kind == "object":
        return "object" if "properties" in node else "map"
    return kind if isinstance(kind, str) else "any"


def _strip(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {key: _strip(value) for key, value in sorted(node.items())
                if key not in _IGNORED}
    if isinstance(node, list):
        return [_strip(value) for value in node]
    return node


def _signature(split: tuple[bool, list[Schema]]) -> tuple[bool, list[str]]:
    """What two schemas share when they have one type: limits and defaults left out,
    nested objects by their kind alone (they are compared property by property)."""
    nullable, variants = split
    shapes = []
    for variant in variants:
        kind = _kind(variant)
        shapes.append(kind if kind in ("object", "map", "array") else repr(_strip(variant)))
    return nullable, sorted(shapes)


def _describe(variants: list[Schema]) -> str:
    """A type in words: ``string``, ``integer``, ``a charge``, ``'a' or 'b'``."""
    words = []
    for variant in variants:
        kind = _kind(variant)
        if kind == "resource":
            words.append(f"a {variant['resource']}")
        elif kind == "enum":
            words.append(" or ".join(map(repr, variant["enum"])))
        elif kind == "string" and "format" in variant:
            words.append(f"string ({variant['format']})")
        else:
            words.append(kind)
    return " | ".join(words) or "nothing"


def compare_resource(resource: str, side: Side, old: tuple[str, Mapping[str, Schema]],
                     new: tuple[str, Mapping[str, Schema]],
                     tags: tuple[Mapping[str, str], Mapping[str, str]],
                     discriminator: str = "object") -> Iterator[Difference]:
    """The differences of one resource: ``old`` and ``new`` are (its component name,
    every component) in the lock and at the head; ``tags`` map the component names of
    response resources to their tags on each side, so nested resources stay references."""
    walk = _Walk(resource, side, old[1], new[1], tags, discriminator)
    walk.objects(old[1].get(old[0], {}), new[1].get(new[0], {}), "")
    yield from walk.found
