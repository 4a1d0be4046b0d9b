"""The compiler: pending changes in, one generated function per resource out.

The steps of all the changes a pipeline undoes are planned (:mod:`datever.planner`:
a rename chain becomes one rename, a fill then a drop of one property cancels,
value maps compose, renames and drops are merged) and turned into Python source,
the attrs way: bound objects under stable mangled names, the source registered in
``linecache`` under a unique ``<datever ...>`` filename, one ``compile`` per
function.

Fusion assumes *well-formed* payloads: a head-shaped response carries no
property that only older versions have. Only down pipelines are fused that
way; up pipelines (requests, written by clients) run their steps as declared.

Errors: the compiled pipeline runs all of a resource's changes at once, the
reference interpreter one change over the whole payload at a time, so with
several faults in a payload they would meet different ones first. The engine
therefore replays the interpreter when a transform fails and reports its
error: whenever both fail they name the same change, resource, path and
reason. They may still differ in one way, and only on an ill-formed down
payload: fusion can skip a step the interpreter runs (or run one it skips),
so one of them succeeds where the other fails.
"""

from __future__ import annotations

import ast
import copy
import itertools
import linecache
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from datever.changes import Change, Direction
from datever.operations import Call, Collapse, Convert, Drop, Fill, MapValues, Move, Step
from datever.planner import Cancelled, FusedStep, Rebuild, fuse

__all__ = ["CompiledFunction", "compile_resource", "segments"]

_SCALARS = (str, int, float, bool, type(None))
_counter = itertools.count()
#: generated filename -> its function, for error reports; entries go with the function
COMPILED: weakref.WeakValueDictionary[str, CompiledFunction] = weakref.WeakValueDictionary()


@dataclass
class CompiledFunction:
    """One generated function: a resource's steps in one direction."""

    resource: str
    direction: Direction
    filename: str
    source: str
    function: Any
    steps: list[FusedStep]
    cancelled: list[Cancelled] = field(default_factory=list)
    #: line number of the generated source -> the change its code comes from
    lines: dict[int, Change] = field(default_factory=dict)


def segments(changes: Sequence[Change], discriminator: str,
             direction: Direction) -> list[list[Change]]:
    """Split changes (in application order) at barriers, which run in a pass of their own."""
    result: list[list[Change]] = [[]]
    for change in changes:
        if change.is_barrier(discriminator, direction):
            result.extend(([change], []))
        else:
            result[-1].append(change)
    return [segment for segment in result if segment]


# -- code generation -------------------------------------------------------


