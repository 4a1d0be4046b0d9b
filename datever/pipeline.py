"""A compiled pipeline: generated per-resource functions and the walker that finds resources.

The walker goes bottom-up through dicts and lists, finds resources by their
discriminator and hands each to its resource's function. Barrier changes get
a pass of their own, so the walk order matches the reference interpreter.
"""

from __future__ import annotations

import itertools
import linecache
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from datever.changes import Change, Direction
from datever.compiler import COMPILED, CompiledFunction, compile_resource, segments
from datever.errors import MigrationError
from datever.walk_plan import HELPERS, ObjectPlan, ValuePlan, build_plan, pass_shapes, walk_source

if TYPE_CHECKING:
    from datever.schemas import Schemas

__all__ = ["MAX_DEPTH", "Pipeline", "deeper_than", "is_flat", "located", "too_deep"]

#: How deeply arrays and objects may nest in a payload the engine decodes (the
#: root container is level 1); a deeper one is a MigrationError ("too_deep").
#: 64 is ten times the nesting of real API payloads (a Stripe event is about six
#: levels deep), the default of .NET's System.Text.Json, and small next to Python's
#: recursion limit of 1000 frames: decoding, walking and the reference interpreter
#: (two frames a level for its deep copy) stay far from it even under the many
#: frames of an ASGI server: at 64 levels the engine needs under 100 frames, the
#: interpreter under 150, so the verdict depends on the payload alone whenever the
#: caller leaves that much of the limit.
MAX_DEPTH = 64

_walks = itertools.count()

Walker = Callable[[Any, "str | None"], Any]


class Pipeline:
    """The compiled migration of one version in one direction.

    ``passes`` lists, per walk over the payload, the compiled function of each
    resource; most pipelines have one pass. ``source`` is the generated code.
    ``opaque`` maps resource names to properties the walk never enters (user data).
    With ``schemas`` (the head shapes), each pass walks only where its resources
    can occur (:mod:`datever.walk_plan`); output equals the generic walk's on
    every payload valid against the shapes.
    """

    def __init__(self, version_name: str, direction: Direction, pending: Sequence[Change],
                 *, discriminator: str = "object", timeline: str = "default",
                 opaque: Mapping[str, frozenset[str]] | None = None,
                 schemas: Schemas | None = None) -> None:
        self.version = version_name
        self.direction: Direction = direction
        self.discriminator = discriminator
        ordered = list(reversed(pending)) if direction == "down" else list(pending)
        self.changes: tuple[Change, ...] = tuple(ordered)
        label = f"{timeline} {version_name}"
        self.passes: list[dict[str, CompiledFunction]] = []
        walked: list[list[Change]] = []  # the segments of each pass
        cut = segments(ordered, discriminator, direction)
        for segment in cut:
            resources = dict.fromkeys(r for change in segment for r in change.operations)
            compiled = {}
            for resource in resources:
                steps = [(step, change) for change in segment
                         for step in change.steps(resource, direction)]
                if steps:
                    compiled[resource] = compile_resource(resource, direction, steps,
                                                          label=label)
            if compiled:
                self.passes.append(compiled)
                walked.append(segment)
        hidden = dict(opaque or {})
        tables = [{r: f.function for r, f in table.items()} for table in self.passes]
        #: per pass, each resource's walk plan (None: no schemas, the generic walk)
        self.plans: list[dict[str, ObjectPlan]] | None = None
        if schemas is not None and self.passes:
            # a pass that runs nothing still moves the shapes: derive over every segment
            starts = dict(zip(map(id, cut), pass_shapes(schemas.symbols, cut, direction,
                                                        schemas.read_old_type), strict=True))
            self.plans = [build_plan(starts[id(segment)], table, hidden, discriminator)
                          for segment, table in zip(walked, tables, strict=True)]
        #: per pass with shapes, the generated source of its walk (:func:`walk_source`)
        self.walk_sources: list[str] = []
        self._walkers = [_make_walker(table, discriminator, hidden,
                                      self.plans[index] if self.plans is not None else None,
                                      label=f"{label} {direction} pass {index}",
                                      sources=self.walk_sources)
                         for index, table in enumerate(tables)]
        names = {resource for table in self.passes for resource in table}
        #: byte strings of which at least one must occur for the walk to matter
        self.markers: tuple[bytes, ...] = tuple(
            sorted(f'"{name}"'.encode() for name in names))
        self.might_touch = _scanner(self.markers)
        #: the whole migration: one walk per pass (see :meth:`run`)
        self.walk: Walker = _chained(self._walkers)
        #: the same migration for a root object that holds no object or array (one pass
        #: only: a pass could create nested objects for the next to walk)
        self.walk_flat: Walker | None = (_flat_walker(tables[0], discriminator)
                                         if len(tables) == 1 else None)
        #: what ``walk_flat`` hands a root object to, by resource type (empty: no flat walk)
        self.flat_functions: dict[str, Callable[[Any], Any]] = \
            tables[0] if len(tables) == 1 else {}

    @property
    def is_empty(self) -> bool:
        """True when no step can touch any payload."""
        return not self.passes

    @property
    def resources(self) -> list[str]:
        """The resource types some step touches, sorted."""
        return sorted({resource for table in self.passes for resource in table})

    def functions(self) -> Iterable[CompiledFunction]:
        """Every compiled function, in pass order."""
        for table in self.passes:
            yield from table.values()

    @property
    def source(self) -> str:
        """The generated source of every function, in pass order."""
        return "\n".join(function.source for function in self.functions())

    #: ``might_touch(data)`` is False when the JSON bytes ``data`` cannot contain a
    #: resource this pipeline touches (see :func:`_scanner`)
    might_touch: Callable[[bytes], bool]

    def run(self, payload: Any, resource: str | None = None) -> Any:
        """Migrate ``payload`` in place (it must be a fresh object) and return it.

        ``resource`` names the root object's resource type (request bodies);
        otherwise resources are found by their discriminator.
        """
        return self.walk(payload, resource)

    def __repr__(self) -> str:
        return (f"<Pipeline {self.direction} {self.version}: {len(self.changes)} changes, "
                f"resources {self.resources}>")

    def __rich_repr__(self) -> Iterable[tuple[str, object]]:
        yield "version", self.version
        yield "direction", self.direction
        yield "changes", len(self.changes)
        yield "resources", self.resources


