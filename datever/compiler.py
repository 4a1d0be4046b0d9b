"""The compiler: pending changes in, one generated function per resource out.

Steps of all the changes a pipeline undoes are fused (a rename chain becomes
one rename, a fill then a drop of one property cancels, value maps compose,
runs of renames and drops become one dict rebuild) and turned into Python
source, the attrs way: bound objects under stable mangled names, the source
registered in ``linecache`` under a unique ``<datever ...>`` filename, one
``compile`` per function.

Fusion assumes *well-formed* payloads: a head-shaped payload carries no
property that only older versions have, and vice versa.
"""

from __future__ import annotations

import itertools
import linecache
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

__all__ = ["CompiledFunction", "FusedStep", "compile_resource", "fuse", "segments"]

_SCALARS = (str, int, float, bool, type(None))
_RUN = 3  # renames and drops in a row worth one dict rebuild
_counter = itertools.count()
#: generated filename -> {line number: (change, resource)}, for error reports
LINE_ORIGINS: dict[str, dict[int, tuple[Change, str]]] = {}


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


def segments(changes: Sequence[Change], discriminator: str) -> list[list[Change]]:
    """Split changes (in application order) at barriers, which run in a pass of their own."""
    result: list[list[Change]] = [[]]
    for change in changes:
        if change.is_barrier(discriminator):
            result.extend(([change], []))
        else:
            result[-1].append(change)
    return [segment for segment in result if segment]


# -- fusion ----------------------------------------------------------------


def _single(step: Step) -> bool:
    return type(step) is Move and len(step.src) == 1 and len(step.dst) == 1


def _opaque(step: Step) -> bool:
    return not step.keys() or step.barrier


def _merge(first: Step, second: Step) -> list[Step] | None:
    """Merge two steps on a shared property: None if they do not merge."""
    if isinstance(first, Move) and _single(first):
        if _single(second) and isinstance(second, Move) and second.src == first.dst:
            return [] if first.src == second.dst else [Move(first.src, second.dst)]
        if type(second) is Drop and second.key == first.dst[0]:
            return [Drop(first.src[0])]
    if type(first) is Fill and first.compute is None:
        if type(second) is Drop and second.key == first.key:
            return []
        if _single(second) and isinstance(second, Move) and second.src[0] == first.key:
            return [Fill(second.dst[0], first.default)]
    if (type(first) is MapValues and type(second) is MapValues
            and first.key == second.key):
        table = dict(second.table)
        table.update({old: second.table.get(new, new) for old, new in first.table.items()})
        return [MapValues(first.key, table)]
    return None


def fuse(steps: Sequence[tuple[Step, Change]]) -> tuple[list[FusedStep], list[FusedStep]]:
    """Fuse a resource's steps; returns (kept steps, cancelled steps)."""
    out: list[FusedStep] = []
    cancelled: list[FusedStep] = []
    for step, change in steps:
        item = FusedStep(step, [change])
        if _opaque(step):
            out.append(item)
            continue
        keys = step.keys()
        for index in range(len(out) - 1, -1, -1):
            earlier = out[index]
            if _opaque(earlier.step):
                out.append(item)
                break
            if not keys & earlier.step.keys():
                continue  # disjoint steps commute: look further back
            merged = _merge(earlier.step, step)
            if merged is None:
                out.append(item)
            elif not merged:
                del out[index]
                cancelled.append(FusedStep(earlier.step, [*earlier.origins, change],
                                           "cancelled"))
            else:
                out[index] = FusedStep(merged[0], [*earlier.origins, change], "fused")
            break
        else:
            out.append(item)
    return out, cancelled


# -- code generation -------------------------------------------------------


