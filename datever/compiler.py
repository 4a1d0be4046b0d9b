"""The compiler: pending changes in, one generated function per resource out.

Steps of all the changes a pipeline undoes are fused (a rename chain becomes
one rename, a fill then a drop of one property cancels, value maps compose,
runs of renames and drops become one dict rebuild) and turned into Python
source, the attrs way: bound objects under stable mangled names, the source
registered in ``linecache`` under a unique ``<datever ...>`` filename, one
``compile`` per function.

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
from datever.operations import (
    Call,
    Collapse,
    Convert,
    Drop,
    Fill,
    MapValues,
    Move,
    Step,
)

__all__ = [
    "CompiledFunction", "FusedStep", "Rebuild", "compile_resource", "fuse", "plan", "segments",
]

_SCALARS = (str, int, float, bool, type(None))
_counter = itertools.count()
#: generated filename -> its function, for error reports; entries go with the function
COMPILED: weakref.WeakValueDictionary[str, CompiledFunction] = weakref.WeakValueDictionary()


@dataclass
class FusedStep:
    """A step and the changes it stands for (several when fused)."""

    step: Step
    origins: list[Change]
    #: a human note on what the compiler did, e.g. "fused 3 renames"
    note: str = ""


@dataclass
class CompiledFunction:
    """One generated function: a resource's steps in one direction."""

    resource: str
    direction: Direction
    filename: str
    source: str
    function: Any
    steps: list[FusedStep]
    cancelled: list[FusedStep] = field(default_factory=list)
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


# -- fusion ----------------------------------------------------------------
#
# Between opaque steps (custom calls, computed fills, nested moves), the
# compiler runs the steps symbolically: for every property name it keeps an
# expression of where its final value comes from. A rename chain collapses
# to one entry, a fill that a later drop discards disappears, value maps
# stack up. The result is one dict rebuild for all renames and drops, then a
# short block per property that still needs a value transform or a default.

_GONE: tuple[Any, ...] = ("gone",)
# Up to _RENAMES independent renames run as statements rather than one dict rebuild
# (measured on the synthetic benchmark: objects of 20-40 properties), and up to
# _POPS drops as pops rather than one filtering comprehension.
_RENAMES = 16
_POPS = 12


@dataclass(frozen=True)
class Rebuild(Step):
    """Rename and drop many top-level properties at once, keeping their order."""

    renames: dict[str, str]
    drops: frozenset[str]

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        return {self.renames.get(k, k): v for k, v in obj.items() if k not in self.drops}

    def keys(self) -> frozenset[str]:
        return frozenset(self.renames) | frozenset(self.renames.values()) | self.drops


def _simple(step: Step) -> bool:
    if type(step) is Move:
        return len(step.src) == 1 and len(step.dst) == 1
    if type(step) is Fill:
        return step.compute is None
    return type(step) in (Drop, MapValues, Convert, Collapse)


def _base(expr: tuple[Any, ...]) -> str | None:
    while expr[0] in ("fill", "map"):
        expr = expr[1]
    return expr[1] if expr[0] == "in" else None


def _origins(expr: tuple[Any, ...]) -> list[Change]:
    found: list[Change] = []
    while expr[0] != "gone":
        found[:0] = expr[-1]
        if expr[0] not in ("fill", "map"):
            break
        expr = expr[1]
    return found


def plan(steps: Sequence[tuple[Step, Change]]) -> tuple[list[FusedStep], list[FusedStep]]:
    """Fuse a run of simple steps; returns (steps to run, steps cancelled)."""
    state: dict[str, tuple[Any, ...]] = {}
    cancelled: list[FusedStep] = []
    moves: dict[str, list[Change]] = {}

    def origin(name: str) -> tuple[Any, ...]:
        return state.get(name) or ("in", name, [])

    consumed: set[str] = set()  # input properties moved or dropped from where they were
    for step, change in steps:
        if type(step) is Move:
            src, dst = step.src[0], step.dst[0]
            expr = origin(src)
            if expr is _GONE:
                continue  # moving an absent property does nothing
            base = _base(expr)
            if base is not None:
                consumed.add(base)
            if expr[0] == "in":
                expr = ("in", expr[1], [*expr[2], change])
            state[dst], state[src] = expr, _GONE
        elif type(step) is Drop:
            expr = origin(step.key)
            if expr is not _GONE:
                base = _base(expr)
                if base is not None:
                    consumed.add(base)
                    moves.setdefault(base, []).extend([*_origins(expr), change])
                if expr[0] != "in":
                    cancelled.append(FusedStep(step, [*_origins(expr), change], "cancelled"))
            state[step.key] = _GONE
        elif type(step) is Fill:
            expr = origin(step.key)
            state[step.key] = (("const", step, [change]) if expr is _GONE
                               else ("fill", expr, step, [change]))
        else:
            (key,) = step.keys()
            expr = origin(key)
            if expr is not _GONE:
                state[key] = ("map", expr, step, [change])

    renames: dict[str, str] = {}
    kept: set[str] = set()
    for name, expr in state.items():
        base = _base(expr)
        if base is not None:
            kept.add(base)
            if base != name:
                renames[base] = name
                moves.setdefault(base, []).extend(expr[2] if expr[0] == "in" else [])
    drops = frozenset(consumed - kept)
    out: list[FusedStep] = []
    if renames or drops:
        changes = list(dict.fromkeys(c for base in sorted(renames.keys() | drops)
                                     for c in moves.get(base, [])))
        note = (f"{len(renames)} rename{'s' * (len(renames) != 1)} and {len(drops)} "
                f"drop{'s' * (len(drops) != 1)} in one rebuild")
        out.append(FusedStep(Rebuild(renames, drops), changes, note))
    for name, expr in state.items():
        out.extend(_value_steps(name, expr))
    return out, cancelled