def _scanner(markers: tuple[bytes, ...]) -> Callable[[bytes], bool]:
    """The test behind :attr:`Pipeline.might_touch`: does any of ``markers`` occur?

    Exact or conservative, never wrong the other way: a resource is found by
    its discriminator's value, a JSON string that holds its quoted name
    verbatim unless an escape spells it (``\\u0063harge``), so data with any
    backslash is always walked (a one-byte search, a memchr). One marker, the
    common case, is tested without a loop: on a small payload the call is the cost.
    """
    if len(markers) == 1:
        only = markers[0]

        def scan_one(data: bytes) -> bool:
            return b"\\" in data or only in data

        return scan_one

    def scan(data: bytes) -> bool:
        return b"\\" in data or any(marker in data for marker in markers)

    return scan


def _flat_walker(table: dict[str, Callable[[Any], Any]], discriminator: str) -> Walker:
    """The walk of a root object whose values are all scalars: only the root can be a
    resource, so it is handed to its function without looking at every value."""
    get = table.get

    def walk_flat(node: dict[str, Any], resource: str | None = None) -> Any:
        name = node.get(discriminator) if resource is None else resource
        if type(name) is not str:
            return node
        function = get(name)
        if function is None:
            return node
        try:
            return function(node)
        except Exception as exc:
            raise located(exc, name) from exc

    return walk_flat


def is_flat(data: bytes) -> bool:
    """True when the JSON ``data`` opens no object after its first byte and no array:
    decoded, it is a scalar or an object of scalars. Conservative: a brace or bracket
    inside a string, or whitespace before the root object, makes it False. Two one-byte
    searches (memchr)."""
    return data.find(b"{", 1) < 0 and data.find(b"[") < 0


def _chained(walkers: Sequence[Walker]) -> Walker:
    """One walk that runs ``walkers`` in order (a single pass is its own walk)."""
    if len(walkers) == 1:
        return walkers[0]

    def walk(payload: Any, resource: str | None = None) -> Any:
        for each in walkers:
            payload = each(payload, resource)
        return payload

    return walk


def _make_walker(table: dict[str, Callable[[Any], Any]], discriminator: str,
                 opaque: dict[str, frozenset[str]] | None = None,
                 plans: dict[str, ObjectPlan] | None = None, *, label: str = "",
                 sources: list[str] | None = None) -> Walker:
    """A bottom-up walk that hands every resource in ``table`` to its function, and never
    enters the ``opaque`` properties of a resource (resource name to property names).

    With ``plans`` (:func:`datever.walk_plan.build_plan`), the walk enters only what
    the plans say can hold a resource of ``table``, and falls back to this generic
    walk wherever the payload leaves the plans.

    Containers nested deeper than MAX_DEPTH stop the walk (``room`` counts
    the levels still allowed, MAX_DEPTH at the root): the recursion never
    nears Python's limit, whatever the caller's own stack.
    """
    get = table.get
    hidden = (opaque or {}).get

    def walk_dict(node: dict[str, Any], resource: str | None = None,
                  room: int = MAX_DEPTH) -> Any:
        if not room:
            raise _TooDeep
        room -= 1
        items: Iterable[tuple[str, Any]] = node.items()
        if opaque:  # one test per object when nothing is opaque
            name = node.get(discriminator) if resource is None else resource
            skip = hidden(name) if type(name) is str else None
            if skip is not None:
                items = [(key, value) for key, value in items if key not in skip]
        for key, value in items:
            kind = type(value)
            if kind is dict:
                try:
                    result = walk_dict(value, None, room)
                except MigrationError as exc:
                    exc.path.insert(0, key)
                    raise
                if result is not value:
                    node[key] = result
            elif kind is list:
                try:
                    walk_list(value, room)
                except MigrationError as exc:
                    exc.path.insert(0, key)
                    raise
        if resource is None:
            resource = node.get(discriminator)
            if type(resource) is not str:
                return node
        function = get(resource)
        if function is None:
            return node
        try:
            return function(node)
        except Exception as exc:
            raise located(exc, resource) from exc

    def walk_list(node: list[Any], room: int) -> None:
        if not room:
            raise _TooDeep
        room -= 1
        for index, value in enumerate(node):
            kind = type(value)
            if kind is dict:
                try:
                    result = walk_dict(value, None, room)
                except MigrationError as exc:
                    exc.path.insert(0, index)
                    raise
                if result is not value:
                    node[index] = result
            elif kind is list:
                try:
                    walk_list(value, room)
                except MigrationError as exc:
                    exc.path.insert(0, index)
                    raise

    if plans is not None:
        return _planned(plans, discriminator, walk_dict, walk_list, label,
                        [] if sources is None else sources)

    def walk(node: Any, resource: str | None = None) -> Any:
        kind = type(node)
        try:
            if kind is dict:
                return walk_dict(node, resource)
            _check_root(node, resource)
            if kind is list:
                walk_list(node, MAX_DEPTH)
        except _TooDeep:
            raise too_deep(resource) from None
        return node

    return walk