class _Source:
    """Lines of a function being generated and the objects it binds."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.globals: dict[str, Any] = {}
        self.origins: dict[int, tuple[Change, str]] = {}

    def bind(self, value: Any, hint: str) -> str:
        name = f"_{hint}{len(self.globals)}"
        self.globals[name] = value
        return name

    def emit(self, line: str, origin: tuple[Change, str] | None = None) -> None:
        self.lines.append(line)
        if origin is not None:
            self.origins[len(self.lines)] = origin


def _literal(value: Any) -> bool:
    return type(value) in _SCALARS


def _emit_step(src: _Source, fused: FusedStep, resource: str) -> None:
    step = fused.step
    origin = (fused.origins[0], resource)
    changes = ", ".join(change.id for change in fused.origins)
    src.emit(f"    # {changes}{' (' + fused.note + ')' if fused.note else ''}")
    if isinstance(step, Move) and _single(step):
        key, new = repr(step.src[0]), repr(step.dst[0])
        src.emit(f"    if {key} in d:", origin)
        src.emit(f"        d[{new}] = d.pop({key})", origin)
    elif type(step) is Drop:
        src.emit(f"    d.pop({step.key!r}, None)", origin)
    elif type(step) is Fill:
        key = repr(step.key)
        if step.compute is not None:
            value = f"{src.bind(step.compute, 'compute')}(d)"
        elif _literal(step.default):
            value = repr(step.default)
        else:
            value = f"_deepcopy({src.bind(step.default, 'default')})"
        src.emit(f"    if {key} not in d:", origin)
        src.emit(f"        d[{key}] = {value}", origin)
    elif type(step) is MapValues:
        key, table = repr(step.key), src.bind(dict(step.table), "table")
        src.emit(f"    if {key} in d:", origin)
        src.emit(f"        _v = d[{key}]", origin)
        src.emit(f"        d[{key}] = {table}.get(_v, _v)", origin)
    elif type(step) is Convert:
        key, fn = repr(step.key), src.bind(step.fn, "convert")
        src.emit(f"    if {key} in d:", origin)
        src.emit(f"        d[{key}] = {fn}(d[{key}])", origin)
    elif type(step) is Collapse:
        key = repr(step.key)
        src.emit(f"    _v = d.get({key})", origin)
        src.emit("    if type(_v) is dict:", origin)
        src.emit(f"        d[{key}] = _v['id']", origin)
    else:  # custom calls, nested moves, expansions: the step applies itself
        hint = "custom" if type(step) is Call else "step"
        src.emit(f"    d = {src.bind(step.apply, hint)}(d)", origin)


def _rename_run(steps: list[FusedStep], start: int) -> int:
    """How many steps from ``start`` form a run one dict rebuild can do at once."""
    written: set[str] = set()
    end = start
    while end < len(steps):
        step = steps[end].step
        if _single(step) and isinstance(step, Move):
            read, write = step.src[0], step.dst[0]
        elif type(step) is Drop:
            read, write = step.key, ""
        else:
            break
        if read in written or (write and write in written):
            break
        written.add(write or read)
        end += 1
    return end - start


def _emit_rebuild(src: _Source, run: list[FusedStep], resource: str) -> None:
    renames = {s.step.src[0]: s.step.dst[0] for s in run if isinstance(s.step, Move)}
    drops = frozenset(s.step.key for s in run if type(s.step) is Drop)
    touched = src.bind(frozenset(renames) | drops, "keys")
    changes = ", ".join(dict.fromkeys(c.id for s in run for c in s.origins))
    src.emit(f"    # {changes} ({len(renames)} renames, {len(drops)} drops in one rebuild)")
    origin = (run[0].origins[0], resource)
    src.emit(f"    if not {touched}.isdisjoint(d):", origin)
    names = src.bind(renames, "names")
    gone = src.bind(drops, "drops")
    src.emit(f"        d = {{{names}.get(k, k): v for k, v in d.items() if k not in {gone}}}",
             origin)


def compile_resource(resource: str, direction: Direction,
                     steps: Sequence[tuple[Step, Change]], *, label: str) -> CompiledFunction:
    """Fuse and compile one resource's steps into a function ``f(obj) -> obj``."""
    fused, cancelled = fuse(steps)
    src = _Source()
    src.globals["_deepcopy"] = __import__("copy").deepcopy
    name = f"{direction}_{''.join(c if c.isalnum() else '_' for c in resource)}"
    src.emit(f"def {name}(d):")
    index = 0
    while index < len(fused):
        run = _rename_run(fused, index)
        if run >= _RUN:
            _emit_rebuild(src, fused[index:index + run], resource)
            index += run
        else:
            _emit_step(src, fused[index], resource)
            index += 1
    src.emit("    return d")
    source = "\n".join(src.lines) + "\n"
    filename = f"<datever {label} {direction} {resource} #{next(_counter)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = dict(src.globals)
    exec(compile(source, filename, "exec"), namespace)
    LINE_ORIGINS[filename] = src.origins
    return CompiledFunction(resource, direction, filename, source, namespace[name],
                            fused, cancelled)