def _value_steps(name: str, expr: tuple[Any, ...]) -> list[FusedStep]:
    """The steps that give ``name`` its value once the rebuild has renamed it."""
    if expr[0] in ("in", "gone"):
        return []
    if expr[0] == "const":
        fill = expr[1]
        return [FusedStep(Fill(name, fill.default), expr[2], "default")]
    inner = _value_steps(name, expr[1])
    step = expr[2]
    if expr[0] == "fill":
        return [*inner, FusedStep(Fill(name, step.default), expr[3])]
    renamed: Step
    if type(step) is MapValues:
        renamed = MapValues(name, step.table)
        if inner and type(inner[-1].step) is MapValues:
            table = dict(step.table)
            previous = inner.pop()
            first = previous.step
            assert isinstance(first, MapValues)
            second = MapValues(name, step.table)
            table.update({old: second.apply({name: new})[name]
                          for old, new in first.table.items()})
            return [*inner, FusedStep(MapValues(name, table), [*previous.origins, *expr[3]],
                                      "fused")]
    elif type(step) is Convert:
        renamed = Convert(name, step.fn)
    else:
        renamed = Collapse(name)
    return [*inner, FusedStep(renamed, expr[3])]


def fuse(steps: Sequence[tuple[Step, Change]], *, planned: bool = True,
         ) -> tuple[list[FusedStep], list[FusedStep]]:
    """Fuse a resource's steps: simple runs are planned, opaque steps kept in place.

    With ``planned=False`` every step is kept as it is: exact on any input,
    which is what request bodies (written by clients) need.
    """
    if not planned:
        return [FusedStep(step, [change]) for step, change in steps], []
    out: list[FusedStep] = []
    cancelled: list[FusedStep] = []
    run: list[tuple[Step, Change]] = []
    run_keys: set[str] = set()

    def flush() -> None:
        planned, dropped = plan(run)
        out.extend(planned)
        cancelled.extend(dropped)
        run.clear()
        run_keys.clear()

    for step, change in steps:
        if _simple(step):
            run.append((step, change))
            run_keys.update(step.keys())
            continue
        keys = step.keys()
        if run and (step.barrier or not keys or keys & run_keys):
            flush()
        # otherwise it commutes with the whole pending run: it runs first, planning goes on
        out.append(FusedStep(step, [change]))
    if run:
        flush()
    return out, cancelled


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


def _emit_step(src: _Source, fused: FusedStep) -> None:
    step = fused.step
    origin = fused.origins[0]
    changes = ", ".join(change.id for change in fused.origins)
    src.emit(f"    # {changes}{' (' + fused.note + ')' if fused.note else ''}")
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
        if fused.note == "default":
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


def _not_object(key: str, value: Any) -> None:
    raise TypeError(f"expected an object at {key!r}, found {type(value).__name__}")


def _emit_rebuild(src: _Source, fused: FusedStep) -> None:
    step = fused.step
    assert isinstance(step, Rebuild)
    changes = ", ".join(change.id for change in fused.origins) or "renames"
    origin = fused.origins[0] if fused.origins else None
    chained = set(step.renames) & (set(step.renames.values()) | step.drops)
    if len(step.renames) <= _RENAMES and not chained:
        # a few independent renames: plain statements beat rebuilding the dict, and
        # drops are a pop each, or one filter when there are many (most are absent)
        src.emit(f"    # {changes}{' (fused)' if len(fused.origins) > 1 else ''}")
        if len(step.drops) <= _POPS:
            for key in sorted(step.drops):
                src.emit(f"    d.pop({key!r}, None)", origin)
        else:
            gone = src.bind(step.drops, "drops")
            src.emit(f"    if not {gone}.isdisjoint(d):", origin)
            src.emit(f"        d = {{k: v for k, v in d.items() if k not in {gone}}}", origin)
        for old, new in step.renames.items():
            src.emit(f"    if {old!r} in d:", origin)
            src.emit(f"        d[{new!r}] = d.pop({old!r})", origin)
        return
    src.emit(f"    # {changes} ({fused.note})")
    touched = src.bind(frozenset(step.renames) | step.drops, "keys")
    names, gone = src.bind(step.renames, "names"), src.bind(step.drops, "drops")
    src.emit(f"    if not {touched}.isdisjoint(d):", origin)
    src.emit(f"        d = {{{names}.get(k, k): v for k, v in d.items() if k not in {gone}}}",
             origin)


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
    for item in fused:
        if type(item.step) is Rebuild:
            _emit_rebuild(src, item)
        else:
            _emit_step(src, item)
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