class _Source:
    """Lines of a function being generated and the objects it binds."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.globals: dict[str, Any] = {}
        #: line number -> the change whose code it is, for error reports
        self.origins: dict[int, Change] = {}

    def bind(self, value: Any, hint: str) -> str:
        name = f"_{hint}{len(self.globals)}"
        self.globals[name] = value
        return name

    def emit(self, line: str, origin: Change | None = None) -> None:
        self.lines.append(line)
        if origin is not None:
            self.origins[len(self.lines)] = origin


def _literal(value: Any) -> bool:
    """True when ``repr(value)`` is Python source that evaluates back to ``value``.

    Only plain scalars qualify, and not all of them: ``inf`` and ``nan`` are
    names, not literals, and a huge int has no repr at all.
    """
    if type(value) not in _SCALARS:
        return False
    try:
        back = ast.literal_eval(repr(value))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return type(back) is type(value) and back == value


def _constant(src: _Source, value: Any) -> str:
    """Source for ``value``: a literal, a bound immutable scalar, or a fresh deep copy.

    Each payload gets its own copy of a mutable default, as the interpreter's
    ``Fill`` gives it (``copy.deepcopy``).
    """
    if _literal(value):
        return repr(value)
    if type(value) in _SCALARS:
        return src.bind(value, "default")
    return f"_deepcopy({src.bind(value, 'default')})"


#: what a generated comment adds to the change ids, by how the planner made the step
_COMMENTS = {"composed": " (value maps composed)",
             "fill_absent": " (absent here: set without a check)"}


def _emit_step(src: _Source, fused: FusedStep) -> None:
    step = fused.step
    origin = fused.origins[0]
    changes = ", ".join(change.id for change in fused.origins)
    src.emit(f"    # {changes}{_COMMENTS.get(fused.how, '')}")
    if type(step) is Move and len(step.src) == 1 and len(step.dst) == 1:
        key, new = repr(step.src[0]), repr(step.dst[0])
        src.emit(f"    if {key} in d:", origin)
        src.emit(f"        d[{new}] = d.pop({key})", origin)
    elif type(step) is Drop:
        src.emit(f"    d.pop({step.key!r}, None)", origin)
    elif type(step) is Fill:
        key = repr(step.key)
        if step.compute is not None:
            value = f"{src.bind(step.compute, 'compute')}(d)"
        else:
            value = _constant(src, step.default)
        if fused.how == "fill_absent":
            src.emit(f"    d[{key}] = {value}", origin)
        else:
            src.emit(f"    if {key} not in d:", origin)
            src.emit(f"        d[{key}] = {value}", origin)
    elif type(step) is MapValues:
        key, typed = repr(step.key), step.typed
        src.emit(f"    if {key} in d:", origin)
        src.emit(f"        _v = d[{key}]", origin)
        # only scalars can be in the table: objects and arrays (unhashable) stay as they are
        if typed is None:
            table = src.bind(dict(step.table), "table")
            src.emit("        if _v.__class__ is str:", origin)
            src.emit(f"            d[{key}] = {table}.get(_v, _v)", origin)
        else:  # non-string keys: True, 1 and 1.0 are different JSON values
            table = src.bind(typed, "table")
            src.emit(f"        if _v.__class__ in {src.bind(_SCALARS, 'scalars')}:", origin)
            src.emit(f"            d[{key}] = {table}.get((_v.__class__, _v), _v)", origin)
    elif type(step) is Convert:
        key, fn = repr(step.key), src.bind(step.fn, "convert")
        src.emit(f"    if {key} in d:", origin)
        src.emit(f"        d[{key}] = {fn}(d[{key}])", origin)
    elif type(step) is Collapse:
        key = repr(step.key)
        src.emit(f"    _v = d.get({key})", origin)
        src.emit("    if type(_v) is dict:", origin)
        src.emit(f"        d[{key}] = _v['id']", origin)
    elif type(step) is Move and len(step.src) <= 2 and len(step.dst) <= 2:
        _emit_nested_move(src, step, origin)
    else:  # custom calls, deep moves, expansions: the step applies itself
        hint = "custom" if type(step) is Call else "step"
        src.emit(f"    d = {src.bind(step.apply, hint)}(d)", origin)


def _emit_nested_move(src: _Source, step: Move, origin: Change) -> None:
    """A move into or out of a nested object, inlined (same semantics as Move.apply)."""
    if len(step.src) == 1:
        key = repr(step.src[0])
        src.emit(f"    if {key} in d:", origin)
        src.emit(f"        _v = d.pop({key})", origin)
    else:
        outer, inner = repr(step.src[0]), repr(step.src[1])
        src.emit(f"    _p = d.get({outer})", origin)
        src.emit("    if _p is not None and type(_p) is not dict:", origin)
        src.emit(f"        _not_object({outer}, _p)", origin)
        src.emit(f"    if _p is not None and {inner} in _p:", origin)
        src.emit(f"        _v = _p.pop({inner})", origin)
        src.emit("        if not _p:", origin)
        src.emit(f"            del d[{outer}]", origin)
    if len(step.dst) == 1:
        src.emit(f"        d[{step.dst[0]!r}] = _v", origin)
        return
    outer, inner = repr(step.dst[0]), repr(step.dst[1])
    src.emit(f"        _t = d.get({outer})", origin)
    src.emit("        if _t is None:", origin)
    src.emit(f"            _t = d[{outer}] = {{}}", origin)
    src.emit("        elif type(_t) is not dict:", origin)
    src.emit(f"            _not_object({outer}, _t)", origin)
    src.emit(f"        _t[{inner}] = _v", origin)


def _unnesting(step: Step) -> str | None:
    """The outer key of a move from ``outer.inner`` to a top-level key other than ``outer``."""
    if type(step) is Move and len(step.src) == 2 and len(step.dst) == 1 \
            and step.dst[0] != step.src[0]:
        return step.src[0]
    return None


def _grouped(fused: Sequence[FusedStep]) -> list[list[FusedStep]]:
    """``fused`` in order, consecutive moves out of one nested object grouped together."""
    groups: list[list[FusedStep]] = []
    for item in fused:
        outer = _unnesting(item.step)
        if outer is not None and groups and _unnesting(groups[-1][0].step) == outer:
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


def _emit_unnest(src: _Source, group: Sequence[FusedStep]) -> None:
    """Moves out of one nested object: one lookup and one type check for all of them.

    The same result as the moves one by one: each pops its key if present and the
    emptied object goes; an object that was empty to begin with stays.
    """
    first = group[0].origins[0]
    steps = [item.step for item in group if isinstance(item.step, Move)]
    assert len(steps) == len(group)
    outer = repr(steps[0].src[0])
    ids = dict.fromkeys(change.id for item in group for change in item.origins)
    src.emit(f"    # {', '.join(ids)} "
             f"({len(group)} moves out of {outer})")
    src.emit(f"    _p = d.get({outer})", first)
    src.emit("    if _p is not None:", first)
    src.emit("        if type(_p) is not dict:", first)
    src.emit(f"            _not_object({outer}, _p)", first)
    src.emit("        if _p:", first)
    for item, step in zip(group, steps, strict=True):
        origin = item.origins[0]
        inner, new = repr(step.src[1]), repr(step.dst[0])
        src.emit(f"            if {inner} in _p:", origin)
        src.emit(f"                d[{new}] = _p.pop({inner})", origin)
    src.emit("            if not _p:", group[-1].origins[0])
    src.emit(f"                del d[{outer}]", group[-1].origins[0])


def _not_object(key: str, value: Any) -> None:
    raise TypeError(f"expected an object at {key!r}, found {type(value).__name__}")


def _emit_rebuild(src: _Source, fused: FusedStep) -> None:
    step = fused.step
    assert isinstance(step, Rebuild)
    changes = ", ".join(change.id for change in fused.origins) or "renames"
    origin = fused.origins[0] if fused.origins else None
    if step.form == "rebuild":
        src.emit(f"    # {changes} ({_plural(len(step.renames), 'rename')} and "
                 f"{_plural(len(step.drops), 'drop')} in one dict rebuild)")
        touched = src.bind(frozenset(step.renames) | step.drops, "keys")
        names, gone = src.bind(step.renames, "names"), src.bind(step.drops, "drops")
        src.emit(f"    if not {touched}.isdisjoint(d):", origin)
        src.emit(f"        d = {{{names}.get(k, k): v for k, v in d.items() if k not in {gone}}}",
                 origin)
        return
    # a few independent renames: plain statements beat rebuilding the dict, and drops
    # are a pop each, or one filter when there are many (most are absent)
    src.emit(f"    # {changes}{' (fused)' if len(fused.origins) > 1 else ''}")
    if step.form == "statements":
        for key in sorted(step.drops):
            src.emit(f"    d.pop({key!r}, None)", origin)
    else:
        gone = src.bind(step.drops, "drops")
        src.emit(f"    if not {gone}.isdisjoint(d):", origin)
        src.emit(f"        d = {{k: v for k, v in d.items() if k not in {gone}}}", origin)
    for old, new in step.renames.items():
        src.emit(f"    if {old!r} in d:", origin)
        src.emit(f"        d[{new!r}] = d.pop({old!r})", origin)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"


def compile_resource(resource: str, direction: Direction,
                     steps: Sequence[tuple[Step, Change]], *, label: str) -> CompiledFunction:
    """Fuse and compile one resource's steps into a function ``f(obj) -> obj``.

    Down steps are planned (responses are rendered by the service, at the
    head shape); up steps run as declared, since clients send what they like.
    """
    fused, cancelled = fuse(steps, planned=direction == "down")
    src = _Source()
    src.globals["_deepcopy"] = copy.deepcopy
    src.globals["_not_object"] = _not_object
    # ASCII only: str.isalnum() admits characters (superscripts) that no identifier may hold
    name = f"{direction}_{''.join(c if c.isascii() and c.isalnum() else '_' for c in resource)}"
    src.emit(f"def {name}(d):")
    for group in _grouped(fused):
        if len(group) > 1:
            _emit_unnest(src, group)
        elif type(group[0].step) is Rebuild:
            _emit_rebuild(src, group[0])
        else:
            _emit_step(src, group[0])
    src.emit("    return d")
    source = "\n".join(src.lines) + "\n"
    filename = f"<datever {label} {direction} {resource} #{next(_counter)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = dict(src.globals)
    exec(compile(source, filename, "exec"), namespace)
    compiled = CompiledFunction(resource, direction, filename, source, namespace[name], fused,
                                cancelled, src.origins)
    COMPILED[filename] = compiled
    # the source stays readable for tracebacks as long as the function lives
    weakref.finalize(compiled, linecache.cache.pop, filename, None)
    return compiled