def _check_root(node: Any, resource: str | None) -> None:
    """Raise when ``resource`` names the root's type and the root is not an object."""
    if resource is not None:
        if deeper_than(node, MAX_DEPTH):
            raise _TooDeep
        raise MigrationError(f"expected an object for resource {resource!r}, "
                             f"got {type(node).__name__}", resource=resource,
                             reason="not_an_object")


def _planned(plans: dict[str, ObjectPlan], discriminator: str,
             walk_dict: Callable[[dict[str, Any], str | None, int], Any],
             walk_list: Callable[[list[Any], int], None], label: str,
             sources: list[str]) -> Walker:
    """The walk that follows ``plans``, generated as code (:func:`walk_source`, whose
    source is appended to ``sources``); ``walk_dict`` and ``walk_list`` are the generic
    walk, for whatever the plans do not describe."""
    source, namespace = walk_source(plans, _ROOT, discriminator)
    sources.append(source)

    def generic(node: dict[str, Any], room: int) -> Any:
        return walk_dict(node, None, room)

    def dead(node: dict[str, Any], room: int, resource: str | None = None) -> Any:
        return node  # never called: the walk tests for it and skips the object

    namespace.update(walk_dict=walk_dict, walk_list=walk_list, generic=generic, dead=dead,
                     located=located, MigrationError=MigrationError, TooDeep=_TooDeep)
    assert set(HELPERS) <= set(namespace)
    filename = f"<datever walk {label} #{next(_walks)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    visit_of = namespace["visit_of"]
    root_list = namespace["root_list"]

    def walk(node: Any, resource: str | None = None) -> Any:
        kind = type(node)
        try:
            if kind is dict:
                if resource is None:  # a response: the root is found by its discriminator
                    tag = node.get(discriminator)
                    visit = visit_of(tag) if type(tag) is str else None
                else:
                    visit = visit_of(resource)
                if visit is None:
                    return walk_dict(node, resource, MAX_DEPTH)
                if visit is dead:
                    return node
                return visit(node, MAX_DEPTH, resource)
            _check_root(node, resource)
            if kind is list:
                root_list(node, MAX_DEPTH)
        except _TooDeep:
            raise too_deep(resource) from None
        return node

    # the source stays readable for tracebacks as long as the walk lives
    weakref.finalize(walk, linecache.cache.pop, filename, None)
    return walk


#: what the root of a response may be: any resource, found by its discriminator, or a list
_ROOT = ValuePlan()
_ROOT.items = _ROOT


def deeper_than(payload: Any, limit: int) -> bool:
    """True when lists and dicts nest more than ``limit`` levels (without recursing)."""
    stack: list[tuple[Any, int]] = [(payload, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            node = list(node.values())
        elif not isinstance(node, list):
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in node)
    return False


class _TooDeep(Exception):
    """Raised inside the walk; not a MigrationError, so no path is collected on the way up."""


def too_deep(resource: str | None) -> MigrationError:
    """The error for a payload nested past MAX_DEPTH.

    It names no path: the decoder may give up before the walk would have
    reached the place, and the error must not depend on which of them did.
    """
    return MigrationError(f"the payload is nested more than {MAX_DEPTH} levels deep",
                          resource=resource, reason="too_deep")


def located(exc: Exception, resource: str) -> MigrationError:
    """A MigrationError (not raised yet) naming the change whose generated line raised ``exc``."""
    change: Change | None = None
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        compiled = COMPILED.get(tb.tb_frame.f_code.co_filename)
        if compiled is not None and tb.tb_lineno in compiled.lines:
            change = compiled.lines[tb.tb_lineno]
        tb = tb.tb_next
    return MigrationError(
        f"{type(exc).__name__}: {exc}", resource=resource,
        change=change.id if change else None, release=change.label if change else None,
    )
